"""The downloader's middlewares (scrapy's term): what happens between "this page, please" and a response.

A request is answered, in this order, by
- **replay**: a page this crawl already committed (``fetches`` rows of the crawl with a ``role``) is read
  back from the WARC archive, not requested again — so a killed crawl resumes where its last commit left it,
  and ``--reextract`` reads a finished crawl again without the network;
- **offline**: re-extraction never goes to the network; a page its archive lacks is an error;
- **conditional request**: otherwise the fetcher (``crawlers.fetch_process``) asks with the validators of the
  last archived response (ETag / Last-Modified); an unchanged page (304, or the same bytes) is archived as a
  revisit record and read from the original's bytes.

Every fetched answer is archived at once (``crawlers.archive``) and its ``fetches`` row handed back to the
caller's batch; the pipeline's writer stores the rows with the page they belong to.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode
from typing import Any

import duckdb

from core import standard, store, vocab
from core.cityconfig import Source
from crawlers.archive import Archive, read_original, read_response
from crawlers.context import Run
from crawlers.fetch import FetchResult
from crawlers.fetch_process import FetchProcess

RequestKey = tuple[str, str | None]  # (url, the form url-encoded): how a request is known across crawls
_FETCH_COLUMNS = ("fetch_id", "url", "form", "status", "error", "warc_file", "warc_offset", "revisit_of",
                  "sha256", "etag", "last_modified", "fetched_at")


@dataclass
class Got:
    """A response as the spider uses it: the result (304 and replays already given their bytes, unless
    ``unread``) and the fetch id of the archived bytes, which records and problems cite as evidence.
    ``original``: for an unchanged answer (304, or the same bytes), the original's ``fetches`` row — with
    ``resight``, whether the records stored from it may be re-sighted instead of read again."""

    result: FetchResult
    fetch_id: str | None
    replayed: bool = False
    original: dict[str, Any] | None = None
    unread: bool = False  # an unchanged answer whose original's bytes were not read yet (``Downloader.read``)


class Downloader:
    """Answers the spider's requests for one run: replayed, refused offline, or fetched and archived."""

    def __init__(self, run: Run, archive: Archive, fetcher: FetchProcess | None, *,
                 done: dict[RequestKey, dict[str, Any]], offline: bool) -> None:
        self.run = run
        self.archive = archive
        self.fetcher = fetcher
        self.done = done  # pages committed by the crawl being resumed or re-extracted
        self.offline = offline
        self.previous = Previous(run.con, [s.id for s in run.city.sources])

    async def open(self) -> None:
        if self.fetcher is not None:
            await self.fetcher.open()

    async def aclose(self) -> None:
        """Let the fetch process go (the engine still ``close``s it, whatever happened)."""
        if self.fetcher is not None:
            await self.fetcher.aclose()
            self.fetcher = None

    def forget_host(self, host: str) -> None:
        """Every source on ``host`` is done: the fetch process may let go of it (``Fetcher.forget_host``)."""
        if self.fetcher is not None:
            self.fetcher.forget_host(host)

    async def get(self, source: Source, url: str, form: dict[str, str] | None, role: str, fetches: list[dict[str, Any]],
                  *, lazy: bool = False) -> Got:
        """The response for a request: replayed from the archive when this crawl already has it, else
        fetched (conditionally) and archived, its ``fetches`` row (with its ``role``) added to ``fetches``.
        ``lazy``: an unchanged answer comes back ``unread`` (the caller may re-sight instead of reading it)."""
        key = (url, urlencode(form) if form is not None else None)
        summary = self.run.summary
        summary.sources[source.id].fetched += 1
        done = self.done.get(key)
        if done is not None:
            summary.replayed += 1
            self.run.progress.update(summary)
            return self._replay(done)
        if self.offline:
            return Got(FetchResult(url, url, error=f"重新提取：存档中没有 {url}，不联网抓取", form=form), None)
        assert self.fetcher is not None
        previous = self.previous.get(source.id, key)
        result = await self.fetcher.fetch(url, form=form, headers=conditional_headers(previous))
        row = self.archive.write(result, source_id=source.id, previous=previous)
        row["role"], row["records"] = role, None
        fetches.append(row)
        self.run.progress.update(summary, fetched=1)
        if row["revisit_of"]:
            assert previous is not None
            summary.unchanged += 1
            got = Got(result, row["revisit_of"], original=previous, unread=True)
            return got if lazy else self.read(got)
        return Got(result, row["fetch_id"])

    def read(self, got: Got) -> Got:
        """``got`` with its original's bytes, when it is an unchanged answer not read yet."""
        if not got.unread or got.original is None:
            return got
        return replace(got, result=self._unchanged(got.result, got.original), unread=False)

    def _unchanged(self, result: FetchResult, previous: dict[str, Any]) -> FetchResult:
        """An unchanged answer given the original's bytes (and, for a 304, its headers)."""
        headers, body = read_original(self.run.paths, previous["warc_file"], previous["warc_offset"],
                                      previous["warc_length"])
        return replace(result, status=200, body=body, error=None,
                       headers=headers if result.status == 304 else result.headers)

    def _replay(self, row: dict[str, Any]) -> Got:
        """A completed page of this crawl, read back from the archive (no request)."""
        result = FetchResult(row["url"], row["url"], status=row["status"], error=row["error"],
                             form=dict(parse_qsl(row["form"], keep_blank_values=True)) if row["form"] else None)
        body_row = row.get("original") or row
        if body_row.get("warc_file"):
            uri, http, body = read_response(self.run.paths, body_row["warc_file"], body_row["warc_offset"])
            final = uri if body_row is row else row["url"]
            result = replace(result, final_url=final, headers=list(http.headers), body=body,
                             status=200 if row.get("original") else row["status"])
        return Got(result, row["revisit_of"] or row["fetch_id"], replayed=True)


