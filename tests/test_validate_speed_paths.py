"""The fast path of ``sgs validate`` (a plain CSV read by DuckDB, normalised in SQL) gives what the general path
(Python's csv module, ``normalise_record`` per value) gives: every value of the demo city and of the
normaliser's edge cases normalised alike, the same reports on the same files, and every file the two readers
would read apart left to the general path."""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.validate_data import write as write_bench_file
from core import normalize_sql, standard
from core.normalize import field_kinds, normalise_record
from core.tables import cell_value
from metrics import validate, validate_sql
from tests.test_crawl_units import test_amounts_become_wan_yuan, test_dates_in_every_format_become_iso
from tests.test_dates import IMPLAUSIBLE, PLAUSIBLE
from tests.test_properties import FAST, amount_text, any_value, date_text, examples, words

EDGES = [*IMPLAUSIBLE, *PLAUSIBLE, "下周", "2026-02-30", "2026-13-01", "26-5-6", " 2026-05-06 ", "２０２６－０５－０６",
         "2026-05-06T10:20:30+08:00", "2026年5月6日 10时20分", "2026/05/06 10:20", "5000元", "1.2万元", "1.20万", "0.5",
         "１，０００元", "人民币5000元", "0", "120000元", "伍仟元", "壹万贰仟元整", "壹万元伍角", "壹万", "-", "无", "", "-0.00",
         "007", "0.50", "9" * 25, "¥100", "￥100", "12.3400万元", "警告、罚款", "罚款；警告", "警告，罚款", "罚款、责令改正",
         "其他-责令整改", "01", "法人", "居民身份证", "  长沙市　某某（有限）公司 \n", "经查，当事人于２０２６年超标排放（第１次）。",
         "NULL", "n/a", "N/A", "暂无", "——", "·", "\\", "a\u00a0b", "ＡＢｃ", "x\u0301", "é", "٢٠٢٦-٠١-٠٥", "①", "…", "Ⅻ",
         "911404007E0DUMN8X5", "９１１４０４００７Ｅ０ＤＵＭＮ８Ｘ５", "长环罚〔2025〕1号", "长环罚（2025）1号", "ß", "ǅ", "\u3000",
         "a  b", " a", "a\tb", "\u2028x", "x\x1c"]
# the parametrised values of the existing normaliser tests, so a new edge case there is compared here too
EDGES += [p for mark in (test_amounts_become_wan_yuan, test_dates_in_every_format_become_iso)
          for m in getattr(mark, "pytestmark", []) if m.name == "parametrize"
          for p in (v[0] if isinstance(v, tuple) else v for v in m.args[1]) if isinstance(p, str)]
UNIT_CODE = "CF_NR_FK"  # normalised with and without a header stating 元


def sql_normalised(kind: str, values: dict[str, list[str]], units: dict[str, str] | None = None) -> dict[str, list]:
    """What the fast path makes of each code's values (the table ``_normalise`` builds from ``_validate_raw``)."""
    con = duckdb.connect()
    codes = list(values)
    width = max(len(v) for v in values.values())
    rows = [[values[c][i] if i < len(values[c]) else None for c in codes] for i in range(width)]
    con.execute("CREATE TEMP TABLE _validate_raw (" + ", ".join(f'"{c}" VARCHAR' for c in codes) + ", _filled BOOLEAN)")
    if rows:
        con.executemany(f"INSERT INTO _validate_raw VALUES ({', '.join('?' for _ in codes)}, true)", rows)
    columns = {j: standard.HeaderMatch(c, (units or {}).get(c)) for j, c in enumerate(codes)}
    validate_sql._normalise(con, kind, columns, 0, "out", "_validate_raw")
    lists = ", ".join(f'list("{c}" ORDER BY _row)' for c in codes)
    got = con.execute(f"SELECT {lists} FROM out").fetchall()[0]
    con.close()
    return dict(zip(codes, got))


def python_normalised(kind: str, values: dict[str, list[str]], units: dict[str, str] | None = None) -> dict[str, list]:
    """What the general path makes of them: ``normalise_record`` of the cell as the header reads it."""
    out = {}
    for code, vals in values.items():
        match = standard.HeaderMatch(code, (units or {}).get(code))
        out[code] = [normalise_record(kind, {code: cell_value(v, match)})[code] if v.strip() else None for v in vals]
    return out


def assert_agree(kind: str, values: dict[str, list[str]], units: dict[str, str] | None = None) -> None:
    sql, py = sql_normalised(kind, values, units), python_normalised(kind, values, units)
    for code in values:
        diff = [(v, a, b) for v, a, b in zip(values[code], sql[code], py[code]) if a != b]
        assert not diff, (code, diff[:5])


