"""A small city for the dashboard tests, written with the store's and the archive's own functions.

Two counties, six departments, two quarters, findings with their records, and the pages they were read
from archived through the real WARC writer (``crawlers.archive.Archive``). In 2026Q3 four departments are
ranked, 市卫生健康委员会 has nothing to assess (本期无公示记录) and 潞州区教育局 too few verifiable records
(证据不足); 未能核验 rows for three departments (one department-level), and one late finding cites a second
archived page: the column's list page of an earlier crawl that did not list the record yet (``ref_fetch_id``). The detail pages of
市市场监督管理局 are hostile on purpose — a script that rewrites the title, an ``onerror`` handler, a
style, a remote stylesheet and image on ``example.invalid`` — so every test that shows evidence proves
that nothing from a crawled page runs or loads. Also: a users file with one user per role, and helpers
to drive the app through Streamlit's AppTest.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from crawlers.archive import Archive
from crawlers.fetch import FetchResult
from dashboard.auth import write_users
from core import store
from core.settings import Paths, resolve_paths

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "streamlit_app.py")
RAW_ID = "140402199003151234"
MASKED_ID = "140402********1234"
RAW_PHONE = "13912345678"
COMPUTED_AT = datetime(2026, 10, 8, 9, 30)
HOSTILE_TITLE = "PWNED"
EVIL_HOST = "example.invalid"

DEPARTMENTS = [
    ("d_fgw", "市发展和改革委员会", "市本级"),
    ("d_scj", "市市场监督管理局", "市本级"),
    ("d_hbj", "潞州区生态环境局", "潞州区"),
    ("d_jtj", "潞州区交通运输局", "潞州区"),
    ("d_wjw", "市卫生健康委员会", "市本级"),
    ("d_jyj", "潞州区教育局", "潞州区"),
]
NO_RECORDS, INSUFFICIENT = "d_wjw", "d_jyj"
RANKED_Q3 = ("d_fgw", "d_scj", "d_hbj", "d_jtj")
# period -> dept -> (n_records, timeliness, completeness, accuracy, total, grade, rank, county_rank,
#                    standing, n_unverified)
SCORES = {
    "2026Q3": {
        "d_fgw": (40, 100.0, 95.0, 97.5, 97.3, "优秀", 1, 1, "ranked", 0),
        "d_scj": (120, 80.0, 75.0, 70.0, 75.0, "良好", 2, 2, "ranked", 2),
        "d_hbj": (30, 76.7, 73.3, 75.0, 75.0, "良好", 2, 1, "ranked", 0),
        "d_jtj": (12, 50.0, 58.3, 50.0, 52.8, "不合格", 4, 2, "ranked", 0),
        "d_wjw": (0, 100.0, 100.0, 100.0, 100.0, None, None, None, "no_records", 0),
        "d_jyj": (3, 100.0, 93.3, 100.0, 98.0, None, None, None, "insufficient_evidence", 2),
    },
    "2026Q2": {
        "d_fgw": (35, 88.6, 91.4, 94.3, 91.4, "优秀", 2, 1, "ranked", 0),
        "d_scj": (110, 90.9, 95.5, 98.2, 94.9, "优秀", 1, 1, "ranked", 0),
        "d_hbj": (25, 60.0, 64.0, 68.0, 64.0, "合格", 3, 1, "ranked", 0),
        "d_jtj": (10, 60.0, 60.0, 50.0, 56.7, "不合格", 4, 2, "ranked", 0),
        "d_wjw": (0, 100.0, 100.0, 100.0, 100.0, None, None, None, "no_records", 0),
        "d_jyj": (4, 75.0, 80.0, 90.0, 81.7, "良好", 5, 3, "ranked", 0),
    },
}
RECORDS = [  # kind, dept, 文书号, 相对人名称
    ("cf", "d_scj", "长市监罚〔2026〕15号", "张某某"),
    ("cf", "d_scj", "长市监罚〔2026〕16号", "长治市惠民超市有限公司"),
    ("xk", "d_scj", "长市监许〔2026〕301号", "长治市好味餐饮有限公司"),
    ("cf", "d_jtj", "潞交罚〔2026〕3号", "李某某"),
    ("xk", "d_jyj", "潞教许〔2026〕8号", "潞州区阳光幼儿园"),
    ("xk", "d_jyj", "潞教许〔2026〕9号", "潞州区启明培训学校有限公司"),
]
# the list page of an earlier crawl of 市市场监督管理局's penalty column, which did not list 15号 yet: the
# second piece of evidence of its late-publication finding (hostile too)
LIST_PAGE_MARK = "行政处罚信息公示列表"
LIST_PAGE_LISTED = "长市监罚〔2026〕12号"
REF_LABEL = "此前采集时尚未列出该记录的页面"
# what the evidence could not decide (未能核验): (dept, record number or None for the department, rule, reason)
UNVERIFIED = [
    ("d_scj", 2, "late_publication", "本部门网站未标明公示日期，首次采集于2026-09-20，已过公示期限（2026-07-30），"
                                     f"此前无该栏目的完整采集，无法核验是否按时公示（联系人电话 {RAW_PHONE}）"),
    ("d_scj", 3, "portal_late", "信用网站未标明公示日期，首次采集于2026-09-20，已过公示期限（2026-07-13），"
                                "此前无该栏目的完整采集，无法核验是否按时公示"),
    ("d_jyj", 5, "late_publication", "本部门网站未标明公示日期，首次采集于2026-09-20，已过公示期限（2026-07-13），"
                                     "此前无该栏目的完整采集，无法核验是否按时公示"),
    ("d_jyj", 6, "late_publication", "本部门网站未标明公示日期，首次采集于2026-09-20，已过公示期限（2026-07-13），"
                                     "此前无该栏目的完整采集，无法核验是否按时公示"),
    ("d_hbj", None, "column_stale", "专栏页面未标明更新日期，本期只采集到一次，无法核验专栏是否长期未更新"),
]


def detail_page(wsh: str, name: str, hostile: bool) -> bytes:
    """A 双公示 detail page (label/value table); a hostile one carries every way a page could act or call out."""
    evil = f"""