def conditional_headers(previous: dict[str, Any] | None) -> dict[str, str]:
    """The validators of the last archived response, so an unchanged page costs a 304, not its body."""
    headers = {}
    if previous and previous["etag"]:
        headers["If-None-Match"] = previous["etag"]
    if previous and previous["last_modified"]:
        headers["If-Modified-Since"] = previous["last_modified"]
    return headers


def check_reextract(con: duckdb.DuckDBPyConnection, crawl_id: str) -> None:
    """Re-extraction needs the crawl it names: refuse before anything is written."""
    if not con.execute("SELECT 1 FROM crawls WHERE crawl_id = ?", [crawl_id]).fetchone():
        raise store.StoreError(f"没有编号为 {crawl_id} 的抓取，无法按存档重新提取")


def unfinished_crawl(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest crawl left ``running`` (its process was killed): DuckDB's lock means none is alive."""
    row = con.execute("SELECT crawl_id FROM crawls WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
                      ).fetchone()
    return row[0] if row else None


def done_pages(con: duckdb.DuckDBPyConnection, crawl_id: str, *, retry_failed: bool) -> dict[RequestKey, dict[str, Any]]:
    """The pages a crawl has committed, by (url, form); a revisit carries its ``original`` row.

    ``retry_failed`` leaves out pages that got no answer or a 5xx, so a resumed crawl tries them again.
    """
    transient = " AND f.status IS NOT NULL AND f.status < 500" if retry_failed else ""
    cols = ", ".join(f"f.{c}" for c in _FETCH_COLUMNS)
    ocols = ", ".join(f"o.{c}" for c in _FETCH_COLUMNS)
    out = {}
    for row in con.execute(f"SELECT {cols}, {ocols} FROM fetches f LEFT JOIN fetches o ON o.fetch_id = f.revisit_of "
                           f"WHERE f.crawl_id = ? AND f.role IS NOT NULL{transient}", [crawl_id]).fetchall():
        mine = dict(zip(_FETCH_COLUMNS, row[:len(_FETCH_COLUMNS)]))
        original = dict(zip(_FETCH_COLUMNS, row[len(_FETCH_COLUMNS):]))
        mine["original"] = original if original["fetch_id"] else None
        out[(mine["url"], mine["form"])] = mine
    return out


class Previous:
    """The last archived body of every request a source made (its validators and hash, for conditional
    requests), as Python rows only while the source is walked: ``begin`` when it starts, ``end`` when done.
    ``resight``: the records it yielded when last read (``fetches.records``) are exactly the current records
    citing it (none merged into another page's, none of an older standard version) — an unchanged answer may
    then re-sight them instead of being read again.

    Read once, sorted by source, into one Arrow table (columnar: a province's hundreds of thousands of pages
    in a few MB, where a dict per page took ~1.3 KB), on a cursor closed at once — a query left open would
    hold a transaction for the whole crawl, and DuckDB checkpoints only when none is open."""

    def __init__(self, con: duckdb.DuckDBPyConnection, walked: list[str]) -> None:
        held = " UNION ALL ".join(f"SELECT fetch_id, count(*) AS n FROM {store.record_table(k)} "
                                  f"WHERE std_version = $version GROUP BY fetch_id" for k in vocab.KINDS)
        cursor = con.cursor()
        try:
            self._table: Any = cursor.sql(f"""
                SELECT {", ".join(f"f.{c}" for c in _PREVIOUS)},
                       f.records > 0 AND f.records = coalesce(h.n, 0) AS resight
                FROM fetches f JOIN (SELECT unnest($walked::VARCHAR[]) AS source_id) w USING (source_id)
                LEFT JOIN (SELECT fetch_id, sum(n) AS n FROM ({held}) GROUP BY fetch_id) h USING (fetch_id)
                WHERE f.warc_file IS NOT NULL AND f.revisit_of IS NULL AND f.status = 200 AND f.error IS NULL
                QUALIFY row_number() OVER (PARTITION BY f.url, f.form ORDER BY f.fetched_at DESC) = 1
                ORDER BY f.source_id""", params={"walked": walked, "version": standard.CURRENT_VERSION}
                                          ).to_arrow_table()
        finally:
            cursor.close()
        self._slices: dict[str, tuple[int, int]] = {}  # source → (first row, rows)
        for i, sid in enumerate(self._table.column("source_id").to_pylist()):
            first, n = self._slices.get(sid, (i, 0))
            self._slices[sid] = (first, n + 1)
        self._held: dict[str, dict[RequestKey, dict[str, Any]]] = {}

    def begin(self, source_id: str) -> None:
        """Hold ``source_id``'s rows as dicts by request, until ``end``."""
        first, n = self._slices.get(source_id, (0, 0))
        rows = self._table.slice(first, n).to_pylist() if n else []
        self._held[source_id] = {(r["url"], r["form"]): r for r in rows}

    def get(self, source_id: str, key: RequestKey) -> dict[str, Any] | None:
        return self._held.get(source_id, {}).get(key)

    def end(self, source_id: str) -> None:
        self._held.pop(source_id, None)


_PREVIOUS = _FETCH_COLUMNS + ("warc_length", "source_id", "content_type", "records")
