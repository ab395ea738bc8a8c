"""One crawl run: every configured source → pages → records → the working database, then a published snapshot.

Shape (scrapy's split): the source profile (``core.cityconfig.Source``) with ``paging``/``extract`` says what
to fetch and how to read it, ``fetch`` fetches politely — in a child process (``fetch_process``), so the
HTTP client runs on another core and keeps requests in flight while pages are read — and the pipeline here
decides what happens to a response: archive → extract → normalise → store. Sources are crawled
concurrently (politeness is per host, in the fetcher) on one event loop; every database write goes through
one writer (a DuckDB connection is not thread-safe). A list page is all-or-nothing with everything read from it (its fetches, detail pages
and attachments, their records, the availability problems seen); the writer commits the pages finished
in each half second together.

Resuming: a crawl killed at any point leaves its ``crawls`` row ``running``. The next run resumes that
crawl: pages already committed (``fetches`` rows of the crawl with a ``role``) are replayed from the WARC
archive instead of being requested again, and records are upserted by key, so nothing is lost or stored
twice. Only pages not yet committed when the process died (at most the last half second's) are fetched
again.

Incremental: each request carries the validators of the last archived response for it (ETag /
Last-Modified); an unchanged page is archived as a revisit record and read from the original's bytes.

Availability (the ``availability`` table, problems the site has, reported rather than crashed on):
``unreachable`` (no answer to the column's first page), ``column_missing`` (404/410, or redirected to the
home page), ``blocked`` (a captcha or anti-bot answer: reported once, never retried), ``dead_link`` (a
detail link that 404s), ``bad_attachment`` (a linked file over a reading limit or damaged, core.bounded)
and ``runaway_paging`` (the page limit hit, or a page repeating an earlier one).
A site that answered clearly that a column is gone or blocked is a finding about the site, not a failed
crawl; a source that could not be reached at all (perhaps our own network) is ``failed``.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import duckdb

from core import attachments
from crawlers import extract
from core import normalize
from crawlers.archive import Archive, read_response
from crawlers.fetch import DEFAULT_MAX_BYTES, FetchResult
from crawlers.fetch_process import FetchProcess
from crawlers.paging import Page, Pager, json_items
from crawlers.progress import CrawlProgress
from crawlers.report import RUN_STATUS, CrawlSummary, SourceStatus
from core import standard, store
from core.cityconfig import City, ConfigError, Source
from core.settings import Paths

# the fields naming the deciding agency, used to attribute portal records to a department
AGENCY_FIELDS = {"cf": ("CF_CFJGDM", "CF_CFJG"), "xk": ("XK_XKJGDM", "XK_XKJG")}
HTML_TYPES = ("text/html", "application/xhtml", "text/plain")
BLOCKED_STATUSES = (401, 403, 412, 429)
GONE_STATUSES = (404, 410)
CAPTCHA_MARKERS = ("验证码", "captcha", "安全验证", "人机验证", "访问过于频繁", "滑动验证")
WRITE_INTERVAL = 0.5  # seconds of finished pages written in one transaction


@dataclass
class _Batch:
    """One transaction's writes: new fetches, records by kind, availability problems, a source_runs row."""

    fetches: list[dict] = field(default_factory=list)
    records: dict[str, list[dict]] = field(default_factory=dict)
    availability: list[dict] = field(default_factory=list)
    source_runs: list[dict] = field(default_factory=list)


@dataclass
class _Got:
    """A response as the pipeline uses it: the result (304 and replays already given their bytes) and the
    fetch id of the archived bytes, which records and problems cite as evidence."""

    result: FetchResult
    fetch_id: str | None
    replayed: bool = False


@dataclass
class _Detail:
    """What a row's link gave: a detail page's fields, an attachment's records, or nothing — then ``status``
    says why (the record's ``detail_status``: ``dead``, ``failed``, ``unread``), so the completeness rules
    do not report the fields only that page held as missing: a dead link is one problem, one finding."""

    url: str
    fetch_id: str | None = None
    fields: dict[str, str] | None = None
    records: list[dict[str, str]] | None = None
    status: str | None = None


