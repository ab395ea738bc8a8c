"""Personal data stays masked in URLs and error texts too (issue 12): the one masking rule on URL shapes, the
numbers it must leave alone, and the SQL twin agreeing with it on every shape and on generated text; then a
real crawl of a site on 127.0.0.1 whose detail pages are named after their subjects' ID and mobile numbers
(one of them dead): ``sgs crawl``'s output, the dashboard's 采集状态, 问题清单 and 部门自查 pages, the Excel
list and the workbook show every number masked, while the archive keeps the real URL.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import unquote

import duckdb
import pytest
import tomli_w
from streamlit.testing.v1 import AppTest

from crawlers.archive import read_response
from dashboard.auth import write_users
from dashboard.views import _finding
from dashboard_city import REPO, app, login, run, table
from core import store
from core.periods import parse_period
from core.privacy import holds_personal, mask_text, register_macros
from metrics.scoring import score_period
from core.settings import resolve_paths

ID = "110101199003071234"
ID_X = "11010119900307123X"
PHONE = "13812345678"
M_ID = "110101********1234"
M_ID_X = "110101********123X"
M_PHONE = "138****5678"

URLS = [  # (text, masked)
    (f"http://127.0.0.1:8080/cf/{ID}.html", f"http://127.0.0.1:8080/cf/{M_ID}.html"),  # a path segment
    (f"http://x.gov.cn/cf/{ID_X}/", f"http://x.gov.cn/cf/{M_ID_X}/"),
    (f"http://x.gov.cn/cf/p{ID}.html", f"http://x.gov.cn/cf/p{M_ID}.html"),  # after a letter
    (f"http://x.gov.cn/cf/{ID}_1.shtml", f"http://x.gov.cn/cf/{M_ID}_1.shtml"),
    (f"http://x.gov.cn/cf/{ID}abc", f"http://x.gov.cn/cf/{M_ID}abc"),  # before a letter
    (f"http://x.gov.cn/view?sfz={ID}&tel={PHONE}", f"http://x.gov.cn/view?sfz={M_ID}&tel={M_PHONE}"),  # query
    (f"http://x.gov.cn/view?id={PHONE}&page=2", f"http://x.gov.cn/view?id={M_PHONE}&page=2"),
    (f"http://x.gov.cn/view?q=sfz%3D{ID}%26tel%3D{PHONE}",  # percent-encoded query inside a query
     f"http://x.gov.cn/view?q=sfz%3D{M_ID}%26tel%3D{M_PHONE}"),
    (f"http://x.gov.cn/cf/%E5%BC%A0%E4%B8%89%20{ID}.html",  # %20 ends with a digit: still a boundary
     f"http://x.gov.cn/cf/%E5%BC%A0%E4%B8%89%20{M_ID}.html"),
    (f"http://x.gov.cn/cf%2F{ID}%2F", f"http://x.gov.cn/cf%2F{M_ID}%2F"),
    (f"http://x.gov.cn/q?tel=%2B86{PHONE}", f"http://x.gov.cn/q?tel=%2B86{M_PHONE}"),
    (f"tel:+86{PHONE}", f"tel:+86{M_PHONE}"),
    (f"tel:0086{PHONE}", f"tel:0086{M_PHONE}"),
    (f"http://x.gov.cn/cf/detail.html#{ID}", f"http://x.gov.cn/cf/detail.html#{M_ID}"),  # a fragment
    (f"http://x.gov.cn/cf/detail.html#tel={PHONE}", f"http://x.gov.cn/cf/detail.html#tel={M_PHONE}"),
    (f"{ID}/{ID}", f"{M_ID}/{M_ID}"),  # numbers side by side (the SQL twin needs its second pass)
    (f"{PHONE},{PHONE};{PHONE}", f"{M_PHONE},{M_PHONE};{M_PHONE}"),
    ("证件号码：１１０１０１１９９００３０７１２３４，电话１３８１２３４５６７８",  # full-width, as a page may write them
     "证件号码：１１０１０１********１２３４，电话１３８****５６７８"),
    # free error texts as the crawl writes them
    (f"http://x.gov.cn/cf/{ID}.html 返回 HTTP 404（详情页不可用，仅保留列表中的信息）",
     f"http://x.gov.cn/cf/{M_ID}.html 返回 HTTP 404（详情页不可用，仅保留列表中的信息）"),
    (f"连接 http://x.gov.cn/view?tel={PHONE} 失败：Connection refused\n重试 2 次",
     f"连接 http://x.gov.cn/view?tel={M_PHONE} 失败：Connection refused\n重试 2 次"),
]

NOT_PERSONAL = [
    "http://127.0.0.1:8080/cf/list?page=2",  # port, page
    "http://x.gov.cn/art/2026/1/31/art_1229_2026013100012.html",  # dates, article ids (13 digits)
    "http://x.gov.cn/cf/20260131/t20260131_123456.html",
    "http://x.gov.cn/list?_=1769846400123",  # a millisecond timestamp
    "http://x.gov.cn/list?ts=1769846400",  # seconds
    "长市监罚〔2026〕123号", "晋长市监罚字〔2026〕第00123号", "TJ2026-0012345",  # 文书号
    "91140400MA0K12345X", "http://x.gov.cn/q?code=91140400MA0K5X3E6X",  # credit codes (public)
    "urn:uuid:3f0c2a5e-8b1d-4c77-9a2e-1f2e3d4c5b6a",  # a fetch id
    "20261130T201138-1a2b3c4d.warc.gz#123456",  # a crawl's archive and offset
    "0355-2021234", "(0355)2021234",  # landlines
    "1404021990031512345",  # 19 digits: not an ID
    "139123456789", "12812345678",  # 12 digits; not a mobile prefix
    "http://x.gov.cn/%31%31%30",  # percent-encoded digits are not decoded
    "140402********1234", "139****5678",  # already masked
    "٣١٣٨١٢٣٤٥٦٧٨",  # another script's digits are not read as numbers (in Python as in SQL)
]


@pytest.mark.parametrize(("text", "masked"), URLS)
def test_urls_and_error_texts_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert holds_personal(text) and not holds_personal(masked)


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_numbers_that_are_not_personal_are_left_alone(text: str) -> None:
    assert mask_text(text) == text
    assert not holds_personal(text)


def _sql(con: duckdb.DuckDBPyConnection, texts: list[str]) -> list[str]:
    rows = con.execute("SELECT i, sgs_mask_text(t) FROM unnest(?) WITH ORDINALITY AS u(t, i) ORDER BY i",
                       [texts]).fetchall()
    return [r[1] for r in rows]


def test_sql_twin_agrees_on_every_shape() -> None:
    con = duckdb.connect()
    register_macros(con)
    texts = [t for t, _ in URLS] + [m for _, m in URLS] + NOT_PERSONAL
    assert _sql(con, texts) == [mask_text(t) for t in texts]
    con.close()


def test_sql_twin_agrees_on_generated_text() -> None:
    """Random strings stitched from numbers, escapes, separators and letters (a fixed seed: the same cases on
    every run): Python and SQL give the same text, and nothing 11 or 18 digits long survives next to a
    non-digit unmasked."""
    pieces = [ID, ID_X, PHONE, f"86{PHONE}", "+86", "00", "%20", "%3D", "%2F", "%2B", "%E5%BC%A0", "/", "?", "&",
              "=", "#", ".html", "p", "X", "x", "1", "3", "8", "0", "20260131", "91140400MA0K12345X", " ", "\n",
              "%", "张", "*", "１１０１０１１９９００３０７１２３４", "１３８１２３４５６７８", "１", "ｘ", "٣"]
    rng = random.Random(12)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(5000)]
    con = duckdb.connect()
    register_macros(con)
    got = _sql(con, texts)
    con.close()
    assert got == [mask_text(t) for t in texts]
    assert all(mask_text(m) == m for m in got)  # masking is idempotent


def test_crawl_lines_are_masked() -> None:
    """The one output point of ``sgs crawl`` (crawlers.report.shown) and the errors it repeats at the end."""
    from datetime import datetime

    from crawlers.report import CrawlSummary, shown

    assert shown(f"http://x/cf/{ID}.html 返回 HTTP 404") == f"http://x/cf/{M_ID}.html 返回 HTTP 404"
    summary = CrawlSummary("c1", datetime(2026, 5, 1))
    summary.errors.append((f"http://x/?tel={PHONE}", f"http://x/?tel={PHONE} 返回 HTTP 500"))
    assert summary.error_lines() == [f"http://x/?tel={M_PHONE} 返回 HTTP 500"]
    assert summary.errors[0][0].endswith(PHONE)  # what is kept (and stored) is the real URL


# --- a real crawl whose URLs name people ---------------------------------------------------------------

ID2, ID3, ID_DEAD = "110101199003071235", "110101199003071236", "110101199003071237"
PHONE2, PHONE_START = "13912345678", "13712345678"
RAW = (ID, ID2, ID3, ID_DEAD, PHONE, PHONE2, PHONE_START)
LINKS = {  # list link → 文书号, 相对人 (the pages exist except the last)
    f"detail/{ID}.html": ("长环罚〔2026〕41号", "张三"),  # a page named after its subject's ID
    f"detail/view?sfz={ID2}&tel={PHONE}": ("长环罚〔2026〕42号", "李四"),  # query parameters
    f"detail/%E7%8E%8B%E4%BA%94%20{ID3}.html": ("长环罚〔2026〕43号", "王五"),  # percent-encoded, %20 before it
    f"detail/{ID_DEAD}.html": ("长环罚〔2026〕44号", "赵六"),  # dead: an error and an availability problem
}


def _list_page() -> str:
    body = "".join(f'<tr><td><a href="{href}">{wsh}</a></td><td>{name}</td><td>自然人</td><td>罚款</td>'
                   f"<td>2026-05-11</td><td>2026-05-12</td></tr>" for href, (wsh, name) in LINKS.items())
    return ("<html><body><table><tr><th>决定书文号</th><th>行政相对人名称</th><th>行政相对人类别</th><th>处罚类别</th>"
            f"<th>决定日期</th><th>发布日期</th></tr>{body}</table></body></html>")


def _detail_page(wsh: str, name: str, sfz: str) -> str:
    rows = {"行政处罚决定书文号": wsh, "行政相对人名称": name, "证件号码": sfz, "联系电话": PHONE2,
            "决定日期": "2026-05-11"}
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows.items())
    return f"<html><head><meta charset='utf-8'></head><body><h1>公示</h1><table>{cells}</table></body></html>"


class _Handler(BaseHTTPRequestHandler):
    """Serves ``routes`` by the unquoted path and query (the crawler may re-encode a URL); 404 otherwise."""

    routes: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        page = self.routes.get(unquote(self.path))
        body = (page or "<h1>页面不存在</h1>").encode("utf-8")
        self.send_response(200 if page else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    routes = {"/d/env/cf/list": _list_page()}
    for href, (wsh, name) in LINKS.items():
        if ID_DEAD not in href:
            sfz = next(n for n in (ID, ID2, ID3) if n in href)
            routes[unquote(f"/d/env/cf/{href}")] = _detail_page(wsh, name, sfz)
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _sgs(*args: str) -> subprocess.CompletedProcess:
    """The ``sgs`` command in a child process, its output captured as cron would mail it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", "from sgs.cli import app; app(prog_name='sgs')", *args],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def _unmasked(text: str) -> list[str]:
    return [n for n in RAW if n in text]


