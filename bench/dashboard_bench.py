"""Dashboard benchmark: every page on a province-sized synthetic snapshot, timed through Streamlit's AppTest.

Run by hand (not a test):  ``.venv/bin/python bench/dashboard_bench.py --records 10000000 --dir /tmp/sgs-bench``

It builds a working database with the store's own migrations and fills it with set-based SQL (no Python
loops over rows): 2,000 departments in 100 counties, ``--records`` licensing and penalty records over four
quarters with one archived fetch each, ~14 % of them with findings in the two latest quarters and their
months, scores, county scores, deductions, catalogues, sources, source runs and availability events. It
publishes the snapshot and then renders each page for the role that uses it, cold (first run after a
publish: caches empty) and warm (the next interaction), reporting the median of ``--repeat`` runs.
Results go in docs/bench-dashboard.md with the machine they were measured on.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N_DEPTS = 2000
N_COUNTIES = 100
QUARTERS = ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
SCORED = ["2026Q2", "2026-04", "2026-05", "2026-06", "2026Q3", "2026-07", "2026-08", "2026-09"]
RULES = [("late_publication", "timeliness", "FBRQ"), ("required_missing", "completeness", "{K}_XKWS"),
         ("credit_code_invalid", "accuracy", "{K}_XDR_SHXYM"), ("date_invalid", "accuracy", "{K}_JDRQ"),
         ("enum_invalid", "accuracy", "{K}_XDR_LB"), ("portal_missing", "completeness", "{K}_WSH")]


def build(root: Path, n_records: int) -> None:
    """Fill a fresh working database under ``root`` and publish it."""
    from core import store
    from core.periods import parse_period
    from core.settings import resolve_paths

    paths = resolve_paths(root / "sgs.duckdb")
    con = store.connect(paths)
    t0 = time.perf_counter()
    step = lambda what: print(f"  {time.perf_counter() - t0:7.1f}s  {what}", flush=True)  # noqa: E731
    con.execute(f"""
        INSERT INTO departments (dept_id, name, county, credit_code, website, column_url)
        SELECT 'd' || lpad(i::VARCHAR, 4, '0'),
               CASE WHEN i % {N_COUNTIES} = 0 THEN '省' ELSE '第' || (i % {N_COUNTIES}) || '县' END
                   || (['市场监督管理局', '生态环境局', '交通运输局', '住房和城乡建设局', '卫生健康委员会'])[i % 5 + 1]
                   || '（' || i || '）',
               CASE WHEN i % {N_COUNTIES} = 0 THEN '市本级' ELSE '第' || (i % {N_COUNTIES}) || '县' END,
               '11990100' || lpad(i::VARCHAR, 9, '0') || 'X', 'http://d' || i || '.example.gov.cn/', NULL
        FROM range({N_DEPTS}) t(i)""")
    con.execute(f"""
        INSERT INTO sources (source_id, dept_id, channel, kind, start_url, profile)
        SELECT dept_id || '-' || k, dept_id, 'site', k, website || k || '/', '{{}}'
        FROM departments, (VALUES ('xk'), ('cf')) v(k)""")
    con.execute(f"""
        INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) SELECT dept_id, dept_id || '-' || k || '-' || j, k,
               (CASE k WHEN 'xk' THEN '许可事项' ELSE '处罚事项' END) || j, '《某某条例》第' || j || '条'
        FROM departments, (VALUES ('xk'), ('cf')) v(k), range(4) r(j)""")
    step("departments, sources, catalogues")
    n_xk = n_records * 3 // 5
    for kind, lo, hi in (("xk", 0, n_xk), ("cf", n_xk, n_records)):
        k = kind.upper()
        extra = (f"'准予行政许可决定书' AS {k}_XKWS, '准予许可事项' || (i % 4) || '申请' AS {k}_NR,"
                 if kind == "xk" else
                 f"'处罚事项' || (i % 4) AS {k}_WFXW, '《某某条例》第' || (i % 4) || '条' AS {k}_YJ,")
        con.execute(f"""
            INSERT INTO {kind}_records (record_key, dept_id, source_id, channel, url, fetch_id, std_version, FBRQ,
                                        first_seen, last_seen, {k}_WSH, {k}_XDR_MC, {k}_XDR_LB, {k}_XDR_SHXYM,
                                        {k}_XDR_ZJHM, {k}_JDRQ, {'XK_XKWS, XK_NR' if kind == 'xk' else 'CF_WFXW, CF_YJ'})
            SELECT md5('r' || i) AS record_key, 'd' || lpad((i % {N_DEPTS})::VARCHAR, 4, '0') AS dept_id,
                   'd' || lpad((i % {N_DEPTS})::VARCHAR, 4, '0') || '-{kind}', 'site',
                   'http://d' || (i % {N_DEPTS}) || '.example.gov.cn/{kind}/' || i || '.html', 'f' || i, '2019',
                   strftime(DATE '2025-10-01' + CAST(i % 365 AS INTEGER) + 3, '%Y-%m-%d'),
                   TIMESTAMP '2026-10-01', TIMESTAMP '2026-10-01',
                   '某字〔2026〕' || i || '号',
                   CASE WHEN i % 10 = 0 THEN '张' || (i % 97) || '某' ELSE '某某' || (i % 50000) || '有限公司' END,
                   CASE WHEN i % 10 = 0 THEN '自然人' ELSE '法人及非法人组织' END,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE '91990100' || lpad((i % 50000)::VARCHAR, 9, '0') || 'X' END,
                   CASE WHEN i % 10 = 0 THEN '140402199003151234' END,
                   strftime(DATE '2025-10-01' + CAST(i % 365 AS INTEGER), '%Y-%m-%d'), {extra.rsplit(',', 1)[0]}
            FROM range({lo}, {hi}) t(i)""")
        step(f"{hi - lo:,} {kind} records")
    con.execute(f"""
        INSERT INTO fetches (fetch_id, crawl_id, source_id, url, fetched_at, status, content_type, warc_file,
                             warc_offset, warc_length)
        SELECT 'f' || i, 'crawl-1', 'd' || lpad((i % {N_DEPTS})::VARCHAR, 4, '0') || '-' ||
               CASE WHEN i < {n_xk} THEN 'xk' ELSE 'cf' END,
               'http://d' || (i % {N_DEPTS}) || '.example.gov.cn/' || i || '.html',
               TIMESTAMP '2026-10-01' + to_seconds(i % 86400), 200, 'text/html; charset=utf-8',
               'crawl-1.warc.gz', i * 3000, 3000
        FROM range({n_records}) t(i)""")
    step(f"{n_records:,} fetches")
    for period in SCORED:
        p = parse_period(period)
        for kind in ("xk", "cf"):
            k = kind.upper()
            rules = " ".join(f"WHEN {j} THEN '{r}'" for j, (r, _, _) in enumerate(RULES))
            inds = " ".join(f"WHEN {j} THEN '{i}'" for j, (_, i, _) in enumerate(RULES))
            fields = " ".join(f"WHEN {j} THEN '{f.replace('{K}', k)}'" for j, (_, _, f) in enumerate(RULES))
            con.execute(f"""
                INSERT INTO findings (finding_id, period, dept_id, kind, record_key, channel, rule_id, indicator,
                                      severity, field, value, message, url, fetch_id, status, wsh, subject)
                SELECT md5('{period}' || record_key), '{period}', dept_id, '{kind}', record_key, 'site',
                       CASE h {rules} END, CASE h {inds} END, 'high', CASE h {fields} END, {k}_JDRQ,
                       '合成问题 ' || (CASE h {rules} END) || '：' || {k}_WSH, url, fetch_id, 'open',
                       {k}_WSH, {k}_XDR_MC
                FROM (SELECT *, hash(record_key) % {len(RULES)} AS h FROM {kind}_records
                      WHERE {k}_JDRQ BETWEEN '{p.start}' AND '{p.end}' AND hash(record_key || 'f') % 7 = 0)""")
        con.execute(f"""
            INSERT INTO scores (period, dept_id, county, n_records, timeliness, completeness, accuracy, compliance,
                                total, grade, rank, county_rank, scheme_version, computed_at)
            WITH s AS (
                SELECT dept_id, county, 1000 + hash(dept_id || '{period}') % 500 AS n,
                       60 + (hash(dept_id || '{period}t') % 400) / 10.0 AS t,
                       60 + (hash(dept_id || '{period}c') % 400) / 10.0 AS c,
                       60 + (hash(dept_id || '{period}a') % 400) / 10.0 AS a
                FROM departments)
            SELECT '{period}', dept_id, county, n, t, c, a, 100.0, round(0.4 * t + 0.3 * c + 0.3 * a, 2) AS total,
                   CASE WHEN total >= 85 THEN '优秀' WHEN total >= 70 THEN '良好' WHEN total >= 60 THEN '合格'
                        ELSE '不合格' END,
                   rank() OVER (ORDER BY total DESC), rank() OVER (PARTITION BY county ORDER BY total DESC),
                   'bench', TIMESTAMP '2026-10-08 09:30'
            FROM s""")
        con.execute(f"""
            INSERT INTO county_scores (period, county, n_departments, n_records, timeliness, completeness, accuracy,
                                       compliance, total, grade, rank, scheme_version, computed_at)
            SELECT period, county, count(*), sum(n_records), avg(timeliness), avg(completeness), avg(accuracy),
                   100.0, avg(total), '良好', rank() OVER (ORDER BY avg(total) DESC), 'bench',
                   TIMESTAMP '2026-10-08 09:30'
            FROM scores WHERE period = '{period}' GROUP BY period, county""")
        con.execute(f"""
            INSERT INTO deductions SELECT '{period}', dept_id, indicator, rule_id, count(*), 1200,
                   round(count(*) / 12.0, 2), '合成扣分', 'bench'
            FROM findings WHERE period = '{period}' GROUP BY dept_id, indicator, rule_id""")
        step(f"{period}: findings, scores, deductions")
    con.execute("""
        INSERT INTO source_runs SELECT 'crawl-' || c, source_id, TIMESTAMP '2026-10-01' - to_days(c), NULL,
               100, 80, c % 3, CASE c % 3 WHEN 0 THEN 'ok' ELSE 'degraded' END, NULL
        FROM sources, range(5) r(c)""")
    con.execute("""
        INSERT INTO availability SELECT md5(source_id || c), 'crawl-' || c, source_id, dept_id, 'site', kind,
               'dead_link', start_url || 'x.html', NULL, 'HTTP 404', TIMESTAMP '2026-10-01' - to_days(c)
        FROM sources, range(2) r(c) WHERE hash(source_id) % 5 = 0""")
    step("source runs, availability")
    store.publish(con, paths)
    con.close()
    step("published")


def time_pages(root: Path, repeat: int) -> list[tuple[str, str, float, float]]:
    """Render each page for its role; (page, role, cold median s, warm median s)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.auth import write_users

    os.environ["SGS_DB"] = str(root / "sgs.duckdb")
    os.environ["SGS_USERS"] = str(root / "users.toml")
    write_users(root / "users.toml", [
        {"username": "leader", "name": "领导", "role": "leader", "password": "pw"},
        {"username": "assessor", "name": "评估", "role": "assessor", "password": "pw"},
        {"username": "dept", "name": "部门", "role": "department", "dept_id": "d0007", "password": "pw"}])
    cases = [
        ("总览", "leader", "overview", None),
        ("部门自查", "leader", "department", None),
        ("部门自查", "department", "department", None),
        ("问题清单 第1页", "assessor", "findings", None),
        ("问题清单 末页", "assessor", "findings", ("wb_page", "last")),
        ("问题清单 搜索文书号", "assessor", "findings", ("wb_search", "某字〔2026〕123457号")),
        ("问题清单 按部门+状态", "assessor", "findings", ("wb_dept", "d0042")),
        ("主体查询", "leader", "subjects", ("subject", "91990100000012345X")),
        ("事项目录", "leader", "catalogue", None),
        ("采集状态", "leader", "sources", None),
        ("访问日志", "leader", "access_log", None),
    ]
    results = []
    for label, role, page, widget in cases:
        cold, warm = [], []
        for _ in range(repeat):
            st.cache_data.clear()
            at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=600)
            at.run()
            at.text_input(key="login_user").input("dept" if role == "department" else role)
            at.text_input(key="login_password").input("pw")
            at.button[0].click()
            at.run()
            at.switch_page(f"dashboard/views/{page}.py")
            at.run()
            if widget:
                key, value = widget
                if key == "wb_page":
                    value = int(at.number_input(key=key).proto.max)
                    at.number_input(key=key).set_value(value)
                elif key == "wb_dept":
                    at.selectbox(key=key).set_value(value)
                    at.run()
                    at.selectbox(key="wb_status").set_value("open")
                else:
                    at.text_input(key=key).input(value)
                at.run()
            st.cache_data.clear()  # cold: as after a new publish
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
            assert not at.exception, [e.value for e in at.exception]
        results.append((label, role, statistics.median(cold), statistics.median(warm)))
        print(f"  {label:<24} {role:<10} cold {results[-1][2]:6.3f}s  warm {results[-1][3]:6.3f}s", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/sgs-bench"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="time the pages on an existing build")
    args = ap.parse_args()
    root = args.dir / f"r{args.records}"
    if not args.reuse:
        if (root / "sgs.duckdb").exists():
            import shutil

            shutil.rmtree(root)
        root.mkdir(parents=True)
        print(f"building {args.records:,} records in {root}")
        build(root, args.records)
    snap = next((root / "published").glob("sgs-*.duckdb"))
    print(f"snapshot {snap.stat().st_size / 2**30:.2f} GiB; timing pages (median of {args.repeat})")
    time_pages(root, args.repeat)


if __name__ == "__main__":
    main()