def run_crawl(city: City, paths: Paths, *, quiet: bool = False, backoff: float = 0.5, retries: int = 3,
              timeout: float = 10.0, resume: bool = True, max_bytes: int = DEFAULT_MAX_BYTES,
              reextract: str | None = None, clock: Callable[[], datetime] = datetime.now,
              only: Collection[str] | None = None) -> CrawlSummary:
    """Crawl every source of ``city`` into the working database at ``paths`` and publish a snapshot.

    An interrupted crawl is resumed (``resume``) rather than started over. ``reextract`` names a finished
    crawl to read again from its archive, offline (no request at all): a new crawl whose records are
    extracted anew, for when the extractor or the registry's synonyms have improved. ``clock`` says what time
    it is (archive dates, first and last sightings, the crawl's and its source runs' times): the wall clock,
    except in the demo city's staged crawls (``democity.staged``), which replay a season of monitoring.
    ``only`` names the sources to walk (``sgs crawl --source``: the credit portal daily, sites weekly); the
    whole configuration is still saved.
    """
    if only is not None:
        if unknown := sorted(set(only) - {s.id for s in city.sources}):
            raise ConfigError(f"城市配置中没有来源 {'、'.join(unknown)}（请检查 --source，来源编号见配置文件的 [[sources]] id）")
        walked = replace(city, sources=tuple(s for s in city.sources if s.id in set(only)))
    else:
        walked = city
    fetcher = None
    if reextract is None:  # forked before the database opens; re-extraction makes no request at all
        hosts = [(urlsplit(s.start_url).netloc, s.concurrency, s.delay, s.robots) for s in city.sources]
        fetcher = FetchProcess(city.hosts(), hosts, connect_timeout=timeout, read_timeout=timeout,
                               total_timeout=timeout * 3, retries=retries, backoff=backoff, max_bytes=max_bytes)
    try:
        con = store.connect(paths)
        try:
            store.save_city(con, city)
            run = _Run(walked, paths, con, quiet=quiet, resume=resume, reextract=reextract, fetcher=fetcher,
                       clock=clock)
            return asyncio.run(run.main())
        finally:
            con.close()
    finally:
        if fetcher is not None:
            fetcher.close()


