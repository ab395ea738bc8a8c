"""The province's (and the nation's) assessment report (``reports.province``, ``sgs report --province``) from a
tiny store: six cities' department scores written as the cities' ``scores`` partitions for 2026Q2 and 2026Q3,
rolled up by the real ``metrics.rollup`` (no crawl: the roll-up is all the report reads). The document is
opened back with python-docx and its tables compared with the roll-up, and LibreOffice renders it to PDF with
no number or short word broken across lines (tests/test_report_pdf.py's check)."""
from __future__ import annotations

import shutil
from pathlib import Path

import docx as python_docx
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from core.periods import parse_period
from core.vocab import INDICATORS
from metrics.rollup import _write, filesystem, partition, read_rollup, rollup
from metrics.scheme import load_scheme, scheme_path
from s3_bucket import ON_CI, s3_bucket
from sgs.cli import app
from tests.test_report_pdf import assert_no_cell_breaks, soffice  # noqa: F401 (soffice: the fixture)

PERIOD, BEFORE = "2026Q3", "2026Q2"
CITIES = {"东州市": "省甲", "西平市": "省甲", "南川市": "省甲", "北岭市": "省乙", "中和市": "省乙", "临江市": "省乙"}
COUNTIES = ("城东区", "城西区", "市本级")


def _scores(city: str, period: str, seed: int, province: str | None) -> pa.Table:
    """Three counties' two departments each, totals spread by the city's seed and the period."""
    version = load_scheme(scheme_path(parse_period(period))).version
    rows = []
    for k, county in enumerate(COUNTIES):
        for d in range(2):
            base = 55 + 6.37 * seed + 3.11 * k + 1.7 * d + (2.5 if period == PERIOD else 0)
            subs = {i: round(min(100.0, base + 4 * j), 2) for j, i in enumerate(INDICATORS)}
            rows.append({"period": period, "dept_id": f"{county}-{d}", "county": county, "n_records": 10 + d,
                         **subs, "total": round(min(100.0, base), 2), "standing": "ranked", "scheme_version": version})
    table = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
    return table.append_column("province", pa.array([province] * len(rows), pa.string())) if province else table


def _store(root: Path | str, nation: bool) -> Path | str:
    fs, base = filesystem(root)
    for seed, (city, province) in enumerate(CITIES.items()):
        for period in (BEFORE, PERIOD):
            _write(fs, partition(base, city, "scores", period), _scores(city, period, (seed * 5) % 7, province if nation else None))
    for period in (BEFORE, PERIOD):
        rollup(root, parse_period(period))
    return root


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("province-report")
    return {"province": _store(root / "province", False), "nation": _store(root / "nation", True)}


