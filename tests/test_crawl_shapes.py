"""The crawler on every page shape of the demo city, its availability problems and its revisits."""
from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from dataclasses import replace

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawlers import extract, run_crawl
from crawlers.archive import read_record
from democity import DemoServer, build, write_city
from democity.pages import Site
from democity.shapes import PAGINGS, shape_of
from core.cityconfig import load_city
from core.settings import Paths


def _db(demo_run):
    return duckdb.connect(str(demo_run.paths.db), read_only=True)


def test_demo_shows_every_shape(demo_server):
    city, _server = demo_server
    shapes = [shape_of(d) for d in city.departments]
    assert {s.paging for s in shapes} == set(PAGINGS)
    assert any(s.encoding == "gbk" for s in shapes) and any(s.labels == "pre2018" for s in shapes)
    assert any(s.detail == "text" for s in shapes) and any(s.title_list for s in shapes)
    assert {f for s in shapes for f in s.formats} == {"xlsx", "xls", "csv", "docx"}


def test_every_source_yields_exactly_its_records(demo_run):
    con = _db(demo_run)
    got = Counter(con.execute("""SELECT source_id, XK_WSH FROM xk_records WHERE channel = 'site' UNION ALL
                                 SELECT source_id, CF_WSH FROM cf_records WHERE channel = 'site'""").fetchall())
    con.close()
    want = Counter((f"{r['dept_id']}-{r['kind']}", r["wsh"]) for r in demo_run.manifest["records"])
    assert got == want


def test_availability_table_equals_ground_truth(demo_run):
    from democity.staged import FULL

    con = _db(demo_run)
    rows = con.execute("SELECT dept_id, source_id, problem, url, fetch_id, detail, crawl_id FROM availability"
                       ).fetchall()
    # every whole-city crawl of the staged season (democity.staged) sees every problem once
    full = {c for (c,) in con.execute("SELECT DISTINCT crawl_id FROM source_runs WHERE source_id = 'sj-hb-cf'"
                                       ).fetchall()}
    evidence = con.execute("SELECT count(*) FROM availability a JOIN fetches f USING (fetch_id)").fetchone()[0]
    con.close()
    truth = {(a["dept_id"], a["source_id"], a["problem"], a["url"]) for a in demo_run.manifest["availability"]}
    assert {r[:4] for r in rows} == truth and len(rows) == len(truth) * len(full) and len(full) == len(FULL)
    assert {a["problem"] for a in demo_run.manifest["availability"]} == {"column_missing", "blocked", "dead_link",
                                                                           "bad_attachment"}
    assert evidence == len(rows) and all(r[5] and r[6] in full for r in rows)  # each with its archived answer
    # the site's answers are findings, not a failed crawl
    assert demo_run.summary.failed_sources == [] and demo_run.summary.status == "done"


def test_source_runs_one_row_per_source(demo_run):
    con = _db(demo_run)
    runs = {r[0]: r[1:] for r in con.execute(
        "SELECT source_id, status, pages, records, errors, message FROM source_runs").fetchall()}
    sources = {r[0] for r in con.execute("SELECT source_id FROM sources").fetchall()}
    con.close()
    assert set(runs) == sources
    broken = {a["source_id"]: a["problem"] for a in demo_run.manifest["availability"]}
    for source_id, (status, pages, records, errors, message) in runs.items():
        if broken.get(source_id) in ("column_missing", "blocked"):
            assert (status, records, errors) == ("failed", 0, 1) and message
        elif source_id in broken:  # a dead link or a bad attachment: the rest of the column was read
            assert status == "degraded" and records > 0 and errors == 1
            assert ("gone.html" if broken[source_id] == "dead_link" else "20260601.xlsx") in message
        else:
            assert status == "ok" and pages > 0 and errors == 0 and message is None, source_id
    site = {s: r[2] for s, r in runs.items() if not s.startswith("portal")}
    assert sum(site.values()) == len(demo_run.manifest["records"])


