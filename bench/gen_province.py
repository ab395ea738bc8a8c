"""Generate a province-sized 双公示 dataset as Parquet and bulk-load it into a sgs working database.

    .venv/bin/python bench/gen_province.py --out bench/data [--records 10000000] [--departments 5000]

Writes ``departments.parquet`` and ``{xk,cf}_records.parquet`` (site records of one quarter, 2026Q3, a few
published twice, plus their portal copies — attributed to the department, as the crawler does — for the
pushed ones), then creates ``sgs.duckdb`` beside them with the real migrations
(``core.store.connect``) and loads the Parquet files with one INSERT … SELECT each (no Python per row).

Rows are made in DuckDB SQL from ``range(n)``, with a seeded hash deciding every value, so the same arguments
give the same dataset. Defect rates (``RATES``, per 10,000 records) follow what assessments report: late
publication is common, code and date errors rare. Valid credit codes and ID numbers come from pools computed
with ``core.codes`` (the same check-character code the rules use); broken ones change the check character.
After loading, ``CONTEXT_SQL`` derives what the rules beyond one record read (sources and a crawl, 事项目录,
办件台账, availability events), so every rule runs at scale.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import codes, store  # noqa: E402
from core.settings import Paths  # noqa: E402

RATES = {  # per 10,000 site records
    "natural_person": 1000,  # penalties on individuals (ID numbers, kept off the portal)
    "not_pushed": 1500,  # site records never pushed to the portal
    "required_missing": 300,
    "fine_missing": 100,  # 罚款 without 罚款金额 (conditional)
    "code_invalid": 100,
    "code_placeholder": 50,
    "id_invalid": 500,  # of natural persons
    "enum_invalid": 200,
    "date_order": 50,
    "date_invalid": 30,
    "agency_other": 50,  # a valid agency code that is not the department's own
    "fine_in_yuan": 50,  # 罚款金额 typed in 元 (5000 instead of 0.5 万元)
    "wsh_format": 20,  # 文书号 without 〔year〕
    "portal_differs": 100,  # of pushed records: the portal copy shows another 有效期
    "published_twice": 10,  # the same decision published again as a second page (duplicate_record)
}
MAX_DELAY_DAYS = 20  # publication 0–19 calendar days after the decision: about half are late
POOL = 50_000  # valid credit codes for subjects
COUNTIES = 120
SEED = 2026


def _uscc(n: int, head: str) -> str:
    org8 = f"{n:08d}"
    body = head + org8 + codes.org_check_char(org8)
    return body + codes.uscc_check_char(body)


def _ric(n: int) -> str:
    first17 = f"140402{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + codes.ric_check_char(first17)


def pools(departments: int) -> dict[str, pa.Table]:
    """Departments with their own valid codes, and pools of valid subject codes and ID numbers."""
    depts = [{"dept_id": f"d{i:05d}", "name": f"第{i}部门", "county": f"县区{i % COUNTIES:03d}",
              "credit_code": _uscc(i, "11140400")} for i in range(departments)]
    return {
        "departments": pa.Table.from_pylist(depts),
        "uscc_pool": pa.table({"n": range(POOL), "code": [_uscc(i, "91140400") for i in range(POOL)]}),
        "ric_pool": pa.table({"n": range(POOL), "code": [_ric(i) for i in range(POOL)]}),
    }


def _hit(name: str, salt: int) -> str:
    """SQL: true for RATES[name] of every 10,000 records, chosen by a salted hash of the row number."""
    return f"(hash(i, {SEED + salt}) % 10000 < {RATES[name]})"


def _common(kind: str, n: int, departments: int) -> str:
    """The FROM part: row numbers with department, subject code, ID number and dates decided by hashes."""
    return f"""
    FROM (SELECT i, hash(i, {SEED}) % {departments} AS d, hash(i, {SEED + 1}) % {POOL} AS u,
                 hash(i, {SEED + 2}) % {POOL} AS p,
                 DATE '2026-07-01' + CAST(hash(i, {SEED + 3}) % 92 AS INTEGER) AS jd,
                 CAST(hash(i, {SEED + 4}) % {MAX_DELAY_DAYS} AS INTEGER) AS delay
          FROM range({n}) t(i)) r
    JOIN departments dep ON dep.dept_id = printf('d%05d', r.d)
    JOIN uscc_pool up ON up.n = r.u
    JOIN ric_pool rp ON rp.n = r.p"""


def _broken(expr: str) -> str:
    """SQL: the code with its check character changed (so the check fails)."""
    return f"substr({expr}, 1, 17) || CASE WHEN substr({expr}, 18, 1) = '0' THEN '1' ELSE '0' END"


def _subject(prefix: str) -> str:
    """Subject columns shared by both kinds (natural persons, codes, placeholders, enum slips)."""
    natural = _hit("natural_person", 10)
    return f"""
        CASE WHEN {natural} THEN '张某' || i ELSE '某某有限公司' || i END AS {prefix}_XDR_MC,
        CASE WHEN {natural} THEN '自然人' WHEN {_hit('enum_invalid', 11)} THEN '企业法人'
             ELSE '法人及非法人组织' END AS {prefix}_XDR_LB,
        CASE WHEN {natural} THEN NULL WHEN {_hit('code_placeholder', 12)} THEN '00000000000000000X'
             WHEN {_hit('code_invalid', 13)} THEN {_broken('up.code')} ELSE up.code END AS {prefix}_XDR_SHXYM,
        CASE WHEN {natural} THEN NULL ELSE '王某' END AS {prefix}_FRDB,
        CASE WHEN {natural} THEN '身份证' END AS {prefix}_XDR_ZJLX,
        CASE WHEN NOT {natural} THEN NULL WHEN {_hit('id_invalid', 14)} THEN {_broken('rp.code')}
             ELSE rp.code END AS {prefix}_XDR_ZJHM"""


def _agency(kind: str) -> str:
    """SQL: the deciding agency's code — the department's own, now and then a valid code of someone else."""
    return f"CASE WHEN {_hit('agency_other', 50 if kind == 'cf' else 51)} THEN up.code ELSE dep.credit_code END"


# the field a portal copy may show differently (portal_inconsistent), per kind
DIFFERING = {"cf": "CF_YXQ", "xk": "XK_YXQZI"}


def _meta(kind: str) -> str:
    fb = f"CASE WHEN {_hit('date_order', 20)} THEN r.jd - 1 ELSE r.jd + r.delay END"
    return f"""
        md5('site|{kind}|' || i) AS record_key, dep.dept_id, dep.dept_id || '-{kind}' AS source_id,
        'site' AS channel, 'http://' || dep.dept_id || '.gov.cn/sgs/{kind}/' || i || '.html' AS url,
        'f-{kind}-' || i AS fetch_id, '2019' AS std_version, CAST({fb} AS VARCHAR) AS FBRQ,
        CAST(greatest({fb}, r.jd) AS TIMESTAMP) + INTERVAL 10 HOUR AS first_seen,
        TIMESTAMP '2026-10-20 10:00:00' AS last_seen,
        {_hit('not_pushed', 21)} OR {_hit('natural_person', 10)} AS _not_pushed"""


def cf_sql(n: int, departments: int) -> str:
    fine = f"hash(i, {SEED + 30}) % 10 < 7"
    return f"""SELECT {_meta('cf')}, {_subject('CF')},
        dep.name || CASE WHEN {_hit('wsh_format', 35)} THEN '罚2026-' ELSE '罚〔2026〕' END || i || '号' AS CF_WSH,
        '违反有关规定' AS CF_WFXW,
        CASE WHEN {_hit('required_missing', 31)} THEN NULL ELSE '经查存在违法行为' END AS CF_SY,
        '《中华人民共和国行政处罚法》' AS CF_YJ, CASE WHEN {fine} THEN '罚款' ELSE '警告' END AS CF_CFLB,
        CASE WHEN {fine} THEN '罚款0.5万元' ELSE '警告' END AS CF_NR,
        CASE WHEN {fine} AND {_hit('fine_in_yuan', 34)} THEN '5000'
             WHEN {fine} AND NOT {_hit('fine_missing', 32)} THEN '0.5' END AS CF_NR_FK,
        CAST(r.jd AS VARCHAR) AS CF_JDRQ,
        CASE WHEN {_hit('date_invalid', 33)} THEN '2026-02-30' ELSE CAST(r.jd + 365 AS VARCHAR) END AS CF_YXQ,
        dep.name AS CF_CFJG, {_agency('cf')} AS CF_CFJGDM, dep.name AS CF_SJLY, dep.credit_code AS CF_SJLYDM
        {_common('cf', n, departments)}"""


def xk_sql(n: int, departments: int) -> str:
    swapped = _hit("date_order", 40)
    return f"""SELECT {_meta('xk')}, {_subject('XK')},
        '行政许可决定书' AS XK_XKWS, dep.name || '许〔2026〕' || i || '号' AS XK_WSH,
        CASE WHEN {_hit('enum_invalid', 41)} THEN '一般' ELSE '普通' END AS XK_XKLB,
        CASE WHEN {_hit('required_missing', 42)} THEN NULL ELSE '准予许可' END AS XK_NR,
        CAST(r.jd AS VARCHAR) AS XK_JDRQ,
        CASE WHEN {swapped} THEN CAST(r.jd + 10 AS VARCHAR) ELSE CAST(r.jd AS VARCHAR) END AS XK_YXQZ,
        CASE WHEN {_hit('date_invalid', 43)} THEN '2031-02-30' ELSE CAST(r.jd + 1825 AS VARCHAR) END AS XK_YXQZI,
        dep.name AS XK_XKJG, {_agency('xk')} AS XK_XKJGDM, '1' AS XK_ZT, dep.name AS XK_LYDW,
        dep.credit_code AS XK_LYDWDM
        {_common('xk', n, departments)}"""


def generate(out: Path, records: int, departments: int) -> None:
    """Write the Parquet files: departments, and per kind the site records plus portal twins."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for name, table in pools(departments).items():
        con.register(name, table)
    con.execute(f"COPY departments TO '{out / 'departments.parquet'}' (FORMAT parquet)")
    n_xk = records * 2 // 5  # 40 % licences, 60 % penalties
    for kind, sql in (("xk", xk_sql(n_xk, departments)), ("cf", cf_sql(records - n_xk, departments))):
        t = time.perf_counter()
        con.execute(f"""COPY (WITH site AS ({sql})
                              SELECT * EXCLUDE (_not_pushed) FROM site
                              UNION ALL BY NAME
                              SELECT * EXCLUDE (_not_pushed, record_key, url),
                                     md5('again|' || record_key) AS record_key, url || '?again' AS url
                              FROM site WHERE hash(record_key, {SEED}) % 10000 < {RATES['published_twice']}
                              UNION ALL BY NAME
                              SELECT * EXCLUDE (_not_pushed, record_key, source_id, channel, url)
                                       REPLACE (CASE WHEN hash(record_key) % 10000 < {RATES['portal_differs']}
                                                THEN '2099-12-31' ELSE {DIFFERING[kind]} END AS {DIFFERING[kind]}),
                                     md5('portal|' || record_key) AS record_key,
                                     'portal-{kind}' AS source_id, 'portal' AS channel,
                                     'http://credit.gov.cn/api/{kind}?id=' || record_key AS url
                              FROM site WHERE NOT _not_pushed)
                        TO '{out / f'{kind}_records.parquet'}' (FORMAT parquet, COMPRESSION zstd)""")
        print(f"  {kind}_records.parquet in {time.perf_counter() - t:.1f} s", flush=True)
    con.close()


