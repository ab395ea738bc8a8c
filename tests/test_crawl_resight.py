"""Re-sighting unchanged pages (``crawlers.resight``): a daily crawl whose pages answer 304 moves the stored
records' last_seen with one UPDATE instead of reading every page again — and leaves exactly the database
reading them again leaves. The whole demo city (JSON columns, HTML lists with detail pages, attachments, the
portal, the broken pages) is crawled three times each way into two databases, the third time after a detail
page and a JSON record changed; every row of every table is compared."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import duckdb
import pytest

from core.cityconfig import load_city
from core.settings import Paths
from core.store import ROW_HASH
from crawlers import run_crawl
from democity import DemoServer, build
from democity.config import write_city

IDS = {"fetch_id", "revisit_of", "ref_fetch_id"}  # a uuid per fetch: compared as the fetch it names
PLACES = {"warc_file", "warc_offset", "warc_length"}  # where bytes sit in an archive named by the crawl's uuid


def _table_rows(con: duckdb.DuckDBPyConnection) -> dict[str, Counter]:
    """Every table's rows with the random ids replaced by what they name: a crawl by its order, a fetch
    by (crawl, URL, form, method) — so two crawls of the same pages compare equal row for row."""
    crawls = {cid: i for i, (cid,) in enumerate(con.execute("SELECT crawl_id FROM crawls ORDER BY started_at").fetchall())}
    fetches = {fid: (crawls[cid], url, form, method) for fid, cid, url, form, method in con.execute(
        "SELECT fetch_id, crawl_id, url, form, method FROM fetches").fetchall()}
    out = {}
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                                ).fetchall():
        cols = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND "
                                          "database_name = current_database() ORDER BY column_index", [table]).fetchall()]
        # a record's row_hash covers its fetch_id (a uuid): compared as "the hash of the row as stored"
        select = ", ".join(f"{c} = hash({', '.join(k for k in cols if k not in ('last_seen', ROW_HASH))})"
                           if c == ROW_HASH else f'"{c}"' for c in cols)
        rows = Counter()
        for row in con.execute(f'SELECT {select} FROM "{table}"').fetchall():
            rows[tuple(fetches.get(v, v) if c in IDS else crawls.get(v, v) if c == "crawl_id"
                       else None if c in PLACES or c == "event_id" else v
                       for c, v in zip(cols, row) if c != "applied_at")] += 1
        out[table] = rows
    return out


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The demo city crawled three times into two databases, reading every page (old) and re-sighting
    unchanged ones (new); before the third crawl a detail page's field and a JSON column's record change."""
    tmp = tmp_path_factory.mktemp("resight")
    city = build(2026)
    summaries: dict[bool, list] = {False: [], True: []}
    paths = {mode: Paths(tmp / ("new" if mode else "old") / "sgs.duckdb") for mode in (False, True)}
    with DemoServer(city) as server:
        config = load_city(write_city(city, server.base_url, tmp))
        changed = {}
        for day in (1, 2, 3):
            if day == 3:  # a detail page (its list unchanged) and a JSON page change
                for dept in ("xs-yj", "dc-wj"):
                    rec = next(r for r in city.records if r.dept_id == dept and r.kind == "xk" and r.site.get("XK_XKJG"))
                    rec.site["XK_XKJG"] += "变更"  # as the site prints it
                    changed[dept] = rec.wsh
            for mode in (False, True):
                summaries[mode].append(run_crawl(config, paths[mode], quiet=True, resight=mode,
                                                 clock=lambda day=day: datetime(2026, 11, day, 8)))
    return summaries, paths, changed


def test_resighting_leaves_the_database_reading_leaves(crawled):
    summaries, paths, _ = crawled
    old, new = (duckdb.connect(str(paths[m].db), read_only=True) for m in (False, True))
    try:
        a, b = _table_rows(old), _table_rows(new)
    finally:
        old.close()
        new.close()
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], table
    assert sum(a["xk_records"].values()) > 300 and sum(a["fetches"].values()) > 3 * 600
    for s_old, s_new in zip(summaries[False], summaries[True]):  # the same summary, line for line
        assert (s_old.pages, s_old.records, sorted(s_old.errors), s_old.unchanged) == \
            (s_new.pages, s_new.records, sorted(s_new.errors), s_new.unchanged)
        assert s_old.resighted == 0


def test_unchanged_pages_are_resighted_and_changed_ones_read(crawled):
    """The second crawl re-sights most unchanged pages (the portal's and pages yielding no record are read);
    the third reads the changed detail page and JSON page, and stores their new values."""
    summaries, paths, changed = crawled
    first, second, third = summaries[True]
    assert first.resighted == 0 and second.unchanged > 600
    assert second.resighted > 0.8 * second.unchanged
    assert third.resighted < second.resighted  # the changed JSON page's column read, and the changed detail
    con = duckdb.connect(str(paths[True].db), read_only=True)
    try:
        for dept, wsh in changed.items():
            value, seen = con.execute("SELECT XK_XKJG, last_seen FROM xk_records WHERE channel = 'site' AND "
                                      "dept_id = ? AND XK_WSH = ?", [dept, wsh]).fetchone()
            assert value.endswith("变更") and seen == datetime(2026, 11, 3, 8), dept
    finally:
        con.close()


def test_a_changed_profile_reads_its_pages_again(tmp_path):
    """A source whose profile changed since its pages were read (here its politeness: any key of it) reads
    them again: the counts its pages yielded are forgotten before the new profile is saved."""
    city = build(2026)
    with DemoServer(city) as server:
        config = load_city(write_city(city, server.base_url, tmp_path))
        only = replace(config, sources=tuple(s for s in config.sources if s.id == "dc-wj-xk"))
        paths = Paths(tmp_path / "sgs.duckdb")
        run_crawl(only, paths, quiet=True)
        assert run_crawl(only, paths, quiet=True).resighted > 0
        changed = replace(only, sources=tuple(replace(s, concurrency=s.concurrency + 1) for s in only.sources))
        again = run_crawl(changed, paths, quiet=True)
        assert again.unchanged > 0 and again.resighted == 0
        assert run_crawl(changed, paths, quiet=True).resighted == again.unchanged