def by_every_kind(kind: str, vals: list[str]) -> dict[str, list[str]]:
    """The values under one column of each normalisation (date, amount, identifier, enum, list, text)."""
    kinds = field_kinds(kind)
    picks = {"date": f"{kind.upper()}_JDRQ", "identifier": f"{kind.upper()}_WSH", "text": f"{kind.upper()}_XDR_MC",
             "amount": "CF_NR_FK", "enum": f"{kind.upper()}_XDR_LB", "list": "CF_CFLB"}
    return {c: vals for how, c in picks.items() if c in kinds and (kind == "cf" or how not in ("amount", "list"))}


@pytest.mark.parametrize("kind", ["cf", "xk"])
def test_sql_agrees_with_python_on_every_value_of_the_demo_city(kind):
    from democity.generate import build

    values: dict[str, list[str]] = {}
    for record in build().records:
        if record.kind == kind:
            for code, value in record.site.items():
                values.setdefault(code, []).append(value)
    values = {c: list(dict.fromkeys(v)) for c, v in values.items() if c in field_kinds(kind)}
    assert len(values) >= 10 and sum(map(len, values.values())) > 1000
    assert_agree(kind, values)
    if kind == "cf":
        assert_agree(kind, {UNIT_CODE: values[UNIT_CODE]}, {UNIT_CODE: "元"})


@pytest.mark.parametrize("kind", ["cf", "xk"])
def test_sql_agrees_with_python_on_the_normalisers_edge_cases(kind):
    assert len(EDGES) > 100
    assert_agree(kind, by_every_kind(kind, EDGES))
    repeated = EDGES * (validate_sql.FEW_DISTINCT + 1)  # few distinct values: normalised once per value, joined back
    assert_agree(kind, by_every_kind(kind, repeated))
    if kind == "cf":
        assert_agree(kind, {UNIT_CODE: EDGES}, {UNIT_CODE: "元"})


@settings(max_examples=examples(40), **FAST)
@given(st.lists(st.one_of(amount_text, date_text, words, st.text(max_size=12),
                          st.sampled_from(EDGES)), min_size=1, max_size=40))
def test_sql_agrees_with_python_on_any_values(vals):
    vals = [v.replace("\x00", "") for v in vals]  # a NUL never reaches SQL: the fast path refuses such a file
    assert_agree("cf", by_every_kind("cf", vals))
    assert_agree("cf", {UNIT_CODE: vals}, {UNIT_CODE: "元"})


def test_most_values_of_a_real_file_stay_in_sql():
    """The Python fallback is for the irregular few, not the file: dates, 文书号, amounts and full-width codes
    as people write them stay in SQL; 大写金额 and other scripts' digits go to Python."""
    con = duckdb.connect()

    def to_python(code: str, value: str) -> bool:
        s = normalize_sql.Steps(code)
        test = normalize_sql.needs_python(s, "cf", code, "v")
        return con.execute(normalize_sql.layered("(SELECT $v AS v)", [s], [test]), {"v": value}).fetchall()[0][0]

    for code, value in [("CF_JDRQ", "2025年2月14日"), ("CF_WSH", "长环罚〔2025〕1号"), ("CF_NR_FK", "1.1万元"),
                        ("CF_XDR_SHXYM", "９１１４０４００７Ｅ０ＤＵＭＮ８Ｘ５")]:
        assert to_python(code, value) is False, value
    assert to_python("CF_NR_FK", "壹万元") is True and to_python("CF_JDRQ", "٢٠٢٦-٠١-٠٥") is True


def test_the_constants_are_what_python_means():
    """The whitespace Python's \\s and strip() mean, and a safe character's NFKC is one character (or itself)."""
    assert normalize_sql.WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    con = duckdb.connect()
    safe = [chr(c) for c in (*range(0x20, 0x7F), *range(0x3000, 0x3040), *range(0xFF01, 0xFF5F), 0x4E00, 0x9FFF)
            if con.execute(f"SELECT {normalize_sql.safe('$v')}", {"v": chr(c)}).fetchall()[0][0]]
    assert len(safe) > 230
    for c in safe:
        assert len(unicodedata.normalize("NFKC", c)) == 1 and not unicodedata.combining(c), hex(ord(c))


def test_validate_uses_scorings_helper_columns():
    from metrics.scoring import helper_columns

    for kind in ("cf", "xk"):
        assert validate.helper_columns(kind, "r") == helper_columns(kind, "r")


# --- whole files ---------------------------------------------------------------------------------

def general_report(path: Path, monkeypatch) -> dict:
    with monkeypatch.context() as m:
        m.setattr(validate_sql, "load", lambda *a, **k: None)
        return validate.check_file(path, "cf").as_dict()


