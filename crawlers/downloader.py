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

from core import store
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
    """A response as the spider uses it: the result (304 and replays already given their bytes) and the
    fetch id of the archived bytes, which records and problems cite as evidence."""

    result: FetchResult
    fetch_id: str | None
    replayed: bool = False


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
        self.previous.close()

    async def get(self, source: Source, url: str, form: dict[str, str] | None, role: str, fetches: list[dict[str, Any]]) -> Got:
        """The response for a request: replayed from the archive when this crawl already has it, else
        fetched (conditionally) and archived, its ``fetches`` row (with its ``role``) added to ``fetches``."""
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
        row["role"] = role
        fetches.append(row)
        self.run.progress.update(summary, fetched=1)
        if row["revisit_of"]:
            assert previous is not None
            summary.unchanged += 1
            return Got(self._unchanged(result, previous), row["revisit_of"])
        return Got(result, row["fetch_id"])

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
    requests), held only while the source is walked: ``begin`` when it starts, ``end`` when it is done.

    One query, ordered as the sources are walked, read a chunk at a time on a cursor of its own (the writer
    thread has the crawl's connection): a province's daily crawl holds the rows of the sources being walked,
    not of all its hundreds of thousands of pages. A source started out of order (or twice) is answered
    from a query of its own."""

    CHUNK = 2000

    def __init__(self, con: duckdb.DuckDBPyConnection, walked: list[str]) -> None:
        self._con = con
        self._cursor = con.cursor()
        self._cursor.execute(f"""
            SELECT w.pos, {", ".join(f"f.{c}" for c in _PREVIOUS)}
            FROM fetches f JOIN (SELECT unnest(?::VARCHAR[]) AS source_id, unnest(range(?)) AS pos) w USING (source_id)
            WHERE f.warc_file IS NOT NULL AND f.revisit_of IS NULL AND f.status = 200 AND f.error IS NULL
            QUALIFY row_number() OVER (PARTITION BY f.url, f.form ORDER BY f.fetched_at DESC) = 1
            ORDER BY w.pos""", [walked, len(walked)])
        self._position = {sid: i for i, sid in enumerate(walked)}
        self._ahead: list[tuple[Any, ...]] = []  # read from the stream, not yet handed to a source
        self._next = 0  # position of the next source the stream has not reached
        self._held: dict[str, dict[RequestKey, dict[str, Any]]] = {}

    def begin(self, source_id: str) -> None:
        """Hold ``source_id``'s rows (the sources begin in the walk's order: each takes the stream's next)."""
        pos = self._position.get(source_id, -1)
        if pos < self._next:
            cursor = self._con.cursor()  # the walk's cursor is busy streaming
            try:
                self._held[source_id] = previous_responses(cursor, source_id)
            finally:
                cursor.close()
            return
        mine: dict[RequestKey, dict[str, Any]] = {}
        while True:
            if not self._ahead:
                self._ahead = self._cursor.fetchmany(self.CHUNK)[::-1]  # popped from the end
                if not self._ahead:
                    break
            row = self._ahead[-1]
            if row[0] > pos:
                break
            self._ahead.pop()
            if row[0] == pos:
                previous = dict(zip(_PREVIOUS, row[1:]))
                mine[(previous["url"], previous["form"])] = previous
        self._next = pos + 1
        self._held[source_id] = mine

    def get(self, source_id: str, key: RequestKey) -> dict[str, Any] | None:
        return self._held.get(source_id, {}).get(key)

    def end(self, source_id: str) -> None:
        self._held.pop(source_id, None)

    def close(self) -> None:
        self._cursor.close()


_PREVIOUS = _FETCH_COLUMNS + ("warc_length",)


def previous_responses(con: duckdb.DuckDBPyConnection, source_id: str | None = None) -> dict[RequestKey, dict[str, Any]]:
    """The last archived body of every request (of ``source_id``'s), for conditional requests."""
    where = "" if source_id is None else "AND source_id = ?"
    rows = con.execute(f"""SELECT {", ".join(_PREVIOUS)} FROM fetches
                           WHERE warc_file IS NOT NULL AND revisit_of IS NULL AND status = 200 AND error IS NULL {where}
                           QUALIFY row_number() OVER (PARTITION BY url, form ORDER BY fetched_at DESC) = 1""",
                       [] if source_id is None else [source_id]).fetchall()
    return {(r[1], r[2]): dict(zip(_PREVIOUS, r)) for r in rows}
