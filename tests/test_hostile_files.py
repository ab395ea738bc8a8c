"""Hostile files cost that file, never the caller: the readers' limits (core/bounded.py), the parsing
worker, and the commands and crawl that read them.

Every hostile file is generated here, cheaply: a bomb's compressed stream is one deflate chunk, flushed so
that it can be repeated byte for byte (``_repeated_deflate``), written into a zip by hand, so a 2–3 MB file
that expands to 1–2 GiB costs the test a fraction of a second. Memory is measured in child processes
(``ru_maxrss`` of the command or crawl run there), with generous bounds.
"""
from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from datetime import date, datetime
from pathlib import Path

import pytest

from core import attachments, bounded
from democity.hostile import one_cell_xlsx, sheet_xml, workbook_parts
from core.settings import REPO_ROOT
from test_crawl_http import site  # noqa: F401  (the fixture site on 127.0.0.1, used by name)

MiB = 1 << 20
MEMORY_BOUND_MB = 600  # peak RSS of a command or crawl reading the hostile files (measured 100–250 MB;
#                        unbounded readers: 0.9–6 GB, or an abort asking for hundreds of GiB)


# --- generators ----------------------------------------------------------------------------------

def _repeated_deflate(head: bytes, unit: bytes, size: int) -> tuple[bytes, int]:
    """Raw deflate of ``head`` then ``unit`` repeated to about ``size`` bytes, and the exact uncompressed size,
    without compressing it all: a chunk of ``unit`` repeated to 16 MiB is compressed once and closed with a
    full flush (byte-aligned, dictionary reset), so the same bytes decompress to the same text wherever they
    stand."""
    per_chunk = max(1, 16 * MiB // len(unit))
    chunks = max(1, (size - len(head)) // (per_chunk * len(unit)))
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = first.compress(head) + first.flush(zlib.Z_FULL_FLUSH)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = co.compress(unit * per_chunk) + co.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    return start + chunk * chunks + end, len(head) + chunks * per_chunk * len(unit)


def _zip(members: dict[str, bytes | tuple[bytes, int]]) -> bytes:
    """A zip written by hand: a member is plain bytes (deflated here) or ``(raw_deflate, uncompressed_size)``
    (its CRC left 0: the readers refuse a bomb long before a CRC is checked)."""
    out, central = io.BytesIO(), []
    for name, data in members.items():
        if isinstance(data, tuple):
            raw, size, crc = data[0], data[1], 0
        else:
            co = zlib.compressobj(6, zlib.DEFLATED, -15)
            raw, size, crc = co.compress(data) + co.flush(), len(data), zlib.crc32(data)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, 0, 0x21, crc, len(raw), size, len(encoded), 0))
        out.write(encoded + raw)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, 8, 0, 0x21, crc, len(raw), size,
                                   len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def _workbook(sheets: dict[str, str], extra: dict[str, bytes | tuple[bytes, int]] | None = None) -> bytes:
    """A workbook of ``sheets`` (name → sheet XML) plus ``extra`` members."""
    paths = {name: f"xl/worksheets/sheet{i}.xml" for i, name in enumerate(sheets, 1)}
    members: dict[str, bytes | tuple[bytes, int]] = {k: v.encode() for k, v in workbook_parts(paths).items()}
    members.update({paths[name]: xml.encode() for name, xml in sheets.items()})
    members.update(extra or {})
    return _zip(members)


GIB = 1 << 30
_SHEET_HEAD = sheet_xml("").split("<sheetData>")[0].encode() + b"<sheetData>"


