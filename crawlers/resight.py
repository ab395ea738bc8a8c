"""When an unchanged page may be re-sighted instead of read again (docs/crawling.md, "Unchanged pages").

A daily crawl of an unchanged province is mostly 304s. Reading such a page again (its original's bytes from
the archive, parsing, extracting, normalising, upserting) stores exactly the rows already there and moves
their ``last_seen``; re-sighting does the last part alone, one ``UPDATE`` per transaction
(``core.store.resight_records``). That holds only while reading the page again would give what it gave when
it was last read, so the records it yielded then are remembered with its original (``fetches.records``,
``crawlers.pipeline.Batch.count_yields``) and forgotten whenever that could change:

- the source's profile changed (its department, labels, rows, paging, encoding): its pages' counts are
  forgotten before the new profile is saved;
- the reader changed (``reader_key``: the code and data files that turn pages into records — an upgraded
  extractor, synonyms, normalisation): every count is forgotten;
- a portal's records are attributed to departments by the registry, which an import may change between
  crawls: its pages are always read.

Each count is also checked at the crawl's start against the records that still cite the original
(``crawlers.downloader.Previous``): a record of the page later stored from another page, two records of the
page under one key, a record of an older standard version — then the page is read.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from core.cityconfig import City
from core.settings import STANDARD_DIR

_ROOT = Path(__file__).resolve().parent.parent
READER_DIRS = (_ROOT / "crawlers", _ROOT / "core")  # extraction, normalisation, keys, tables, decoding


def reader_key() -> str:
    """sha256 of what turns a page into records: the crawler's and core's code and the field registry."""
    h = hashlib.sha256()
    files = [p for d in READER_DIRS for p in sorted(d.glob("*.py"))]
    files += sorted(p for p in Path(str(STANDARD_DIR)).rglob("*") if p.is_file())
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def forget_stale(con: duckdb.DuckDBPyConnection, city: City, reader: str) -> set[str]:
    """Before the configuration is saved: forget the counts reading a page again might not repeat (a new
    reader: all; a source whose profile changed: its own). Returns the sources whose unchanged pages may be
    re-sighted: every department's column (a portal's: never). Runs whether or not re-sighting is on, so
    both ways leave the same database."""
    last = con.execute("SELECT reader FROM crawls ORDER BY started_at DESC LIMIT 1").fetchall()
    saved = dict(con.execute("SELECT source_id, profile FROM sources").fetchall())
    if last and last[0][0] != reader:
        con.execute("UPDATE fetches SET records = NULL WHERE records IS NOT NULL")
    else:
        changed = [s.id for s in city.sources if saved.get(s.id) != s.to_json()]
        if changed:
            con.execute("UPDATE fetches SET records = NULL WHERE records IS NOT NULL AND source_id IN "
                        "(SELECT unnest(?::VARCHAR[]))", [changed])
    return {s.id for s in city.sources if s.dept is not None}
