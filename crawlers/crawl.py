"""The engine (scrapy's term): one crawl run, every configured source → pages → records → the working
database, then a published snapshot. ``run_crawl`` is the entry point.

Shape (scrapy's split), one file per job:

- the engine (here): the ``crawls`` row, the fetch process forked before the database opens, the sources
  crawled concurrently on one event loop (politeness is per host, in the fetcher), the writer task, and the
  end of the run — the summary, ``source_runs``, publishing;
- the shared state of the run (``crawlers.context.Run``): city, paths, connection, clock, counters, messages;
- the downloader's middlewares (``crawlers.downloader``): replay of committed pages from the archive (resume,
  re-extraction), conditional requests, archiving every answer;
- the spider (``crawlers.spider``): one source's list pages, their detail pages and attachments, read;
- availability (``crawlers.availability``): the answers that are a problem of the site, named and recorded;
- the item pipeline (``crawlers.pipeline``): records normalised, attributed, keyed, and the one writer.

Resuming: a crawl killed at any point leaves its ``crawls`` row ``running``. The next run resumes that
crawl: pages already committed (``fetches`` rows of the crawl with a ``role``) are replayed from the WARC
archive instead of being requested again, and records are upserted by key, so nothing is lost or stored
twice. Only pages not yet committed when the process died (at most the last half second's) are fetched
again.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from core import store
from core.cityconfig import City, ConfigError, Source
from core.settings import Paths
from crawlers.archive import Archive
from crawlers.context import Run
from crawlers.downloader import Downloader, check_reextract, done_pages, unfinished_crawl
from crawlers.fetch import DEFAULT_MAX_BYTES
from crawlers.fetch_process import FetchProcess
from crawlers.pipeline import Batch, update_crawl_row, writer
from crawlers.progress import CrawlProgress
from crawlers.resight import forget_stale, reader_key
from crawlers.report import ERRORS_LISTED, RUN_STATUS, CrawlSummary, SourceStatus
from crawlers.spider import Spider

SOURCES_AT_ONCE = 256  # sources walked at the same time (each on its own host, or politely sharing one)
QUEUED_BATCHES = 512  # list pages read but not yet stored before the spiders wait for the writer


def run_crawl(city: City, paths: Paths, *, quiet: bool = False, backoff: float = 0.5, retries: int = 3,
              timeout: float = 10.0, resume: bool = True, max_bytes: int = DEFAULT_MAX_BYTES,
              reextract: str | None = None, clock: Callable[[], datetime] = datetime.now,
              only: Collection[str] | None = None, resight: bool = True) -> CrawlSummary:
    """Crawl every source of ``city`` into the working database at ``paths`` and publish a snapshot.

    An interrupted crawl is resumed (``resume``) rather than started over. ``reextract`` names a finished
    crawl to read again from its archive, offline (no request at all): a new crawl whose records are
    extracted anew, for when the extractor or the registry's synonyms have improved. ``clock`` says what time
    it is (archive dates, first and last sightings, the crawl's and its source runs' times): the wall clock,
    except in the demo city's staged crawls (``democity.staged``), which replay a season of monitoring.
    ``only`` names the sources to walk (``sgs crawl --source``: the credit portal daily, sites weekly); the
    whole configuration is still saved. ``resight``: an unchanged page (304, or the same bytes) of a
    department's column re-sights the records stored from it instead of being read again, when reading it
    would give them again (``crawlers.resight``); ``False``: every page read, the way before — the same
    database either way (tests/test_crawl_resight.py).
    """
    walked = _walked(city, only)
    fetcher = None
    if reextract is None:  # forked before the database opens; re-extraction makes no request at all
        hosts = [(_host(s), s.concurrency, s.delay, s.robots) for s in city.sources]
        fetcher = FetchProcess(city.hosts(), hosts, connect_timeout=timeout, read_timeout=timeout,
                               total_timeout=timeout * 3, retries=retries, backoff=backoff, max_bytes=max_bytes)
    try:
        reader = reader_key()
        may = _save_config(paths, city, reader)
        con = store.connect(paths)
        try:
            engine = _Engine.prepare(walked, paths, con, quiet=quiet, resume=resume, reextract=reextract,
                                     fetcher=fetcher, clock=clock, resight=may if resight and not reextract else set(),
                                     reader=reader)
            return asyncio.run(engine.main())
        finally:
            con.close()
    finally:
        if fetcher is not None:
            fetcher.close()


def _save_config(paths: Paths, city: City, reader: str) -> set[str]:
    """Save the whole configuration (and forget what it made stale) on a connection of its own, closed at
    once: a province's thousands of departments and catalogue items are not kept in DuckDB's memory for
    the crawl's length. The sources whose unchanged pages may be re-sighted (``crawlers.resight``)."""
    con = store.connect(paths)
    try:
        may = forget_stale(con, city, reader)
        store.save_city(con, city)
        return may
    finally:
        con.close()
        # the configuration's Arrow tables (31,666 catalogue items at 5,000 sources) leave ~24 MB in Arrow's
        # allocator, which keeps freed memory for reuse; the crawl's own batches are far smaller
        pa.default_memory_pool().release_unused()