def shared_strings_bomb(size: int = 2 * GIB) -> bytes:
    """A workbook whose shared strings expand to ``size`` bytes (about 2 MB on disk for 2 GiB)."""
    head = b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    strings = _repeated_deflate(head, b"<si><t>" + b"A" * 30_000 + b"</t></si>", size)
    return _workbook({"Sheet1": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')},
                     {"xl/sharedStrings.xml": strings})


def rows_bomb(size: int = GIB) -> bytes:
    """A workbook whose one sheet holds rows without references, expanding to ``size`` bytes."""
    paths = {"Sheet1": "xl/worksheets/sheet1.xml"}
    members: dict[str, bytes | tuple[bytes, int]] = {k: v.encode() for k, v in workbook_parts(paths).items()}
    members["xl/worksheets/sheet1.xml"] = _repeated_deflate(_SHEET_HEAD, b"<row><c><v>1</v></c><c><v>2</v></c></row>",
                                                            size)
    return _zip(members)


def docx_bomb(size: int = GIB) -> bytes:
    """A document whose body expands to ``size`` bytes of table rows."""
    head = (b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body><w:tbl>')
    body = _repeated_deflate(head, b"<w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr>", size)
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": body})


HOSTILE = {  # name → (bytes, what the refusal says)
    "far_cell.xlsx": (lambda: one_cell_xlsx("XFD1048576"), "数据区域"),
    "strings_bomb.xlsx": (shared_strings_bomb, "压缩炸弹"),
    "rows_bomb.xlsx": (rows_bomb, "压缩炸弹"),
}


# --- the readers ---------------------------------------------------------------------------------

def test_the_generators_make_what_they_claim():
    """The bombs are small on disk and really expand (checked on their first megabytes), the far cell is
    5.5 KB."""
    far = one_cell_xlsx()
    assert 5_000 < len(far) < 6_500
    for make in (shared_strings_bomb, rows_bomb, docx_bomb):
        body = make()
        assert len(body) < 4 * MiB
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            big = max(z.infolist(), key=lambda m: m.file_size)
            assert big.file_size > 1000 * MiB
            with z.open(big) as f:
                assert len(f.read(4 * MiB)) == 4 * MiB


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_workbooks_are_refused_with_the_limit(name):
    make, says = HOSTILE[name]
    with pytest.raises(ValueError, match=says) as err:
        attachments.tables(make(), "xlsx")
    assert "上限" in str(err.value)


def test_far_cell_names_the_sheet_and_the_cell():
    with pytest.raises(ValueError, match="工作表“附件”的数据区域 1,048,576 行 × 16,384 列（从 A1 到 XFD1048576）超过上限 2,000,000"):
        attachments.tables(one_cell_xlsx("XFD1048576"), "xlsx")


def test_a_far_cell_hidden_inside_a_row_is_found():
    """calamine places a cell by its own reference, whatever row it is written in."""
    xml = sheet_xml('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>2</v></c><c r="C1"><v>3</v></c></row>')
    with pytest.raises(ValueError, match="从 A1 到 XFD1048576"):
        attachments.tables(_workbook({"表": xml}), "xlsx")


def test_cells_without_references_follow_their_left_neighbour():
    xml = sheet_xml('<row><c r="Z1"><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>')
    [table] = attachments.tables(_workbook({"表": xml}), "xlsx")
    assert len(table) == 2 and len(table[0]) == 27 and table[0][25:] == ["1", "2"] and table[1][0] == "3"


def test_a_declared_dimension_is_not_believed():
    """A sheet declaring A1:XFD1048576 with one cell at A1 is read: the area is the data's (as calamine's)."""
    xml = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>决定书文号</t></is></c></row>').replace(
        "<sheetData>", '<dimension ref="A1:XFD1048576"/><sheetData>')
    assert attachments.tables(_workbook({"表": xml}), "xlsx") == [[["决定书文号"]]]


def test_a_cell_at_the_last_row_of_column_a_is_within_the_limits():
    """1 048 576 rows × 1 column is inside the area limit: read, in the worker, padded with empty rows."""
    [table] = attachments.tables(one_cell_xlsx("A1048576"), "xlsx")
    assert len(table) == 1_048_576 and table[-1] == ["行政许可信息"] and table[0] == [""]


def test_docx_bomb_is_refused():
    with pytest.raises(ValueError, match="压缩炸弹"):
        attachments.tables(docx_bomb(), "docx")


def test_compression_ratio_alone_is_refused():
    """150 MB from 150 KB: under the total, over the ratio."""
    body = _workbook({}, {"xl/worksheets/sheet1.xml": _repeated_deflate(_SHEET_HEAD, b"<row><c><v>1</v></c></row>",
                                                                          150 * MiB)})
    with pytest.raises(ValueError, match="压缩比"):
        attachments.tables(body, "xlsx")


def test_a_lying_header_is_caught_while_reading():
    """A member declaring 1 KB that holds 300 MB: never read past what it declares (zipfile stops at the
    declared size and the CRC fails), so the file is refused as damaged, in bounded memory."""
    raw, _ = _repeated_deflate(_SHEET_HEAD, b"<row><c><v>1</v></c></row>", 300 * MiB)
    body = _workbook({}, {"xl/worksheets/sheet1.xml": (raw, 1024)})
    with pytest.raises(ValueError, match="无法读取 xlsx"):
        attachments.tables(body, "xlsx")


def test_one_cell_too_long_is_refused():
    xml = sheet_xml(f'<row r="1"><c r="B1" t="inlineStr"><is><t>{"长" * 40_000}</t></is></c></row>')
    with pytest.raises(ValueError, match="工作表“名单”的单元格 B1 有 40000 个字符，超过上限 32767"):
        attachments.tables(_workbook({"名单": xml}), "xlsx")


def test_one_shared_string_too_long_is_refused():
    strings = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               f'<si><t>{"x" * 40_000}</t></si></sst>').encode()
    body = _workbook({"S": sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')}, {"xl/sharedStrings.xml": strings})
    with pytest.raises(ValueError, match="共享字符串第 1 个有 40000 个字符"):
        attachments.tables(body, "xlsx")


def test_the_cell_count_is_checked_while_reading(monkeypatch):
    """The count runs over the whole workbook (here with a limit of 100 cells, 60 per sheet)."""
    monkeypatch.setattr(bounded, "MAX_CELLS", 100)
    rows = "".join(f'<row r="{r}">' + "".join(f"<c><v>{c}</v></c>" for c in range(6)) + "</row>" for r in range(1, 11))
    with pytest.raises(ValueError, match="单元格超过上限 100 个（读到工作表“二月”第 7 行）"):
        attachments.tables(_workbook({"一月": sheet_xml(rows), "二月": sheet_xml(rows)}), "xlsx")


def test_every_sheet_is_read_by_name():
    a = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>甲</t></is></c></row>')
    b = sheet_xml('<row r="2"><c r="B2"><v>3</v></c></row>')
    assert attachments.named_tables(_workbook({"一月": a, "二月": b}), "xlsx") == [
        ("一月", [["甲"]]), ("二月", [["", ""], ["", "3"]])]


def test_xls_area_is_checked_before_its_cells(monkeypatch):
    """An .xls sheet over the area limit (xlrd's rows × columns, ragged, nothing padded) is refused."""
    import xlwt
    book = xlwt.Workbook()
    sheet = book.add_sheet("处罚")
    sheet.write(0, 0, "决定书文号")
    sheet.write(60_000, 250, "x")
    buf = io.BytesIO()
    book.save(buf)
    with pytest.raises(ValueError, match="工作表“处罚”的数据区域 60,001 行 × 251 列超过上限"):
        attachments.tables(buf.getvalue(), "xls")
    monkeypatch.setattr(bounded, "MAX_AREA", 20_000_000)
    [table] = attachments.tables(buf.getvalue(), "xls")
    assert table[0][0] == "决定书文号" and table[60_000][250] == "x" and len(table[1]) == 251


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(bounded, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValueError, match="超过上限"):
        attachments.tables(b"a,b\n" * 500, "csv")
    path = tmp_path / "台账.csv"
    path.write_bytes(b"a,b\n" * 500)
    with pytest.raises(ValueError, match=f"文件 {path} 过大"):
        attachments.read_sheets(path)


# --- CSV fields over the csv module's limit ------------------------------------------------------

def test_a_huge_csv_field_is_refused_with_its_line():
    body = ("决定书文号,行政相对人名称\n长环罚〔2026〕1号,甲\n长环罚〔2026〕2号,\"" + "乙" * 200_000 + "\"\n").encode()
    with pytest.raises(ValueError, match=f"第 3 行有一个单元格超过 {csv.field_size_limit():,} 个字符"):
        attachments.tables(body, "csv")


def test_a_quote_left_open_in_a_local_csv_names_the_file(tmp_path):
    path = tmp_path / "处罚.csv"
    path.write_text("决定书文号,行政相对人名称\n长环罚〔2026〕1号,\"甲\n" + "乙,丙\n" * 40_000, "utf-8")
    with pytest.raises(ValueError, match=f"文件 {path} 第 2 行有一个单元格.*引号未闭合"):
        attachments.read_sheets(path)


# --- the worker ----------------------------------------------------------------------------------

def _abort() -> None:
    os.abort()


def _hog() -> bytes:
    return b"x" * (bounded.WORKER_MEMORY + (1 << 30))


def _refuse() -> None:
    raise ValueError("工作表“甲”不对")


def _fine(n: int) -> list[int]:
    return list(range(n))


def test_the_worker_returns_results_and_errors():
    assert bounded.isolated(_fine, 5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="^工作表“甲”不对$"):
        bounded.isolated(_refuse)


def test_a_native_abort_in_the_worker_is_a_value_error():
    with pytest.raises(ValueError, match="读取进程异常终止.*SIGABRT"):
        bounded.isolated(_abort)


def test_the_worker_cannot_take_more_memory_than_its_limit():
    with pytest.raises(ValueError, match="内存超过上限"):
        bounded.isolated(_hog)


# --- the commands, in a child process ------------------------------------------------------------

def _run_measured(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """``sgs ARGS`` in a fresh child: its exit code, stderr and the peak RSS (MB) of it and its workers."""
    probe = textwrap.dedent(f"""
        import resource, subprocess, sys
        r = subprocess.run({[sys.executable, "-c", "from sgs.cli import app; app()", *args]!r},
                           capture_output=True, text=True)
        sys.stderr.write(r.stderr)
        print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    code, rss = done.stdout.split()
    return int(code), done.stderr, int(rss)


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    for name, (make, _) in HOSTILE.items():
        (out / name).write_bytes(make())
    (out / "docx_bomb.xlsx").write_bytes(docx_bomb())  # a document under a workbook's name
    (out / "huge_field.csv").write_text("决定书文号,行政相对人名称\n1,\"" + "乙" * 200_000 + "\"\n", "utf-8")
    return out


def test_sgs_validate_refuses_each_hostile_file(hostile_dir):
    for path in sorted(hostile_dir.iterdir()):
        code, err, rss = _run_measured(["validate", str(path), "--kind", "cf"], hostile_dir)
        assert code == 2, (path.name, err)
        assert str(path) in err and "Traceback" not in err, err
        assert rss < MEMORY_BOUND_MB, (path.name, rss)


def test_sgs_ledger_import_refuses_each_hostile_file(hostile_dir, tmp_path):
    from core import store
    from core.settings import Paths

    paths = Paths(tmp_path / "sgs.duckdb")
    con = store.connect(paths)
    con.execute("INSERT INTO departments (dept_id, name, county) VALUES ('d1', '测试局', '市本级')")
    con.close()
    for path in sorted(hostile_dir.iterdir()):
        code, err, rss = _run_measured(["ledger", "import", str(path), "--dept", "d1", "--kind", "cf",
                                        "--db", str(paths.db)], hostile_dir)
        assert code == 2, (path.name, err)
        assert str(path) in err and "Traceback" not in err, err
        assert rss < MEMORY_BOUND_MB, (path.name, rss)


# --- a whole crawl, in a child process -----------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CRAWL_DAY = datetime(2026, 10, 15, 9, 0)


def _table_xlsx(rows: list[list[str]]) -> bytes:
    """A plain workbook of inline-string cells (a department's monthly file)."""
    cells = "".join(f'<row r="{r}">' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in row) + "</row>"
                    for r, row in enumerate(rows, 1))
    return _workbook({"Sheet1": sheet_xml(cells)})


def _file_list(*files: tuple[str, str]) -> str:
    items = "".join(f'<li><a href="files/{name}">{title}</a><span class="date">2026-10-0{i}</span></li>'
                    for i, (name, title) in enumerate(files, 1))
    return f'<html><body><h1>信息公示</h1><ul class="files">{items}</ul></body></html>'


def _crawl_child(city, db: str, out) -> None:
    """The crawl as ``sgs crawl`` runs it, in a process forked from this fresh one, then the peak memory of
    that process and its fetcher and parsing workers.

    Why a grandchild: Linux keeps a process's peak RSS across ``exec``, so a child started from pytest
    (hundreds of MB by then) would report pytest's size; forked from this small interpreter, it reports
    the crawl's."""
    import resource

    from crawlers import run_crawl
    from core.settings import Paths

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            summary = run_crawl(city, Paths(Path(db)), quiet=True, backoff=0.01, retries=1, timeout=10.0,
                                clock=lambda: CRAWL_DAY)
            out.put((summary.records, sorted(summary.problems)))
            out.close()
            out.join_thread()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.put((os.waitstatus_to_exitcode(status), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))


def test_a_crawl_with_hostile_attachments_finishes_and_publishes(site, tmp_path):
    """One department's file is the far-cell workbook, another's a shared-strings bomb beside a good file,
    a third publishes normally: the crawl finishes, every good record is stored and published, each bad
    file is its department's 附件过大或损坏 finding with the archived file as evidence, and the crawl
    process (with its fetcher and parsing workers) stays under ``MEMORY_BOUND_MB``."""
    import multiprocessing

    import duckdb

    from core import store
    from core.periods import parse_period
    from metrics.scoring import score_period
    from core.cityconfig import City, Department, Source
    from core.settings import Paths

    header = ["行政处罚决定书文号", "行政相对人名称", "处罚决定日期"]
    good = {"mkt": [header, ["长市监罚〔2026〕1号", "甲公司", "2026-10-01"]],
            "fin": [header, ["长财罚〔2026〕1号", "乙公司", "2026-10-02"], ["长财罚〔2026〕2号", "丙公司", "2026-10-03"]]}
    site.html("/d/env/cf/index.html", _file_list(("20261001.xlsx", "处罚信息公示")))
    site.routes["/d/env/cf/files/20261001.xlsx"] = (200, XLSX_TYPE, one_cell_xlsx("XFD1048576"))
    site.html("/d/mkt/cf/index.html", _file_list(("20261001.xlsx", "处罚（一）"), ("20261002.xlsx", "处罚（二）")))
    site.routes["/d/mkt/cf/files/20261001.xlsx"] = (200, XLSX_TYPE, shared_strings_bomb())
    site.routes["/d/mkt/cf/files/20261002.xlsx"] = (200, XLSX_TYPE, _table_xlsx(good["mkt"]))
    site.html("/d/fin/cf/index.html", _file_list(("20261003.xlsx", "处罚信息公示")))
    site.routes["/d/fin/cf/files/20261003.xlsx"] = (200, XLSX_TYPE, _table_xlsx(good["fin"]))
    names = {"env": "长沙市生态环境局", "mkt": "长沙市市场监督管理局", "fin": "长沙市财政局"}
    city = City("测试市", tuple(Department(id=d, name=n, county="市本级") for d, n in names.items()), tuple(
        Source(id=f"{d}-cf", channel="site", kind="cf", dept=d, start_url=f"{site.base}/d/{d}/cf/index.html",
               paging={"style": "none"}, rows={"links": r"/files/\d{8}\.xlsx$"}) for d in names))
    paths = Paths(tmp_path / "sgs.duckdb")

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: its peak memory is the crawl's own
    out = ctx.Queue()
    child = ctx.Process(target=_crawl_child, args=(city, str(paths.db), out))
    child.start()
    records, problems = out.get(timeout=300)
    crawl_exit, peak_mb = out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0 and crawl_exit == 0
    assert records == 3 and peak_mb < MEMORY_BOUND_MB, (records, peak_mb)
    assert [(s, p) for s, p, _ in problems] == [("env-cf", "bad_attachment"), ("mkt-cf", "bad_attachment")]

    snapshot = store.open_snapshot(paths)
    try:
        published = sorted(snapshot.execute("SELECT dept_id, CF_WSH FROM cf_records").fetchall())
    finally:
        snapshot.close()
    assert published == [("fin", "长财罚〔2026〕1号"), ("fin", "长财罚〔2026〕2号"), ("mkt", "长市监罚〔2026〕1号")]

    con = duckdb.connect(str(paths.db))
    try:
        score_period(con, parse_period("2026Q4"), as_of=date(2026, 10, 20))
        found = con.execute("""SELECT f.dept_id, f.value, x.sha256 IS NOT NULL, f.message FROM findings f
                               JOIN fetches x USING (fetch_id) WHERE f.rule_id = 'bad_attachment'
                               ORDER BY f.dept_id""").fetchall()
        runs = dict(con.execute("SELECT source_id, status FROM source_runs").fetchall())
    finally:
        con.close()
    assert [(d, v) for d, v, *_ in found] == [("env", f"{site.base}/d/env/cf/files/20261001.xlsx"),
                                              ("mkt", f"{site.base}/d/mkt/cf/files/20261001.xlsx")]
    assert all(archived for _, _, archived, _ in found)
    assert "工作表“附件”的数据区域" in found[0][3] and "压缩炸弹" in found[1][3]
    assert runs == {"env-cf": "degraded", "mkt-cf": "degraded", "fin-cf": "ok"}