def test_attachments_are_archived_and_read(demo_run):
    con = _db(demo_run)
    rows = con.execute("""SELECT f.url, f.content_type, f.warc_file, f.warc_offset, f.sha256, count(r.record_key)
                          FROM fetches f JOIN xk_records r USING (fetch_id) WHERE f.role = 'detail'
                          AND f.url LIKE '%/files/%' GROUP BY ALL""").fetchall()
    rows += con.execute("""SELECT f.url, f.content_type, f.warc_file, f.warc_offset, f.sha256, count(r.record_key)
                           FROM fetches f JOIN cf_records r USING (fetch_id) WHERE f.role = 'detail'
                           AND f.url LIKE '%/files/%' GROUP BY ALL""").fetchall()
    con.close()
    assert {url.rsplit(".", 1)[1] for url, *_ in rows} == {"xlsx", "xls", "csv", "docx"}
    for url, _ctype, warc_file, offset, sha, n in rows:
        _headers, body = read_record(demo_run.paths, warc_file, offset)
        assert hashlib.sha256(body).hexdigest() == sha and n >= 1


def test_hostile_markup_is_never_a_value(demo_run, demo_server):
    city, _ = demo_server
    site = Site(city)
    r = city.records[0]
    html = site.respond(f"/d/{r.dept_id}/{r.kind}/detail/{r.id}.html").body.decode("utf-8")
    assert "<script>document.title='PWNED'</script>" in html and "onerror=" in html and "example.invalid" in html
    assert "PWNED" not in "".join(extract.detail_fields(html, r.kind).values())
    con = _db(demo_run)
    for kind in ("xk", "cf"):
        cols = [c[0] for c in con.execute(f"DESCRIBE {kind}_records").fetchall()]
        text = " || ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in cols)
        assert con.execute(f"SELECT count(*) FROM {kind}_records WHERE ({text}) LIKE '%PWNED%'").fetchone()[0] == 0
    con.close()


def test_gbk_and_pre2018_pages_store_the_true_values(demo_run, demo_server):
    city, server = demo_server
    gbk = next(d for d in city.departments if shape_of(d).encoding == "gbk")
    old = next(d for d in city.departments if shape_of(d).labels == "pre2018")
    resp = Site(city).respond(f"/d/{gbk.id}/cf/index.html")
    assert resp.content_type == "text/html" and b'<meta charset="utf-8">' in resp.body
    with pytest.raises(UnicodeDecodeError):
        resp.body.decode("utf-8")
    rec = next(r for r in city.records if r.dept_id == old.id and r.kind == "cf")
    page = Site(city).respond(f"/d/{old.id}/cf/detail/{rec.id}.html").body.decode("utf-8")
    assert "处罚名称" in page and "处罚结果" in page  # the 2015 names of CF_WFXW and CF_NR
    con = _db(demo_run)
    for d in (gbk, old):
        for r in (r for r in city.records if r.dept_id == d.id and r.kind == "cf"):
            stored = con.execute("SELECT CF_XDR_MC, CF_WFXW, CF_NR FROM cf_records WHERE channel = 'site' "
                                 "AND CF_WSH = ?", [r.wsh]).fetchall()  # a republished decision shares its 文书号
            assert (r.values["CF_XDR_MC"], r.values.get("CF_WFXW"), r.values.get("CF_NR")) in stored, r.id
    con.close()