# What the rules beyond one record read, derived in SQL from the loaded records: every department's two
# site columns (sources, one crawl, the column page each as evidence) and the portal's; a 事项目录 per
# department and kind (2 % list items no record matches: catalogue_unmatched; 1 % have none:
# catalogue_missing); a 办件台账 of 1 % of the penalties (1 in 10 of them revoked: revoked_online) plus
# decisions never published (ledger_unpublished); dead column links for 1 % of the columns.
CONTEXT_SQL = (
    """INSERT INTO sources SELECT dept_id || '-' || kind, dept_id, 'site', kind,
           'http://' || dept_id || '.gov.cn/sgs/' || kind || '/', '{}'
       FROM departments, (VALUES ('xk'), ('cf')) k(kind)
       UNION ALL SELECT 'portal-' || kind, NULL, 'portal', kind, 'http://credit.gov.cn/api/' || kind, '{}'
       FROM (VALUES ('xk'), ('cf')) k(kind)""",
    "INSERT INTO crawls BY NAME SELECT 'c-2026-10-20' AS crawl_id, TIMESTAMP '2026-10-20 08:00:00' AS started_at, "
    "TIMESTAMP '2026-10-20 12:00:00' AS finished_at, 'done' AS status",
    """INSERT INTO fetches BY NAME SELECT 'col-' || source_id AS fetch_id, 'c-2026-10-20' AS crawl_id, source_id,
           start_url AS url, TIMESTAMP '2026-10-20 09:00:00' AS fetched_at, 200 AS status,
           'text/html' AS content_type, 'bench.warc.gz' AS warc_file, 0 AS warc_offset, 0 AS warc_length
       FROM sources""",
    """INSERT INTO catalogue_items (dept_id, item_code, kind, name, basis) SELECT dept_id, kind || '-001', kind,
           CASE WHEN hash(dept_id, kind) % 50 = 0 THEN '未列明事项'
                WHEN kind = 'cf' THEN '违反有关规定' ELSE '行政许可决定书' END, NULL
       FROM departments, (VALUES ('xk'), ('cf')) k(kind) WHERE hash(dept_id, kind, 1) % 100 <> 0""",
    """INSERT INTO ledger_files SELECT md5(dept_id || '|cf'), dept_id, 'cf', dept_id || '-台账.xlsx', md5(dept_id),
           0, TIMESTAMP '2026-10-21 00:00:00' FROM departments""",
    f"""INSERT INTO ledger SELECT md5(dept_id || '|cf'),
           CAST(row_number() OVER (PARTITION BY dept_id ORDER BY wsh) AS INTEGER), dept_id, 'cf', wsh, xdr_mc, jdrq,
           NULL, '普通程序', CASE WHEN n % 10 = 0 THEN '撤销' ELSE '有效' END,
           CASE WHEN n % 10 = 0 THEN jdrq + 5 END
       FROM (SELECT dept_id, trim(CF_WSH) AS wsh, CF_XDR_MC AS xdr_mc, CAST(CF_JDRQ AS DATE) AS jdrq,
                    hash(record_key) AS n
             FROM cf_records WHERE channel = 'site' AND hash(record_key, {SEED}) % 100 = 0
             UNION ALL
             SELECT dept_id, '未公示〔2026〕' || dept_id || '号', '某公司', DATE '2026-08-03', 1 FROM departments
             WHERE hash(dept_id, {SEED}) % 20 = 0)""",
    """INSERT INTO availability SELECT md5('a|' || source_id), 'c-2026-10-20', source_id, dept_id, 'site', kind,
           'dead_link', start_url || 'list_2.html', 'col-' || source_id, 'HTTP 404',
           TIMESTAMP '2026-10-20 09:30:00'
       FROM sources WHERE channel = 'site' AND hash(source_id, 7) % 100 = 0""",
)