class _Run:
    """State of one crawl: the fetcher, the archive, the writer queue, what is known from earlier runs."""

    def __init__(self, city: City, paths: Paths, con: duckdb.DuckDBPyConnection, *, quiet: bool,
                 resume: bool, reextract: str | None = None, fetcher: FetchProcess | None = None,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.city = city
        self.clock = clock
        self.paths = paths
        self.con = con
        self.progress = CrawlProgress(enabled=not quiet, sources=len(city.sources))
        unfinished = _unfinished_crawl(con) if resume and not reextract else None
        started = clock()
        crawl_id = unfinished or f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.summary = CrawlSummary(crawl_id, started, sources={s.id: SourceStatus(s.id, started_at=started)
                                                                for s in city.sources},
                                    resumed=unfinished is not None)
        self.offline = reextract is not None
        if self.offline and not con.execute("SELECT 1 FROM crawls WHERE crawl_id = ?", [reextract]).fetchone():
            raise store.StoreError(f"没有编号为 {reextract} 的抓取，无法按存档重新提取")
        # resuming retries what failed for a passing reason (no answer, 5xx); re-extraction replays all
        replayed_crawl = reextract or (crawl_id if unfinished else None)
        self.done = _done_pages(con, replayed_crawl, retry_failed=not reextract) if replayed_crawl else {}
        self.previous = _previous_responses(con)
        self.walked_before = {sid for (sid,) in con.execute(  # sources some earlier crawl walked completely
            "SELECT DISTINCT source_id FROM source_runs WHERE status = 'ok' AND crawl_id <> ?", [crawl_id]).fetchall()}
        part = len(list(paths.archive.glob(f"{crawl_id}*.warc.gz"))) if unfinished else 0
        self.archive = Archive(paths, crawl_id, part=part, clock=clock)
        self.queue: asyncio.Queue[_Batch | None] = asyncio.Queue()
        self.fetcher = fetcher
        self.labels = {s.id: extract.labels_for(s.kind, s.labels) for s in city.sources}
        self.columns_noted: set[str] = set()  # sources whose unrecognised columns were reported
        self.depts = {d.id: d for d in city.departments}

    async def main(self) -> CrawlSummary:
        if self.summary.resumed:
            self.con.execute("UPDATE crawls SET status = 'running' WHERE crawl_id = ?", [self.summary.crawl_id])
            self._say(f"续抓未完成的抓取 {self.summary.crawl_id}：已完成的 {len(self.done)} 个页面从存档读取，不再请求")
        else:
            self.con.execute("INSERT INTO crawls (crawl_id, started_at, status) VALUES (?, ?, 'running')",
                             [self.summary.crawl_id, self.summary.started_at])
        if self.fetcher is not None:
            await self.fetcher.open()
        writer = asyncio.create_task(self._writer())
        try:
            await asyncio.gather(*(self._guarded(s) for s in self.city.sources))
        except BaseException:
            self.summary.status = "failed"  # interrupted: the crawls row must not claim success
            raise
        finally:
            await self.queue.put(None)
            if self.fetcher is not None:
                await self.fetcher.aclose()
                self.fetcher = None
            await self._drain(writer)
        return self.summary

    async def _drain(self, writer: asyncio.Task) -> None:
        """Let the writer store what is queued, then close the crawl (even when writing failed)."""
        try:
            await writer
        except Exception as exc:
            self.summary.status = "failed"
            self.summary.errors.append((str(self.paths.db), f"写入数据库 {self.paths.db} 失败：{exc}"))
            raise
        finally:
            self.archive.close()
            self._finish()

    # --- the one writer ----------------------------------------------------------------------------

    async def _writer(self) -> None:
        """The only code that writes the database while sources are crawled, in a worker thread so fetching
        and parsing go on while DuckDB commits (and zlib compresses the WARC records, appended first). Pages finished within ``WRITE_INTERVAL`` of each other are
        written in one transaction: each page stays all-or-nothing, a crash loses at most that interval's
        pages (fetched again on resume), and a fast crawl pays for a few commits instead of one per page."""
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            batches = [await self.queue.get()]
            deadline = loop.time() + WRITE_INTERVAL
            while batches[-1] is not None and (wait := deadline - loop.time()) > 0:
                try:
                    batches.append(await asyncio.wait_for(self.queue.get(), wait))
                except asyncio.TimeoutError:
                    break
            done = batches[-1] is None
            # every fetch of these batches was archived before its batch was queued: its record is taken here
            await asyncio.to_thread(self._write, _merge([b for b in batches if b is not None]), self.archive.take())

    def _write(self, batch: _Batch, records: list) -> None:
        self.archive.append(records)  # the WARC records first: a stored row always points at bytes on disk
        now = self.clock()
        self.con.execute("BEGIN")
        try:
            store.insert_rows(self.con, "fetches", batch.fetches)
            for kind, rows in batch.records.items():
                store.upsert_records(self.con, kind, rows, now)
            _insert_new(self.con, "availability", batch.availability, "event_id")
            if batch.source_runs:
                # a run ends when its last records are stored, never before one of them was first seen: the
                # observed-absence rule counts only runs that ended before a record's first sighting
                for run in batch.source_runs:
                    run["finished_at"] = now
                self.con.execute("DELETE FROM source_runs WHERE crawl_id = ? AND source_id IN (SELECT unnest(?))",
                                 [self.summary.crawl_id, [r["source_id"] for r in batch.source_runs]])
                store.insert_rows(self.con, "source_runs", batch.source_runs)
            self._update_crawl_row()
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def _update_crawl_row(self, finished: datetime | None = None) -> None:
        s = self.summary
        self.con.execute("UPDATE crawls SET pages = ?, records = ?, errors = ?, status = ?, finished_at = ? "
                         "WHERE crawl_id = ?", [s.pages, s.records, len(s.errors), s.status, finished, s.crawl_id])

    def _finish(self) -> None:
        """Close the crawls row (failed when no source could be read at all), publish, report.

        A crawl is ``done`` only once its snapshot is published: the row says so first in the snapshot's copy
        (``finish_copy``, before the copy becomes current), then in the working database. A publish that fails
        (StoreError) or is killed leaves the row ``running``, so the next run resumes this crawl — its pages
        replayed from the archive, nothing requested again — and publishes it."""
        s = self.summary
        all_failed = bool(s.sources) and len(s.failed_sources) == len(s.sources)
        final = "failed" if all_failed or s.status == "failed" else "done"
        s.finished_at = self.clock()
        s.baseline = [sid for sid, st in s.sources.items() if st.status == "ok" and sid not in self.walked_before]
        s.status = "running" if final == "done" else final
        self._update_crawl_row(s.finished_at)
        try:
            s.snapshot = store.publish(self.con, self.paths, finish_copy=lambda snap: self._mark(snap, final))
        finally:
            self.progress.close()
        s.status = final
        self._mark(self.con, final)
        self._say(s.line())

    def _mark(self, con: duckdb.DuckDBPyConnection, status: str) -> None:
        con.execute("UPDATE crawls SET status = ? WHERE crawl_id = ?", [status, self.summary.crawl_id])

    # --- one source --------------------------------------------------------------------------------

    async def _guarded(self, source: Source) -> None:
        """Crawl one source; an unexpected error ends this source only, never the others."""
        try:
            await self._crawl_source(source)
        except Exception as exc:  # a bug or a page we could not read must not stop the other sources
            self._error(source, source.start_url, f"抓取来源 {source.id}（{source.start_url}）时出错：{exc!r}",
                        fatal=self.summary.sources[source.id].pages == 0)
        st = self.summary.sources[source.id]
        await self.queue.put(_Batch(source_runs=[{
            "crawl_id": self.summary.crawl_id, "source_id": source.id, "started_at": st.started_at,
            "finished_at": self.clock(), "pages": st.fetched, "records": st.records, "errors": st.errors,
            "status": RUN_STATUS[st.status], "message": st.message}]))
        self.progress.source_done()
        self._say(f"来源 {source.id}：{st.pages} 个列表页，{st.records} 条记录，{st.errors} 个错误", verbose=True)

    async def _crawl_source(self, source: Source) -> None:
        pager = Pager(source)
        url: str | None = pager.first()
        number = 0
        bodies: dict[str, int] = {}  # list page sha256 → page number: a repeat means the paging runs away
        while url is not None:
            if number >= source.max_pages:
                message = (f"{source.start_url} 翻页已达上限 {source.max_pages} 页仍未结束，已停止"
                           f"（分页可能失控，请检查来源 {source.id} 的分页设置）")
                batch = _Batch()
                self._problem(source, "runaway_paging", url, None, message, batch)
                self._error(source, url, message)
                await self.queue.put(batch)
                return
            number += 1
            page = await self._crawl_page(source, url, pager.form(number), number, bodies, pager)
            if page is None:
                return
            url = pager.next(page)
            if number == 1 and pager.cap is not None:
                self._warn(page.url, f"来源 {source.id}：接口每页最多返回 {pager.cap} 条（请求 {pager.json_size()} 条），"
                                     f"已按 {pager.cap} 条翻页")
        self._check_ended(source, pager)

    def _check_ended(self, source: Source, pager: Pager) -> None:
        """A list that ended short of the total its first page states lost records: an error, never silence."""
        gap = pager.shortfall()
        if gap is not None:
            self._error(source, source.start_url, f"{source.start_url} 翻页在第 {pager.last_page} 页后结束，但{gap}"
                                                  f"（其余记录未能读取，请检查来源 {source.id} 的分页）")

    async def _crawl_page(self, source: Source, url: str, form: dict | None, number: int,
                          bodies: dict[str, int], pager: Pager) -> Page | None:
        """Fetch, read and queue one list page (with its details); None when the source cannot go on."""
        batch = _Batch()
        got = await self._get(source, url, form, "list", batch)
        result = got.result
        if self._past_the_end(number, result, pager):
            await self.queue.put(batch)  # the 404 is archived as the evidence of where the list ended
            return None
        if not result.ok or (number == 1 and self._moved_home(source, result)):
            self._list_failure(source, got, number, batch, pager)
            await self.queue.put(batch)
            return None
        text = extract.decode(result.body, result.content_type, source.encoding)
        sha = hashlib.sha256(result.body).hexdigest()
        if sha in bodies and source.paging.get("style") != "none":
            message = (f"{result.final_url} 第 {number} 页与第 {bodies[sha]} 页内容相同，翻页没有前进，已停止"
                       f"（分页失控，请检查来源 {source.id} 的分页设置）")
            self._problem(source, "runaway_paging", result.final_url, got.fetch_id, message, batch)
            self._error(source, result.final_url, message)
            await self.queue.put(batch)
            return None
        bodies[sha] = number
        doc = None
        if source.paging.get("style") == "json":
            n_items = self._json_page(source, text, got, batch, fatal=number == 1)
        else:
            doc = extract.parse(text)
            n_items = await self._site_page(source, doc, got, batch)
            if n_items == 0 and _looks_blocked(text):
                self._blocked(source, got, batch, fatal=number == 1)
                n_items = None
        if n_items is None:
            await self.queue.put(batch)
            return None
        if number == 1 and n_items == 0:
            self._warn(url, f"{url} 第 1 页没有读到任何记录（栏目为空，或页面结构无法识别）")
        self._count_page(source, sum(len(v) for v in batch.records.values()))
        await self.queue.put(batch)
        return Page(result.final_url, number, text, n_items, doc)

    def _moved_home(self, source: Source, result: FetchResult) -> bool:
        """A column that now redirects to the site's home page (or the host's root) is gone."""
        if result.final_url == result.url:
            return False
        dept = self.depts.get(source.dept or "")
        home = dept.website.rstrip("/") if dept and dept.website else None
        return urlsplit(result.final_url).path in ("", "/") or result.final_url.rstrip("/") == home

    @staticmethod
    def _past_the_end(number: int, result: FetchResult, pager: Pager) -> bool:
        """A guessed page after the first answering 404/410 with nothing stated still to come: the list's
        normal end (many CMSs answer so past the last page), not an error."""
        return (number > 1 and result.status in GONE_STATUSES and pager.guesses
                and pager.shortfall() is None)

    def _list_failure(self, source: Source, got: _Got, number: int, batch: _Batch, pager: Pager) -> None:
        """Why a list page gave nothing, as an error, and for the column's first page as a problem."""
        result = got.result
        if result.ok:  # redirected to the home page
            message = f"{result.url} 跳转至首页 {result.final_url}：栏目已不存在"
            self._problem(source, "column_missing", result.url, got.fetch_id, message, batch)
            self._error(source, result.url, message, unavailable=True)
            return
        if result.status in BLOCKED_STATUSES or (result.status and _looks_blocked(_text(result))):
            self._blocked(source, got, batch, fatal=number == 1)
            return
        message = _fetch_message(result)
        if number == 1 and result.status in GONE_STATUSES:
            self._problem(source, "column_missing", result.url, got.fetch_id, f"栏目页 HTTP {result.status}：{message}",
                          batch)
            self._error(source, result.url, message, unavailable=True)
            return
        if number == 1 and result.status is None and result.transient:
            self._problem(source, "unreachable", result.url, got.fetch_id, message, batch)
        if number > 1 and (gap := pager.shortfall()) is not None:
            message += f"（{gap}）"
        self._error(source, result.url, message, fatal=number == 1)

    def _blocked(self, source: Source, got: _Got, batch: _Batch, *, fatal: bool) -> None:
        result = got.result
        message = (f"{result.url} 返回验证码或访问限制页面（HTTP {result.status}），已停止该来源，不反复重试")
        self._problem(source, "blocked", result.url, got.fetch_id, message, batch)
        self._error(source, result.url, message, unavailable=fatal)

    async def _site_page(self, source: Source, doc: extract.Html, got: _Got, batch: _Batch) -> int:
        """A list page: each row with a link is completed by its detail page or attachment; rows without
        one are records as they are."""
        base = got.result.final_url
        labels = self.labels[source.id]
        pattern = source.rows.get("links")
        rows = extract.link_rows(doc, pattern, base) if pattern else extract.list_rows(doc, source.kind, base, labels)
        if not pattern and source.id not in self.columns_noted:
            self._note_columns(source, base, extract.list_header(doc, source.kind, labels))
        links = list(dict.fromkeys(r.link for r in rows if r.link))  # each detail page fetched once
        details = dict(zip(links, await asyncio.gather(*(self._detail(source, link, batch) for link in links))))
        for list_row in rows:
            detail = details.get(list_row.link) if list_row.link else None
            if detail is not None and detail.records is not None:
                for rec in detail.records:  # an attachment: its rows, dated by the list
                    self._add_record(source, batch, {**list_row.fields, **_nonempty(rec)}, detail.url,
                                     detail.fetch_id or got.fetch_id)
                continue
            fields, url, fetch_id = dict(list_row.fields), base, got.fetch_id
            if detail is not None and detail.fields is not None:  # detail values overlay the list's
                fields.update(_nonempty(detail.fields))
                url, fetch_id = detail.url, detail.fetch_id or fetch_id
            elif not any(v for k, v in fields.items() if k != "FBRQ"):
                continue  # a bare title link whose page failed: nothing to store (the failure is reported)
            self._add_record(source, batch, fields, url, fetch_id, detail_status=detail.status if detail else None)
        return len(rows)

    async def _detail(self, source: Source, link: str, batch: _Batch) -> _Detail:
        """A row's link: a detail page's fields or an attachment's records (neither when it failed)."""
        got = await self._get(source, link, None, "detail", batch)
        result = got.result
        if not result.ok:
            message = _fetch_message(result) + "（详情页不可用，仅保留列表中的信息）"
            if result.status in GONE_STATUSES:
                self._problem(source, "dead_link", link, got.fetch_id, f"详情链接失效（HTTP {result.status}）：{link}",
                              batch)
            self._error(source, link, message)
            return _Detail(link, status="dead" if result.status in GONE_STATUSES else "failed")
        fmt = attachments.file_format(result.final_url, result.content_type)
        if fmt is not None:
            try:
                tables = attachments.tables(result.body, fmt, result.content_type)
            except ValueError as exc:  # over a limit or damaged (core.bounded): this file only
                self._problem(source, "bad_attachment", link, got.fetch_id, f"{fmt.upper()} 附件：{exc}", batch)
                self._error(source, link, f"附件 {link} 无法读取：{exc}")
                return _Detail(link, status="failed")
            labels = self.labels[source.id]
            records = [r for t in tables for r in extract.table_records(t, source.kind, labels)]
            for t in tables if source.id not in self.columns_noted else ():
                self._note_columns(source, link, extract.table_header(t, source.kind, labels))
            if not records:
                self._warn(link, f"附件 {link} 中没有找到可识别表头的表格")
            return _Detail(result.final_url, got.fetch_id, records=records)
        content_type = (result.content_type or "text/html").lower()
        if not content_type.startswith(HTML_TYPES):
            return _Detail(link, status="unread")  # a PDF or image: not read; the list row stands
        text = extract.decode(result.body, result.content_type, source.encoding)
        return _Detail(result.final_url, got.fetch_id,
                       fields=extract.detail_fields(text, source.kind, self.labels[source.id]))

    def _json_page(self, source: Source, text: str, got: _Got, batch: _Batch, *, fatal: bool) -> int | None:
        """A JSON page: one record per list item; the API page is the evidence."""
        result = got.result
        problem = None
        try:
            doc = json.loads(text)
        except ValueError:
            if _looks_blocked(text):
                self._blocked(source, got, batch, fatal=fatal)
                return None
            problem = f"{result.url} 返回的不是有效的 JSON（可能被验证码或访问限制拦截）"
        else:
            if isinstance(doc, dict) and doc.get("success") is False:
                problem = f"{result.url} 接口返回失败：{doc.get('message') or doc.get('msg') or '未说明原因'}"
        if problem:
            for row in batch.fetches:
                if row["fetch_id"] == got.fetch_id:
                    row["error"] = problem  # the response is archived, but it was not usable
            self._error(source, result.url, problem, fatal=fatal)
            return None
        items = json_items(doc, source.paging)
        labels = self.labels[source.id]
        for entity in items:
            self._add_record(source, batch, extract.entity_fields(entity, source.kind, labels), result.final_url,
                             got.fetch_id)
        return len(items)

    # --- records and problems ----------------------------------------------------------------------

    def _add_record(self, source: Source, batch: _Batch, raw: dict[str, str], url: str, fetch_id: str, *,
                    detail_status: str | None = None) -> None:
        """Normalise one record, attribute it, key it, and add it to the batch (``detail_status``: why its
        detail page was not read, stored so a later crawl that reads it clears the mark)."""
        fields = normalize.normalise_record(source.kind, raw)
        std = standard.load(source.kind)
        if not any(fields.get(code) for code in std.codes):
            self._error(source, url, f"{url} 中的一条记录没有读出任何标准字段，已跳过")
            return
        dept_id = source.dept or self._attribute(source.kind, fields)  # portal sources have no dept
        wsh, name = fields.get(std.prefixed("WSH")), fields.get(std.prefixed("XDR_MC"))
        # neither 文书号 nor 相对人名称: the page URL keeps distinct pages distinct
        key = normalize.record_key(source.channel, dept_id, source.kind, wsh, name or (None if wsh else url))
        batch.records.setdefault(source.kind, []).append({
            **fields, "record_key": key, "dept_id": dept_id, "source_id": source.id, "channel": source.channel,
            "url": url, "fetch_id": fetch_id, "detail_status": detail_status, "std_version": standard.CURRENT_VERSION})

    def _attribute(self, kind: str, fields: dict[str, str | None]) -> str | None:
        """The department a portal record belongs to: by the agency's credit code, else by its exact name."""
        code_field, name_field = AGENCY_FIELDS[kind]
        code, name = fields.get(code_field), fields.get(name_field)
        for dept in self.city.departments:
            if code and normalize.normalise_identifier(dept.credit_code) == code:
                return dept.id
        for dept in self.city.departments:
            if name and normalize.clean_text(dept.name) == normalize.clean_text(name):
                return dept.id
        return None

    def _problem(self, source: Source, problem: str, url: str, fetch_id: str | None, detail: str,
                 batch: _Batch) -> None:
        """An availability problem; its id is stable within the crawl, so a resumed crawl cannot repeat it."""
        event_id = hashlib.md5(f"{self.summary.crawl_id}|{source.id}|{problem}|{url}".encode()).hexdigest()
        self.summary.problems.append((source.id, problem, url))
        batch.availability.append({
            "event_id": event_id, "crawl_id": self.summary.crawl_id, "source_id": source.id, "dept_id": source.dept,
            "channel": source.channel, "kind": source.kind, "problem": problem, "url": url, "fetch_id": fetch_id,
            "detail": detail, "observed_at": self.clock()})

    # --- fetching (with replay, conditional requests and the archive) ------------------------------

    async def _get(self, source: Source, url: str, form: dict | None, role: str, batch: _Batch) -> _Got:
        """The response for a request: replayed from the archive when this crawl already has it, else
        fetched (conditionally) and archived, its row added to ``batch``."""
        key = (url, urlencode(form) if form is not None else None)
        self.summary.sources[source.id].fetched += 1
        done = self.done.get(key)
        if done is not None:
            self.summary.replayed += 1
            self.progress.update(self.summary)
            return self._replay(done)
        if self.offline:  # re-extraction never goes to the network
            return _Got(FetchResult(url, url, error=f"重新提取：存档中没有 {url}，不联网抓取", form=form), None)
        assert self.fetcher is not None
        previous = self.previous.get(key)
        headers = {}
        if previous and previous["etag"]:
            headers["If-None-Match"] = previous["etag"]
        if previous and previous["last_modified"]:
            headers["If-Modified-Since"] = previous["last_modified"]
        result = await self.fetcher.fetch(url, form=form, headers=headers)
        row = self.archive.write(result, source_id=source.id, previous=previous)
        row["role"] = role
        batch.fetches.append(row)
        self.progress.update(self.summary, fetched=1)
        if row["revisit_of"]:
            self.summary.unchanged += 1
            _uri, http, body = read_response(self.paths, previous["warc_file"], previous["warc_offset"])
            result = replace(result, status=200, body=body, error=None, headers=http.headers if result.status == 304
                             else result.headers)
            return _Got(result, row["revisit_of"])
        return _Got(result, row["fetch_id"])

    def _replay(self, row: dict) -> _Got:
        """A completed page of this crawl, read back from the archive (no request)."""
        result = FetchResult(row["url"], row["url"], status=row["status"], error=row["error"],
                             form=dict(_parse_form(row["form"])) if row["form"] else None)
        body_row = row.get("original") or row
        if body_row.get("warc_file"):
            uri, http, body = read_response(self.paths, body_row["warc_file"], body_row["warc_offset"])
            final = uri if body_row is row else row["url"]
            result = replace(result, final_url=final, headers=list(http.headers), body=body,
                             status=200 if row.get("original") else row["status"])
        return _Got(result, row["revisit_of"] or row["fetch_id"], replayed=True)

    # --- bookkeeping -------------------------------------------------------------------------------

    def _count_page(self, source: Source, records: int) -> None:
        st = self.summary.sources[source.id]
        st.pages += 1
        st.records += records
        self.summary.pages += 1
        self.summary.records += records
        self.progress.update(self.summary)

    def _error(self, source: Source, url: str, message: str, *, fatal: bool = False,
               unavailable: bool = False) -> None:
        """Record an error against its URL; ``fatal``: the source yielded nothing; ``unavailable``: because
        the site says the column is gone or blocked (a finding about the site, not a failed crawl)."""
        self.summary.errors.append((url, message))
        st = self.summary.sources[source.id]
        st.errors += 1
        st.message = st.message or message
        if unavailable:
            st.status = "unavailable"
        elif fatal:
            st.status = "failed"
        elif st.status == "ok":
            st.status = "partial"
        self._say(message)

    def _note_columns(self, source: Source, url: str, headers: list[str]) -> None:
        """A list's or a file's header columns that name no field, warned once per source (the first header
        read): the columns are ignored, and someone may map them in the source's ``labels``."""
        if source.id in self.columns_noted or not headers:
            return
        self.columns_noted.add(source.id)
        unknown = [h for _, h in extract.unrecognised_columns(headers, self.labels[source.id])]
        if unknown:
            self._warn(url, f"来源 {source.id}：未识别的列 {'、'.join(unknown)}（已忽略；如为标准字段，"
                            f"请在该来源的 labels 中将表头对应到字段代码）")

    def _warn(self, url: str, message: str) -> None:
        self.summary.warnings.append((url, message))
        self._say(message)

    def _say(self, text: str, verbose: bool = False) -> None:
        self.progress.log(text, verbose=verbose)


# --- helpers -------------------------------------------------------------------------------------

def _merge(batches: list[_Batch]) -> _Batch:
    """Several batches as one (records of a key: the later batch wins, as it would written in turn)."""
    out = _Batch()
    for b in batches:
        out.fetches += b.fetches
        for kind, rows in b.records.items():
            out.records.setdefault(kind, []).extend(rows)
        out.availability += b.availability
        out.source_runs += b.source_runs
    return out


def _nonempty(fields: dict[str, str]) -> dict[str, str]:
    """Values that say something: empty cells of a detail page or attachment do not erase the list's."""
    return {k: v for k, v in fields.items() if v and v.strip()}


def _text(result: FetchResult) -> str:
    return extract.decode(result.body[:65536], result.content_type) if result.body else ""


def _looks_blocked(text: str) -> bool:
    """A captcha or anti-bot wall rather than content (checked only where no rows were found)."""
    head = text[:20000].lower()
    return any(marker in head for marker in CAPTCHA_MARKERS)


def _parse_form(form: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(form, keep_blank_values=True)


def _fetch_message(result: FetchResult) -> str:
    """The fetcher's reason, plus how hard we tried (so "unreachable" is not mistaken for a single blip)."""
    message = result.error or f"{result.url} 返回 HTTP {result.status}"
    return message + (f"（共尝试 {result.attempts} 次）" if result.attempts > 1 else "")


def _insert_new(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], key: str) -> None:
    """Insert rows whose ``key`` is not stored yet (idempotent, so a resumed crawl never duplicates)."""
    if rows:
        rows = list({r[key]: r for r in rows}.values())
        existing = {r[0] for r in con.execute(f"SELECT {key} FROM {table} WHERE {key} IN (SELECT unnest(?))",
                                              [[r[key] for r in rows]]).fetchall()}
        store.insert_rows(con, table, [r for r in rows if r[key] not in existing])


def _unfinished_crawl(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest crawl left ``running`` (its process was killed): DuckDB's lock means none is alive."""
    row = con.execute("SELECT crawl_id FROM crawls WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
                      ).fetchone()
    return row[0] if row else None


_FETCH_COLUMNS = ("fetch_id", "url", "form", "status", "error", "warc_file", "warc_offset", "revisit_of",
                  "sha256", "etag", "last_modified", "fetched_at")


def _done_pages(con: duckdb.DuckDBPyConnection, crawl_id: str, *,
                retry_failed: bool) -> dict[tuple[str, str | None], dict]:
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


def _previous_responses(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str | None], dict]:
    """The last archived body of every request (its validators and hash), for conditional requests."""
    cols = ", ".join(_FETCH_COLUMNS + ("warc_length",))
    rows = con.execute(f"""SELECT {cols} FROM fetches
                           WHERE warc_file IS NOT NULL AND revisit_of IS NULL AND status = 200 AND error IS NULL
                           QUALIFY row_number() OVER (PARTITION BY url, form ORDER BY fetched_at DESC) = 1""").fetchall()
    names = (*_FETCH_COLUMNS, "warc_length")
    return {(r[1], r[2]): dict(zip(names, r)) for r in rows}