def test_unchanged_pages_become_revisit_records(tmp_path):
    """A second crawl sends the validators back: every page answers 304 and is archived as a revisit."""
    city = build(2026)
    with DemoServer(city) as server:
        config = load_city(write_city(city, server.base_url, tmp_path))
        only = replace(config, sources=tuple(s for s in config.sources if s.id in ("sj-hb-cf", "dc-wj-xk", "sj-zr-xk")))
        paths = Paths(tmp_path / "sgs.duckdb")
        first = run_crawl(only, paths, quiet=True)
        before = _records(paths)
        second = run_crawl(only, paths, quiet=True)
        after = _records(paths)
    assert first.unchanged == 0 and second.unchanged > 0 and second.records == first.records
    assert {k: v[:-1] for k, v in after.items()} == {k: v[:-1] for k, v in before.items()}  # last_seen moves
    con = duckdb.connect(str(paths.db), read_only=True)
    crawl_ids = [r[0] for r in con.execute("SELECT crawl_id FROM crawls ORDER BY started_at").fetchall()]
    revisits = con.execute("""SELECT count(*), count(o.fetch_id) FROM fetches f LEFT JOIN fetches o
                              ON o.fetch_id = f.revisit_of AND o.crawl_id = ? WHERE f.crawl_id = ?""",
                           crawl_ids).fetchone()
    evidence_in_first = con.execute("""SELECT count(*) FROM xk_records r JOIN fetches f USING (fetch_id)
                                       WHERE f.crawl_id = ?""", [crawl_ids[0]]).fetchone()[0]
    con.close()
    assert revisits[0] == revisits[1] == second.unchanged  # every fetch of the rerun revisits the first crawl's
    assert evidence_in_first == len([k for k in after if k[0] == "xk"])  # records cite the bytes, not the revisit
    with gzip.open(paths.archive / f"{crawl_ids[1]}.warc.gz") as fh:
        types = Counter(rec.rec_type for rec in ArchiveIterator(fh))
    assert types["response"] == 0 and types["revisit"] == second.unchanged


def _records(paths: Paths) -> dict:
    con = duckdb.connect(str(paths.db), read_only=True)
    out = {}
    for kind in ("xk", "cf"):
        for row in con.execute(f"SELECT record_key, {kind.upper()}_WSH, fetch_id, first_seen, last_seen "
                               f"FROM {kind}_records").fetchall():
            out[(kind, row[0])] = row[1:]
    con.close()
    return out


def test_reextraction_reads_the_archive_offline(tmp_path):
    """``--reextract``: a finished crawl read again from its WARC files with the server gone."""
    from typer.testing import CliRunner

    from sgs.cli import app

    city = build(2026)
    paths = Paths(tmp_path / "sgs.duckdb")
    with DemoServer(city) as server:
        config_path = write_city(city, server.base_url, tmp_path)
        config = load_city(config_path)
        only = replace(config, sources=tuple(s for s in config.sources if s.id in
                                             ("sj-wj-xk", "dc-cg-cf", "xs-ny-cf", "nh-jt-cf", "sj-hb-cf-old")))
        first = run_crawl(only, paths, quiet=True)
    before = _records(paths)
    again = run_crawl(only, paths, quiet=True, reextract=first.crawl_id)  # the server is stopped
    con = duckdb.connect(str(paths.db), read_only=True)
    pages = con.execute("SELECT count(*) FROM fetches WHERE crawl_id = ? AND role IS NOT NULL",
                        [first.crawl_id]).fetchone()[0]
    new_fetches = con.execute("SELECT count(*) FROM fetches WHERE crawl_id = ?", [again.crawl_id]).fetchone()[0]
    problems = {c: set(con.execute("SELECT source_id, problem, url FROM availability WHERE crawl_id = ?",
                                   [c]).fetchall()) for c in (first.crawl_id, again.crawl_id)}
    con.close()
    assert again.crawl_id != first.crawl_id and again.replayed == pages > 0 and new_fetches == 0
    assert again.records == first.records and sorted(again.errors) == sorted(first.errors)
    assert {k: v[:2] for k, v in _records(paths).items()} == {k: v[:2] for k, v in before.items()}
    assert problems[again.crawl_id] == problems[first.crawl_id] and len(problems[first.crawl_id]) == 2
    result = CliRunner().invoke(app, ["crawl", "--quiet", "--config", str(config_path), "--db", str(paths.db),
                                      "--reextract", "nope"])
    assert result.exit_code == 1 and "nope" in result.stderr