def _report(store: Path, out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(app, ["report", "--province", str(store), "--period", PERIOD, "--out", str(out),
                                      "--date", "2026-10-15", *extra])
    assert result.exit_code == 0, result.output
    return out


def _table(doc, first: str) -> pd.DataFrame:
    found = [t for t in doc.tables if t.rows[0].cells[0].text == "排名" and t.rows[0].cells[1].text == first]
    t = found[0]
    cells = [[c.text for c in row.cells] for row in t.rows]
    return pd.DataFrame(cells[1:], columns=cells[0])


def _num(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.2f}"


def test_ranking_tables_equal_the_rollup(stores, tmp_path) -> None:
    out = _report(stores["province"], tmp_path / "全省.docx")
    doc = python_docx.Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"全省双公示工作评估报告（{PERIOD}）" in text and "6个城市" in text and "较上期+" in text
    roll = read_rollup(stores["province"], PERIOD)
    cities = _table(doc, "城市")
    assert len(cities) == len(roll.cities) == len(CITIES)
    assert cities["城市"].tolist() == roll.cities["city"].tolist()
    assert cities["排名"].tolist() == [str(r) for r in roll.cities["rank"]]
    assert cities["总分"].tolist() == [_num(t) for t in roll.cities["total"]]
    assert cities["等级"].tolist() == roll.cities["grade"].tolist()
    for code, label in INDICATORS.items():
        assert cities[label].tolist() == [_num(v) for v in roll.cities[code]]
    assert cities["较上期"].tolist() == [f"{t - p:+.2f}" for t, p in zip(roll.cities["total"], roll.cities["prev_total"])]
    weakest = [t for t in doc.tables if t.rows[0].cells[1].text == "城市"][1]
    assert [r.cells[1].text for r in weakest.rows[1:]] == roll.cities["city"].tolist()[::-1][:5]
    counties = _table(doc, "县区")
    assert len(counties) == len(roll.counties) == len(CITIES) * len(COUNTIES)
    assert list(zip(counties["县区"], counties["城市"], counties["排名"], counties["市内排名"])) == [
        (r.county, r.city, str(r.rank), str(r.city_rank)) for r in roll.counties.itertuples()]
    assert "说明" in text and "平均值" in text and "city" not in text.lower()


def test_a_nations_report_ranks_within_provinces(stores, tmp_path) -> None:
    out = _report(stores["nation"], tmp_path / "out")  # a folder: the report is named by its title inside it
    path = out / f"全国双公示工作评估报告（{PERIOD}）.docx"
    doc = python_docx.Document(str(path))
    roll = read_rollup(stores["nation"], PERIOD)
    cities = _table(doc, "省内排名")
    assert cities["城市"].tolist() == roll.cities["city"].tolist()
    assert cities["省份"].tolist() == [CITIES[c] for c in roll.cities["city"]]
    assert cities["省内排名"].tolist() == [str(r) for r in roll.cities["province_rank"]]
    assert "2个省份的6个城市" in "\n".join(p.text for p in doc.paragraphs)
    assert doc.sections[0].page_width > doc.sections[0].page_height  # the wide tables: landscape pages


@pytest.mark.parametrize("which", ["province", "nation"])
def test_pdf_keeps_every_number_and_short_word_whole(stores, soffice, tmp_path, which) -> None:  # noqa: F811
    if not shutil.which("pdftotext"):  # .ci/run installs poppler-utils: on CI its absence is a failure
        pytest.fail("pdftotext 未安装：.ci/run 应已安装 poppler-utils。") if ON_CI else pytest.skip("pdftotext 未安装")
    out = _report(stores[which], tmp_path / f"{which}.docx")
    pages = assert_no_cell_breaks(soffice, out, tmp_path)
    assert 2 <= pages <= 6, pages


def test_cli_pdf_and_errors(stores, tmp_path, soffice) -> None:  # noqa: F811
    out = _report(stores["province"], tmp_path / "r.docx", "--pdf")
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    runner = CliRunner()
    missing = runner.invoke(app, ["report", "--province", str(stores["province"]), "--period", "2025Q4"])
    assert missing.exit_code != 0 and "没有 2025Q4 的汇总排名" in missing.output and "2026Q3" in missing.output
    assert missing.exit_code == runner.invoke(app, ["report", "--province", str(tmp_path / "nowhere"),
                                                    "--period", PERIOD]).exit_code
    nowhere = runner.invoke(app, ["report", "--province", str(tmp_path / "nowhere"), "--period", PERIOD])
    assert "不存在" in nowhere.output and "Traceback" not in nowhere.output
    down = runner.invoke(app, ["report", "--province", "s3://nobucket/x?endpoint_override=127.0.0.1:9&scheme=http",
                               "--period", PERIOD])  # nothing listens on port 9
    assert down.exit_code == 1 and "无法读取全省数据存储 s3://nobucket/x：" in down.output, down.output
    both = runner.invoke(app, ["report", "--province", str(stores["province"]), "--period", PERIOD, "--version", "1"])
    assert both.exit_code == 2 and "--version" in both.output
    city = runner.invoke(app, ["report", "--period", PERIOD])
    assert city.exit_code == 2 and "--out" in city.output


def test_report_from_a_store_on_s3(stores, tmp_path) -> None:
    """The same store on an S3 server (moto's, 127.0.0.1, as tests/test_cluster.py serves it) gives the same
    report: the s3:// store is read by the same readers."""
    with s3_bucket("province-report") as url:
        _store(url, False)
        result = CliRunner().invoke(app, ["report", "--province", url, "--period", PERIOD, "--out",
                                          str(tmp_path / "s3.docx"), "--date", "2026-10-15"])
        assert result.exit_code == 0, result.output
    local = _report(stores["province"], tmp_path / "local.docx")
    def cells(path: Path) -> list[list[list[str]]]:
        return [[[c.text for c in row.cells] for row in t.rows] for t in python_docx.Document(str(path)).tables]

    s3, here = cells(tmp_path / "s3.docx"), cells(local)
    assert s3 == here and len(s3) == 3 and len(s3[0]) == len(CITIES) + 1