def _host(source: Source) -> str:
    """The host a source is fetched from, as the fetcher knows it (its politeness is per host)."""
    return urlsplit(source.start_url).netloc.lower()


def _walked(city: City, only: Collection[str] | None) -> City:
    """The city with only the sources ``--source`` names (an unknown name is the user's mistake, said so)."""
    if only is None:
        return city
    if unknown := sorted(set(only) - {s.id for s in city.sources}):
        raise ConfigError(f"城市配置中没有来源 {'、'.join(unknown)}（请检查 --source，来源编号见配置文件的 [[sources]] id）")
    return replace(city, sources=tuple(s for s in city.sources if s.id in set(only)))


class _Engine:
    """Runs the sources of one crawl and closes the crawl: what only the engine needs besides the ``Run``."""

    def __init__(self, run: Run, downloader: Downloader, walked_before: set[str], resight: set[str],
                 reader: str) -> None:
        self.run = run
        self.downloader = downloader
        self.walked_before = walked_before  # sources some earlier crawl walked completely (the baseline)
        self.resight = resight  # sources whose unchanged pages are re-sighted, not read (``crawlers.resight``)
        self.reader = reader  # ``crawlers.resight.reader_key``, kept in the crawls row
        self.hosts_left = Counter(_host(s) for s in run.city.sources)  # sources not yet done, by host

    @classmethod
    def prepare(cls, city: City, paths: Paths, con: duckdb.DuckDBPyConnection, *, quiet: bool, resume: bool,
                reextract: str | None, fetcher: FetchProcess | None, clock: Callable[[], datetime],
                resight: set[str], reader: str) -> _Engine:
        """A new crawl, or the unfinished one resumed (its committed pages to replay, a new archive part)."""
        if reextract is not None:
            check_reextract(con, reextract)
        unfinished = unfinished_crawl(con) if resume and not reextract else None
        started = clock()
        crawl_id = unfinished or f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        summary = CrawlSummary(crawl_id, started, sources={s.id: SourceStatus(s.id, started_at=started)
                                                           for s in city.sources}, resumed=unfinished is not None)
        run = Run(city, paths, con, clock, summary, CrawlProgress(enabled=not quiet, sources=len(city.sources)))
        # resuming retries what failed for a passing reason (no answer, 5xx); re-extraction replays all
        replayed_crawl = reextract or (crawl_id if unfinished else None)
        done = done_pages(con, replayed_crawl, retry_failed=not reextract) if replayed_crawl else {}
        part = len(list(paths.archive.glob(f"{crawl_id}*.warc.gz"))) if unfinished else 0
        archive = Archive(paths, crawl_id, part=part, clock=clock)
        downloader = Downloader(run, archive, fetcher, done=done, offline=reextract is not None)
        walked_before = {sid for (sid,) in con.execute(
            "SELECT DISTINCT source_id FROM source_runs WHERE status = 'ok' AND crawl_id <> ?", [crawl_id]).fetchall()}
        return cls(run, downloader, walked_before, resight, reader)

    async def main(self) -> CrawlSummary:
        """The sources, at most ``SOURCES_AT_ONCE`` at a time, the writer storing their pages as they come;
        the crawl closed in any case."""
        run, summary = self.run, self.run.summary
        if summary.resumed:
            run.con.execute("UPDATE crawls SET status = 'running', reader = ? WHERE crawl_id = ?",
                            [self.reader, run.crawl_id])
            run.say(f"续抓未完成的抓取 {run.crawl_id}：已完成的 {len(self.downloader.done)} 个页面从存档读取，不再请求", always=True)
        else:
            run.con.execute("INSERT INTO crawls (crawl_id, started_at, status, reader) VALUES (?, ?, 'running', ?)",
                            [run.crawl_id, summary.started_at, self.reader])
        await self.downloader.open()
        # bounded: when the database falls behind, the spiders wait instead of holding pages in memory
        queue: asyncio.Queue[Batch | None] = asyncio.Queue(QUEUED_BATCHES)
        writing = asyncio.create_task(writer(run, self.downloader.archive, queue))
        crawling = asyncio.ensure_future(self._sources(Spider(run, self.downloader, queue, resight=self.resight)))
        try:
            await asyncio.wait({crawling, writing}, return_when=asyncio.FIRST_COMPLETED)
            if not crawling.done():  # the writer failed: nothing more could be stored, stop fetching
                crawling.cancel()
                await asyncio.gather(crawling, return_exceptions=True)
            else:
                crawling.result()
        except BaseException:
            summary.status = "failed"  # interrupted: the crawls row must not claim success
            crawling.cancel()
            raise
        finally:
            if not writing.done():
                await queue.put(None)
            await self.downloader.aclose()
            await self._drain(writing)
        return summary

    async def _sources(self, spider: Spider) -> None:
        """Every source, ``SOURCES_AT_ONCE`` at a time: a province's thousands of sources hold the pages
        of only so many at once (memory flat in the number of sources); politeness stays per host, in the
        fetcher."""
        sources = iter(self.run.city.sources)

        async def one_at_a_time() -> None:
            for source in sources:  # shared: each worker takes the next source not yet started
                await self._guarded(spider, source)

        await asyncio.gather(*(one_at_a_time() for _ in range(min(SOURCES_AT_ONCE, len(self.run.city.sources)))))

    async def _guarded(self, spider: Spider, source: Source) -> None:
        """Crawl one source; an unexpected error ends this source only, never the others. Its
        ``source_runs`` row is queued last, after its pages."""
        run = self.run
        self.downloader.previous.begin(source.id)  # at once: the sources begin in the walk's order
        try:
            await spider.crawl(source)
        except Exception as exc:  # a bug or a page we could not read must not stop the other sources
            run.error(source, source.start_url, f"抓取来源 {source.id}（{source.start_url}）时出错：{exc!r}",
                      fatal=run.summary.sources[source.id].pages == 0)
        finally:
            self.downloader.previous.end(source.id)
            self._done_with(source)
        st = run.summary.sources[source.id]
        await spider.queue.put(Batch(source_runs=[{
            "crawl_id": run.crawl_id, "source_id": source.id, "started_at": st.started_at,
            "finished_at": run.clock(), "pages": st.fetched, "records": st.records, "errors": st.errors,
            "status": RUN_STATUS[st.status], "message": st.message}]))
        run.progress.source_done()
        run.say(f"来源 {source.id}：{st.pages} 个列表页，{st.records} 条记录，{st.errors} 个错误", verbose=True)

    def _done_with(self, source: Source) -> None:
        """A source is done: when it was the last on its host, the fetch process lets go of the host."""
        host = _host(source)
        self.hosts_left[host] -= 1
        if self.hosts_left[host] == 0:
            del self.hosts_left[host]
            self.downloader.forget_host(host)

    async def _drain(self, writing: asyncio.Task[None]) -> None:
        """Let the writer store what is queued, then close the crawl (even when writing failed)."""
        run = self.run
        try:
            await writing
        except Exception as exc:
            run.summary.status = "failed"
            run.summary.errors.append((str(run.paths.db), f"写入数据库 {run.paths.db} 失败：{exc}"))
            raise
        finally:
            self.downloader.archive.close()
            self._finish()

    def _finish(self) -> None:
        """Close the crawls row (failed when no source could be read at all), publish, report.

        A crawl is ``done`` only once its snapshot is published: the row says so first in the snapshot's copy
        (``finish_copy``, before the copy becomes current), then in the working database. A publish that fails
        (StoreError) or is killed leaves the row ``running``, so the next run resumes this crawl — its pages
        replayed from the archive, nothing requested again — and publishes it."""
        run, s = self.run, self.run.summary
        all_failed = bool(s.sources) and len(s.failed_sources) == len(s.sources)
        final = "failed" if all_failed or s.status == "failed" else "done"
        s.finished_at = run.clock()
        s.baseline = [sid for sid, st in s.sources.items() if st.status == "ok" and sid not in self.walked_before]
        s.status = "running" if final == "done" else final
        update_crawl_row(run.con, s, s.finished_at)
        try:
            s.snapshot = store.publish(run.con, run.paths, finish_copy=lambda snap: self._mark(snap, final))
        finally:
            run.progress.close()
        s.status = final
        self._mark(run.con, final)
        run.say(s.line(), always=True)
        if len(s.errors) <= ERRORS_LISTED:  # past that, ``error_lines`` (which the command prints) has them
            for line in s.failure_lines():
                run.say(line, always=True)

    def _mark(self, con: duckdb.DuckDBPyConnection, status: str) -> None:
        con.execute("UPDATE crawls SET status = ? WHERE crawl_id = ?", [status, self.run.crawl_id])