def load(out: Path) -> Path:
    """Create the working database beside the Parquet files and bulk-load them; returns its path."""
    paths = Paths(out / "sgs.duckdb")
    for p in (paths.db, paths.db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    con = store.connect(paths)
    try:
        con.execute(f"INSERT INTO departments BY NAME SELECT * FROM read_parquet('{out / 'departments.parquet'}')")
        for kind in ("xk", "cf"):
            t = time.perf_counter()
            con.execute(f"INSERT INTO {kind}_records BY NAME SELECT * FROM read_parquet('{out / f'{kind}_records.parquet'}')")
            n = con.execute(f"SELECT count(*) FROM {kind}_records").fetchall()[0][0]
            print(f"  loaded {n:,} {kind} rows in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        for sql in CONTEXT_SQL:
            con.execute(sql)
        print(f"  sources, crawl, catalogue, ledger, availability in {time.perf_counter() - t:.1f} s", flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return paths.db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--records", type=int, default=10_000_000, help="site records (both kinds)")
    parser.add_argument("--departments", type=int, default=5_000)
    parser.add_argument("--skip-generate", action="store_true", help="only (re)load existing Parquet files")
    args = parser.parse_args()
    t = time.perf_counter()
    if not args.skip_generate:
        generate(args.out, args.records, args.departments)
        print(f"generated in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    db = load(args.out)
    print(f"loaded into {db} in {time.perf_counter() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