<link rel="stylesheet" href="http://{EVIL_HOST}/evil.css">
<style>body {{ background: url(http://{EVIL_HOST}/bg.png) }} h1 {{ color: red }}</style>
<script>document.title = '{HOSTILE_TITLE}'; fetch('http://{EVIL_HOST}/beacon');</script>
<script src="http://{EVIL_HOST}/evil.js"></script>""" if hostile else ""
    img = f'<img src="http://{EVIL_HOST}/x.png" onerror="document.title=\'{HOSTILE_TITLE}\'">' if hostile else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{wsh}</title>{evil}</head>
<body><h1>行政处罚决定书公示</h1>{img}
<table>
<tr><th>决定书文号</th><td>{wsh}</td></tr>
<tr><th>相对人名称</th><td>{name}</td></tr>
<tr><th>证件号码</th><td>{RAW_ID}</td></tr>
<tr><th>联系电话</th><td>{RAW_PHONE}</td></tr>
<tr><th>发布日期</th><td>2026-08-01</td></tr>
</table>
<iframe src="http://{EVIL_HOST}/frame.html"></iframe>
</body></html>""".encode("utf-8")


def list_page() -> bytes:
    """The penalty column's list page as an earlier crawl read it: other decisions, not 15号; hostile."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{LIST_PAGE_MARK}</title>
<script>document.title = '{HOSTILE_TITLE}';</script><link rel="stylesheet" href="http://{EVIL_HOST}/list.css">
</head><body><h1>{LIST_PAGE_MARK}</h1><img src="http://{EVIL_HOST}/y.png" onerror="document.title='{HOSTILE_TITLE}'">
<table><tr><th>决定书文号</th><th>发布日期</th></tr>
<tr><td>{LIST_PAGE_LISTED}</td><td>2026-07-10</td></tr>
<tr><td>长市监罚〔2026〕11号</td><td>2026-07-08</td></tr></table></body></html>""".encode("utf-8")


def _archive_list_page(paths: Paths) -> dict:
    """The earlier crawl's list page, archived through the real writer (crawl-0, 2026-08-05)."""
    url = "http://127.0.0.1:8765/d_scj/cf/"
    with Archive(paths, "crawl-0") as archive:
        row = archive.write(FetchResult(url=url, final_url=url, status=200, reason="OK",
                                        headers=[("Content-Type", "text/html; charset=utf-8")], body=list_page()),
                            source_id="d_scj-cf")
    row["fetched_at"] = datetime(2026, 8, 5, 8, 0)
    return row


def _archive(paths: Paths) -> tuple[list[dict], list[dict], list[dict]]:
    """Archive each record's detail page through the real WARC writer; fetches rows plus the records."""
    fetches, cf, xk = [], [], []
    with Archive(paths, "crawl-1") as archive:
        for i, (kind, dept, wsh, name) in enumerate(RECORDS, start=1):
            url = f"http://127.0.0.1:8765/{dept}/{kind}/{i}.html"
            result = FetchResult(url=url, final_url=url, status=200, reason="OK",
                                 headers=[("Content-Type", "text/html; charset=utf-8")],
                                 body=detail_page(wsh, name, hostile=dept == "d_scj"))
            row = archive.write(result, source_id=f"{dept}-{kind}")
            row["fetched_at"] = datetime(2026, 10, 7, 8, i)
            fetches.append(row)
            rec = {"record_key": f"rk{i}", "dept_id": dept, "source_id": f"{dept}-{kind}", "channel": "site",
                   "url": url, "fetch_id": row["fetch_id"], "std_version": "2019", "FBRQ": "2026-08-01"}
            if kind == "cf":
                cf.append({**rec, "CF_WSH": wsh, "CF_XDR_MC": name, "CF_XDR_ZJHM": RAW_ID, "CF_JDRQ": "2026-07-20",
                           "CF_XDR_LB": "自然人" if name.endswith("某某") else "法人及非法人组织"})
            else:
                xk.append({**rec, "XK_WSH": wsh, "XK_XDR_MC": name, "XK_JDRQ": "2026-07-02"})
    return fetches, cf, xk


def _finding(period: str, dept: str, n: int, kind: str, indicator: str, field: str | None, value: str | None,
             message: str, fetch_ids: dict[int, str]) -> dict:
    return {"finding_id": f"fid-{period}-{dept}-{n}-{indicator}", "period": period, "dept_id": dept, "kind": kind,
            "record_key": f"rk{n}", "channel": "site", "rule_id": f"{indicator}_rule", "indicator": indicator,
            "severity": "error", "field": field, "value": value, "message": message,
            "url": f"http://127.0.0.1:8765/{dept}/{kind}/{n}.html", "fetch_id": fetch_ids[n], "status": "open",
            "wsh": RECORDS[n - 1][2], "subject": RECORDS[n - 1][3], "ref_fetch_id": None}  # as scoring copies them


def findings(fetch_ids: dict[int, str], ref_fetch_id: str | None = None) -> list[dict]:
    f = lambda *a: _finding(*a, fetch_ids)  # noqa: E731
    late = f("2026Q3", "d_scj", 1, "cf", "timeliness", "FBRQ", "2026-08-01", "决定后超过7个工作日才公示")
    return [
        f("2026Q3", "d_scj", 1, "cf", "accuracy", "CF_XDR_ZJHM", RAW_ID, "证件号码校验位错误"),
        {**late, "ref_fetch_id": ref_fetch_id},
        f("2026Q3", "d_scj", 2, "cf", "completeness", "CF_XDR_SHXYM", None, f"缺少统一社会信用代码（联系电话 {RAW_PHONE}）"),
        f("2026Q3", "d_scj", 3, "xk", "accuracy", "XK_XDR_LB", "公司", "行政相对人类别不在规定取值内"),
        f("2026Q2", "d_scj", 3, "xk", "timeliness", "FBRQ", "2026-06-30", "决定后超过7个工作日才公示"),
        f("2026Q3", "d_jtj", 4, "cf", "completeness", "CF_YJ", None, "缺少处罚依据"),
    ]


def unverified_rows(fetch_ids: dict[int, str]) -> list[dict]:
    """The 未能核验 rows of 2026Q3, as scoring writes them (record rows carry the record's page and 文书号)."""
    rows = []
    for dept, n, rule, reason in UNVERIFIED:
        kind = RECORDS[n - 1][0] if n else "cf"
        rows.append({"period": "2026Q3", "dept_id": dept, "kind": kind, "record_key": f"rk{n}" if n else None,
                     "channel": "site", "rule_id": rule, "reason": reason,
                     "url": f"http://127.0.0.1:8765/{dept}/{kind}/{n}.html" if n else f"http://127.0.0.1:8765/{dept}/",
                     "fetch_id": fetch_ids[n] if n else None, "wsh": RECORDS[n - 1][2] if n else None})
    return rows


def build_city(paths: Paths, extra=None) -> None:
    """Write the small city into a working database and publish it; ``extra(con)`` may add rows first."""
    con = store.connect(paths)
    try:
        store.insert_rows(con, "departments", [
            {"dept_id": d, "name": n, "county": c, "website": f"http://127.0.0.1:8765/{d}/"}
            for d, n, c in DEPARTMENTS])
        store.insert_rows(con, "sources", [
            {"source_id": f"{d}-{k}", "dept_id": d, "channel": "site", "kind": k,
             "start_url": f"http://127.0.0.1:8765/{d}/{k}/", "profile": "{}"}
            for d, _, _ in DEPARTMENTS for k in ("xk", "cf")])
        earlier = _archive_list_page(paths)
        fetches, cf, xk = _archive(paths)
        store.insert_rows(con, "fetches", [earlier, *fetches])
        store.upsert_records(con, "cf", cf, datetime(2026, 10, 7, 8, 0))
        store.upsert_records(con, "xk", xk, datetime(2026, 10, 7, 8, 0))
        fetch_ids = {i: f["fetch_id"] for i, f in enumerate(fetches, start=1)}
        store.insert_rows(con, "findings", findings(fetch_ids, earlier["fetch_id"]))
        store.insert_rows(con, "unverified", unverified_rows(fetch_ids))
        county_of = {d: c for d, _, c in DEPARTMENTS}
        store.insert_rows(con, "scores", [
            {"period": p, "dept_id": d, "county": county_of[d], "n_records": v[0], "timeliness": v[1],
             "completeness": v[2], "accuracy": v[3], "total": v[4], "grade": v[5], "rank": v[6],
             "county_rank": v[7], "standing": v[8], "n_unverified": v[9], "scheme_version": "default-1",
             "computed_at": COMPUTED_AT}
            for p, by_dept in SCORES.items() for d, v in by_dept.items()])
        store.insert_rows(con, "county_scores", [
            {"period": "2026Q3", "county": "市本级", "n_departments": 2, "n_records": 160, "timeliness": 90.0,
             "completeness": 85.0, "accuracy": 83.8, "total": 86.2, "grade": "优秀", "rank": 1,
             "scheme_version": "default-1", "computed_at": COMPUTED_AT},
            {"period": "2026Q3", "county": "潞州区", "n_departments": 2, "n_records": 42, "timeliness": 63.3,
             "completeness": 65.8, "accuracy": 62.5, "total": 63.9, "grade": "合格", "rank": 2,
             "scheme_version": "default-1", "computed_at": COMPUTED_AT},
        ])
        if extra is not None:
            extra(con)
        store.publish(con, paths)
    finally:
        con.close()


USERS = [  # username, password, role, dept
    ("boss", "boss-pw", "leader", None),
    ("judge", "judge-pw", "assessor", None),
    ("scj", "scj-pw", "department", "d_scj"),
    ("jtj", "jtj-pw", "department", "d_jtj"),
]


@contextmanager
def city_for_app(folder: Path):
    """The small city built under ``folder``, with ``SGS_DB``/``SGS_USERS`` pointing at it for AppTest."""
    paths = resolve_paths(folder / "sgs.duckdb")
    build_city(paths)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SGS_DB", str(paths.db))
        mp.setenv("SGS_USERS", str(write_test_users(paths.root / "users.toml")))
        mp.delenv("SGS_OPEN_DEMO", raising=False)
        yield paths


def write_test_users(path: Path, *, mask_person_names: bool = False) -> Path:
    write_users(path, [{"username": u, "name": f"{u} 用户", "role": r, "dept_id": d, "password": p}
                       for u, p, r, d in USERS], mask_person_names=mask_person_names)
    return path


def password(username: str) -> str:
    return next(p for u, p, _, _ in USERS if u == username)


# --- AppTest helpers ---------------------------------------------------------------------------

def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def login(at: AppTest, username: str, pw: str | None = None) -> AppTest:
    """Fill the login form and submit it, as a person would."""
    run(at)
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(pw if pw is not None else password(username))
    at.button[0].click()
    return run(at)


def shows_data(at: AppTest) -> bool:
    """Whether the page shows any table or figure besides the login page's hidden preload (which holds none:
    ``views._common.preload``)."""
    try:
        preload = at.get_by_key("sgs_preload")
        hidden = len(preload.dataframe), len(preload.metric)
    except KeyError:  # not the login page
        hidden = 0, 0
    return len(at.dataframe) > hidden[0] or len(at.metric) > hidden[1]


def table(at: AppTest, key: str) -> pd.DataFrame:
    """The one dataframe inside the container the page names ``key``."""
    tables = at.get_by_key(key).dataframe
    assert len(tables) == 1
    return tables[0].value


def snapshot_frame(paths: Paths, sql: str, params: list | None = None) -> pd.DataFrame:
    """Expected values straight from the published snapshot (read-only, as the app reads it)."""
    con = store.open_snapshot(paths)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def republish(paths: Paths, sql: str) -> None:
    """Change the working store with ``sql`` and publish it: the dashboard's next rerun must show the change."""
    con = store.connect(paths)
    try:
        con.execute(sql)
        store.publish(con, paths)
    finally:
        con.close()