@pytest.fixture(scope="module")
def crawled(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``sgs crawl`` (then ``--quiet``, as cron runs it) of the site, 2026Q2 scored and published."""
    root = tmp_path_factory.mktemp("urls")
    config = root / "city.toml"
    config.write_text(tomli_w.dumps({
        "city": {"name": "测试市"},
        "departments": [{"id": "env", "name": "长沙市生态环境局", "county": "市本级"}],
        "sources": [
            {"id": "env-cf", "channel": "site", "kind": "cf", "dept": "env", "start_url": f"{site}/d/env/cf/list"},
            # a column that is gone, its address carrying a contact's mobile number
            {"id": "env-xk", "channel": "site", "kind": "xk", "dept": "env",
             "start_url": f"{site}/d/env/xk/list?tel={PHONE_START}"}]}), encoding="utf-8")
    db = root / "sgs.duckdb"
    runs = [_sgs("crawl", "--config", str(config), "--db", str(db)),
            _sgs("crawl", "--quiet", "--config", str(config), "--db", str(db))]
    paths = resolve_paths(db)
    con = store.connect(paths)
    try:
        score_period(con, parse_period("2026Q2"), as_of=date(2026, 11, 30))
        store.publish(con, paths)
    finally:
        con.close()
    return {"paths": paths, "runs": runs, "site": site}


def test_crawl_output_is_masked(crawled: dict) -> None:
    for run in crawled["runs"]:
        out = run.stdout + run.stderr
        assert "Traceback" not in out
        assert _unmasked(out) == [], out
        assert "110101********1237" in run.stderr  # the dead page's error is printed, masked
    quiet = crawled["runs"][1]
    assert quiet.stdout == "" and quiet.stderr.strip()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_explain_output_is_masked(crawled: dict, as_json: bool) -> None:
    done = _sgs("explain", "--period", "2026Q2", "--dept", "env", "--db", str(crawled["paths"].db),
                *(["--json"] if as_json else []))
    assert done.returncode == 0, done.stderr
    assert _unmasked(done.stdout) == [] and "110101********1234" in done.stdout  # the page URLs, masked


def test_archive_keeps_the_real_urls(crawled: dict) -> None:
    con = duckdb.connect(str(crawled["paths"].db), read_only=True)
    try:
        urls = [r[0] for r in con.execute("SELECT url FROM fetches").fetchall()]
        stored = " ".join(str(v) for r in con.execute(
            "SELECT url, detail FROM availability UNION ALL SELECT message, NULL FROM source_runs").fetchall()
            for v in r)
        warc = con.execute("SELECT warc_file, warc_offset FROM fetches WHERE contains(url, ?) AND warc_file IS NOT NULL",
                           [ID]).fetchone()
    finally:
        con.close()
    for number in (ID, ID2, PHONE, ID3, ID_DEAD):
        assert any(number in u for u in urls), number
    assert ID_DEAD in stored and PHONE_START in stored  # the store keeps what happened; screens mask it
    uri, _headers, body = read_response(crawled["paths"], warc[0], warc[1])
    assert ID in uri and ID.encode() in body  # the page as fetched, its subject's number and all


def _texts(node) -> Iterator[bytes]:
    """Every rendered element's message, serialised (tables' Arrow data included)."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield proto.SerializeToString()
    for child in getattr(node, "children", {}).values():
        yield from _texts(child)


