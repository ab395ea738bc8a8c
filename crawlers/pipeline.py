"""The item pipeline (scrapy's term): a record read from a page → normalised, attributed, keyed → stored.

A list page is all-or-nothing with everything read from it (its fetches, detail pages and attachments, their
records, the availability problems seen): the spider gathers them in one ``Batch`` and queues it. The
``writer`` is the only code that writes the database while sources are crawled (a DuckDB connection is not
thread-safe); it commits the pages finished in each half second together, in a worker thread, so fetching
and parsing go on while DuckDB commits and zlib compresses the WARC records.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from core import normalize, standard, store
from core.cityconfig import Department, Source
from crawlers.archive import Archive
from crawlers.context import Run
from crawlers.report import CrawlSummary

# the fields naming the deciding agency, used to attribute portal records to a department
AGENCY_FIELDS = {"cf": ("CF_CFJGDM", "CF_CFJG"), "xk": ("XK_XKJGDM", "XK_XKJG")}
WRITE_INTERVAL = 0.5  # seconds of finished pages written in one transaction


@dataclass
class Batch:
    """One transaction's writes: new fetches, records by kind, availability problems, a source_runs row."""

    fetches: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    availability: list[dict[str, Any]] = field(default_factory=list)
    source_runs: list[dict[str, Any]] = field(default_factory=list)
    # unchanged pages not read again: the original's fetch id → (kind, the records it yields)
    resight: dict[str, tuple[str, int]] = field(default_factory=dict)
    unclean: set[str] = field(default_factory=set)  # fetch ids a record could not be read from
    yields: dict[str, int | None] = field(default_factory=dict)  # earlier originals' ``fetches.records``

    def record_count(self) -> int:
        """The records read from the page, re-sighted ones included (as reading them would have counted)."""
        return sum(len(rows) for rows in self.records.values()) + sum(n for _, n in self.resight.values())

    def count_yields(self) -> None:
        """What each response read for this page yielded, for ``fetches.records`` of its original: the records
        citing it, or None when none did or one could not be read (then it is read again next time)."""
        counts: dict[str, int] = {}
        for rows in self.records.values():
            for r in rows:
                if r["fetch_id"] is not None:
                    counts[r["fetch_id"]] = counts.get(r["fetch_id"], 0) + 1
        for row in self.fetches:
            evidence = row["revisit_of"] or row["fetch_id"]
            if row["warc_file"] is None or evidence in self.resight:
                continue
            n = counts.get(evidence, 0)
            if row["revisit_of"] is None:  # the original itself, stored with this batch
                row["records"] = n if n and evidence not in self.unclean else None
            else:  # an unchanged page read again: its original's row is updated
                self.yields[evidence] = n if n and evidence not in self.unclean else None


def add_record(run: Run, source: Source, batch: Batch, raw: dict[str, str], url: str, fetch_id: str | None, *,
               detail_status: str | None = None) -> None:
    """Normalise one record, attribute it, key it, and add it to the batch (``detail_status``: why its
    detail page was not read, stored so a later crawl that reads it clears the mark)."""
    fields = normalize.normalise_record(source.kind, raw)
    std = standard.load(source.kind)
    if not any(fields.get(code) for code in std.codes):
        run.error(source, url, f"{url} 中的一条记录没有读出任何标准字段，已跳过", cause="content")
        if fetch_id is not None:
            batch.unclean.add(fetch_id)
        return
    dept_id = source.dept or attribute(run.city.departments, source.kind, fields)  # portal sources have no dept
    wsh, name = fields.get(std.prefixed("WSH")), fields.get(std.prefixed("XDR_MC"))
    # neither 文书号 nor 相对人名称: the page URL keeps distinct pages distinct
    key = normalize.record_key(source.channel, dept_id, source.kind, wsh, name or (None if wsh else url))
    batch.records.setdefault(source.kind, []).append({
        **fields, "record_key": key, "dept_id": dept_id, "source_id": source.id, "channel": source.channel,
        "url": url, "fetch_id": fetch_id, "detail_status": detail_status, "std_version": standard.CURRENT_VERSION})


def attribute(departments: tuple[Department, ...], kind: str, fields: dict[str, str | None]) -> str | None:
    """The department a portal record belongs to: by the agency's credit code, else by its exact name."""
    code_field, name_field = AGENCY_FIELDS[kind]
    code, name = fields.get(code_field), fields.get(name_field)
    for dept in departments:
        if code and normalize.normalise_identifier(dept.credit_code) == code:
            return dept.id
    for dept in departments:
        if name and normalize.clean_text(dept.name) == normalize.clean_text(name):
            return dept.id
    return None