def fast_report(path: Path) -> dict:
    con = duckdb.connect()
    try:
        loaded = validate_sql.load(con, path, "cf", "t")
        assert loaded is not None, f"{path.name} should take the fast path"
        loaded.close()
    finally:
        con.close()
    return validate.check_file(path, "cf").as_dict()


def test_the_bench_file_gives_the_same_report_both_ways(tmp_path, monkeypatch):
    path = write_bench_file(tmp_path / "cf.csv", 3000)
    fast = fast_report(path)
    assert fast == general_report(path, monkeypatch)
    assert {p["rule"] for p in fast["problems"]} >= {"credit_code_invalid", "date_invalid", "required_missing",
                                                      "enum_invalid", "fine_implausible", "wsh_format", "date_order"}


def test_gb18030_title_rows_units_and_unknown_columns_both_ways(tmp_path, monkeypatch):
    from tests.test_validate_files import REGULATOR, regulator_row

    rows = [["2026年第3号公示"], ["填报单位：长治市生态环境局"], list(REGULATOR)]
    rows += [regulator_row(n, **({"CF_XDR_SHXYM": "123"} if n % 3 == 0 else {})) for n in range(1, 40)]
    rows += [regulator_row(2, CF_JDRQ="2025年2月14日", CF_NR_FK="壹万元"), [""] * len(REGULATOR)]
    rows += [regulator_row(41, CF_CFLB="警告、罚款", CF_NR_FK="11,000")]
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        with path.open("w", encoding=encoding, newline="") as fh:
            csv.writer(fh).writerows(rows)
        fast = fast_report(path)
        assert fast == general_report(path, monkeypatch), encoding
        assert fast["header_rows"] == [{"sheet": None, "row": 3}] and len(fast["unrecognised_columns"]) == 2
        assert any(p["rule"] == "duplicate_record" for p in fast["problems"])


@pytest.mark.parametrize("text", [
    "当事人名称,行政处罚决定书文号\n甲,长环罚〔2026〕1号\n\n乙,长环罚〔2026〕2号\n",  # a blank line is a row
    '当事人名称,行政处罚决定书文号\n甲, "长环罚〔2026〕1号"\n',  # a space before a quote
    "当事人名称,行政处罚决定书文号\n甲,长环罚〔2026〕1号,多余\n",  # a row wider than the header
    "当事人名称,行政处罚决定书文号\r甲,长环罚〔2026〕1号\r",  # bare CRs
    '当事人名称,行政处罚决定书文号\n"甲"乙,长环罚〔2026〕1号\n',  # text after a closing quote
    "当事人名称,行政处罚决定书文号\n甲,\"" + "乙" * 140_000 + "\"\n",  # over the csv module's field limit
])
def test_what_the_readers_read_apart_goes_to_the_general_path(tmp_path, monkeypatch, text):
    path = tmp_path / "odd.csv"
    path.write_text(text, "utf-8")
    con = duckdb.connect()
    assert validate_sql.load(con, path, "cf", "t") is None
    con.close()
    try:
        got = validate.check_file(path, "cf").as_dict()
    except validate.FileProblem as exc:
        with pytest.raises(validate.FileProblem, match=str(exc)[:20]):
            general_report(path, monkeypatch)
    else:
        assert got == general_report(path, monkeypatch)


def _scanned_whole(data: bytes) -> tuple[bool, bool]:
    """What ``validate_sql._scan_bytes`` says of a file, computed on its bytes at once: the reference for the
    chunked scan (a pattern across two chunks, a chunk's last byte, the last chunk). Whether a quote is doubled
    matters only in a file that is not odd (the scan stops at the first odd chunk)."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    odd = (body.startswith((b"\n", b"\r\n")) or validate_sql._odd(data, len(data)) or data.endswith(b"\r"))
    return odd, b'""' in data


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"a", b",", b"\r\n", b"\n", b"\r", b'"', b'""', b" ", b"\t", b"\x00",
                                 "中".encode(), b"\xef\xbb\xbf", b"x" * 5]), max_size=40),
       st.integers(min_value=5, max_value=12))  # 5: a BOM and a CRLF, the first chunk's own test
def test_the_chunked_scan_reads_a_file_as_a_whole(tmp_path_factory, parts, chunk):
    path = tmp_path_factory.mktemp("scan") / "f.csv"
    data = b"".join(parts)
    path.write_bytes(data)
    saved, validate_sql._CHUNK = validate_sql._CHUNK, chunk  # small chunks: every seam is somewhere
    try:
        odd, doubled = validate_sql._scan_bytes(path)
        assert (odd, odd or doubled) == (lambda w: (w[0], w[0] or w[1]))(_scanned_whole(data)), data
    finally:
        validate_sql._CHUNK = saved