def _page(crawled: dict, monkeypatch: pytest.MonkeyPatch, username: str, page: str) -> AppTest:
    users = crawled["paths"].root / "users.toml"
    write_users(users, [{"username": u, "name": u, "role": r, "dept_id": d, "password": f"{u}-pw"}
                        for u, r, d in (("boss", "leader", None), ("judge", "assessor", None),
                                        ("env", "department", "env"))])
    monkeypatch.setenv("SGS_DB", str(crawled["paths"].db))
    monkeypatch.setenv("SGS_USERS", str(users))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    at = login(app(), username, f"{username}-pw")
    at.switch_page(f"dashboard/views/{page}.py")
    return run(at)


def _assert_masked(at: AppTest) -> bytes:
    shown = b"\n".join(_texts(at._tree))
    assert [n for n in RAW if n.encode() in shown] == []
    return shown


@pytest.mark.usefixtures("fresh_caches")
def test_sources_page_is_masked(crawled: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(crawled, monkeypatch, "boss", "sources")
    shown = _assert_masked(at)
    assert b"110101********1237" in shown and b"137****5678" in shown  # the dead page and the gone column
    problems = table(at, "availability")
    assert any("110101********1237" in u for u in problems["地址"])
    assert any("137****5678" in u for u in table(at, "source_status")["入口地址"])


@pytest.mark.usefixtures("fresh_caches")
@pytest.mark.parametrize(("username", "page", "table_key", "pick_key"),
                         [("judge", "findings", "findings", "wb_finding"), ("env", "department", "remediation", "finding")])
def test_finding_pages_are_masked(crawled: dict, monkeypatch: pytest.MonkeyPatch, username: str, page: str,
                                  table_key: str, pick_key: str) -> None:
    """Every finding whose page URL names a person, in detail: its URL, the record, the archived page and its
    source."""
    at = _page(crawled, monkeypatch, username, page)
    rows = table(at, table_key)
    urls = rows["证据页面"].dropna().tolist()
    assert any("110101********1234" in u for u in urls) and any("138****5678" in u for u in urls)
    _assert_masked(at)
    personal = rows.loc[rows["证据页面"].fillna("").str.contains("*", regex=False), "问题编号"].tolist()
    assert personal
    notes = 0
    for finding_id in personal:
        at.selectbox(key=pick_key).set_value(finding_id)
        run(at)
        _assert_masked(at)
        notes += any(c.value == _finding.PERSONAL_URL_NOTE for c in at.caption)
        assert not at.get("link_button")  # a masked URL opens nothing real: no link to it
    assert notes == len(personal)  # each says why there is no link


def test_exports_are_masked(crawled: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 整改清单 download writes what the page shows; the assessment workbook, report and notice mask every
    string they write (reports/workbook._cell, reports/docx_kit.text)."""
    import zipfile

    import openpyxl

    from dashboard.queries import findings, shared
    from dashboard.auth import Viewer
    from reports.build import notice_bytes, report_bytes, workbook_bytes

    monkeypatch.setenv("SGS_DB", str(crawled["paths"].db))
    snap = shared.snapshot_name()
    df = findings.findings(snap, Viewer("env", "env", "department", "env"), "2026Q2", limit=None)
    books = [_finding.excel(_finding.findings_table(df), "整改清单")]
    day = date(2026, 11, 30)
    con = store.open_snapshot(crawled["paths"])
    try:
        books.append(workbook_bytes(con, "2026Q2", day))
        documents = [report_bytes(con, "2026Q2", day), notice_bytes(con, "2026Q2", "env", None, day)]
    finally:
        con.close()
    for data in books:
        wb = openpyxl.load_workbook(BytesIO(data))
        cells = " ".join(str(v) for ws in wb.worksheets for row in ws.values for v in row if v is not None)
        assert _unmasked(cells) == [] and "110101********1234" in cells
    for data in documents:
        with zipfile.ZipFile(BytesIO(data)) as docx:
            xml = " ".join(docx.read(n).decode("utf-8", "replace") for n in docx.namelist() if n.endswith(".xml"))
        assert _unmasked(xml) == [] and "110101********1234" in xml