def nonempty(fields: dict[str, str]) -> dict[str, str]:
    """Values that say something: empty cells of a detail page or attachment do not erase the list's."""
    return {k: v for k, v in fields.items() if v and v.strip()}


async def writer(run: Run, archive: Archive, queue: asyncio.Queue[Batch | None]) -> None:
    """Write the queued batches until ``None`` comes. Pages finished within ``WRITE_INTERVAL`` of each other
    are written in one transaction: each page stays all-or-nothing, a crash loses at most that interval's
    pages (fetched again on resume), and a fast crawl pays for a few commits instead of one per page."""
    loop = asyncio.get_running_loop()
    done = False
    while not done:
        batches = [await queue.get()]
        deadline = loop.time() + WRITE_INTERVAL
        while batches[-1] is not None and (wait := deadline - loop.time()) > 0:
            try:
                batches.append(await asyncio.wait_for(queue.get(), wait))
            except asyncio.TimeoutError:
                break
        done = batches[-1] is None
        # every fetch of these batches was archived before its batch was queued: its record is taken here
        await asyncio.to_thread(write, run, archive, merge([b for b in batches if b is not None]), archive.take())


def write(run: Run, archive: Archive, batch: Batch, warc_records: list[Any]) -> None:
    """One transaction: the WARC records first (a stored row always points at bytes on disk), then the
    fetches, records, problems and finished source runs, and the crawl's counters."""
    archive.append(warc_records)
    now = run.clock()
    con = run.con
    con.execute("BEGIN")
    try:
        store.insert_rows(con, "fetches", batch.fetches)
        _write_yields(con, batch.yields)
        for kind in {k for k, _ in batch.resight.values()}:
            store.resight_records(con, kind, [f for f, (k, _) in batch.resight.items() if k == kind], now)
        for kind, rows in batch.records.items():
            store.upsert_records(con, kind, rows, now)
        insert_new(con, "availability", batch.availability, "event_id")
        _replace_source_runs(con, run.crawl_id, batch.source_runs, now)
        update_crawl_row(con, run.summary)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _write_yields(con: duckdb.DuckDBPyConnection, yields: dict[str, int | None]) -> None:
    """``fetches.records`` of the originals read in this transaction (``Batch.count_yields``), one UPDATE."""
    if not yields:
        return
    arrow = pa.table({"fetch_id": pa.array(list(yields), pa.string()),
                      "n": pa.array(list(yields.values()), pa.int32())})
    con.register("_yields", arrow)
    try:
        con.execute("UPDATE fetches SET records = y.n FROM _yields y WHERE fetches.fetch_id = y.fetch_id")
    finally:
        con.unregister("_yields")


def _replace_source_runs(con: duckdb.DuckDBPyConnection, crawl_id: str, runs: list[dict[str, Any]], now: datetime) -> None:
    """A source's run row, replacing the one a resumed crawl wrote before. A run ends when its last records
    are stored, never before one of them was first seen: the observed-absence rule counts only runs that
    ended before a record's first sighting."""
    if not runs:
        return
    for row in runs:
        row["finished_at"] = now
    con.execute("DELETE FROM source_runs WHERE crawl_id = ? AND source_id IN (SELECT unnest(?))",
                [crawl_id, [r["source_id"] for r in runs]])
    store.insert_rows(con, "source_runs", runs)


def update_crawl_row(con: duckdb.DuckDBPyConnection, summary: CrawlSummary, finished: datetime | None = None) -> None:
    """The ``crawls`` row's counters and status as they stand (written with every transaction)."""
    s = summary
    con.execute("UPDATE crawls SET pages = ?, records = ?, errors = ?, status = ?, finished_at = ? "
                "WHERE crawl_id = ?", [s.pages, s.records, len(s.errors), s.status, finished, s.crawl_id])


def merge(batches: list[Batch]) -> Batch:
    """Several batches as one (records of a key: the later batch wins, as it would written in turn)."""
    out = Batch()
    for b in batches:
        b.count_yields()
        out.yields.update(b.yields)
        out.resight.update(b.resight)
        out.fetches += b.fetches
        for kind, rows in b.records.items():
            out.records.setdefault(kind, []).extend(rows)
        out.availability += b.availability
        out.source_runs += b.source_runs
    return out


def insert_new(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], key: str) -> None:
    """Insert rows whose ``key`` is not stored yet (idempotent, so a resumed crawl never duplicates)."""
    if rows:
        rows = list({r[key]: r for r in rows}.values())
        existing = {r[0] for r in con.execute(f"SELECT {key} FROM {table} WHERE {key} IN (SELECT unnest(?))",
                                              [[r[key] for r in rows]]).fetchall()}
        store.insert_rows(con, table, [r for r in rows if r[key] not in existing])
