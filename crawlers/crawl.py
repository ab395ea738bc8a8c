"""One crawl run: every configured source → pages → records → the working database, then a published snapshot.

Shape (scrapy's split): ``paging``/``extract`` say what to fetch and how to read it, ``fetch`` fetches
politely, and the single writer task here decides what happens to a record. Sources are crawled
concurrently (politeness is per host, in the fetcher); everything runs on one event loop, and all database
writes go through one writer task fed by a queue, because a DuckDB connection is not thread-safe. Each page's
fetches and records are committed together, so a crash loses at most the page in flight.

A source that cannot be reached is reported and the others go on: a monitor's job is to notice dead
columns, not to die with them.
"""
from __future__ import annotations

import asyncio
import json
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from crawlers import extract, normalize
from crawlers.archive import Archive
from crawlers.fetch import FetchResult, Fetcher
from crawlers.paging import Page, Pager, json_items
from metrics import standard, store
from sgs.cityconfig import City, Source
from sgs.settings import Paths

# the fields naming the deciding agency, used to attribute portal records to a department
AGENCY_FIELDS = {"cf": ("CF_CFJGDM", "CF_CFJG"), "xk": ("XK_XKJGDM", "XK_XKJG")}
HTML_TYPES = ("text/html", "application/xhtml", "text/plain")


@dataclass
class SourceStatus:
    """How one source went: ``ok``, ``partial`` (some pages or details failed) or ``failed`` (nothing read)."""

    source_id: str
    pages: int = 0
    records: int = 0
    errors: int = 0
    status: str = "ok"


@dataclass
class CrawlSummary:
    """What a crawl did, for the command line and the tests; errors name the URL they are about."""

    crawl_id: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    pages: int = 0
    records: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # worth a look, not a failure (empty column)
    sources: dict[str, SourceStatus] = field(default_factory=dict)
    snapshot: Path | None = None

    @property
    def failed_sources(self) -> list[str]:
        return [s.source_id for s in self.sources.values() if s.status == "failed"]

    def line(self) -> str:
        failed = f"，无法抓取的来源：{'、'.join(self.failed_sources)}" if self.failed_sources else ""
        return (f"抓取 {self.crawl_id} {_STATUS_NAMES.get(self.status, self.status)}：{len(self.sources)} 个来源，"
                f"{self.pages} 个列表页，{self.records} 条记录，{len(self.errors)} 个错误{failed}")


_STATUS_NAMES = {"running": "进行中", "done": "完成", "failed": "失败"}


@dataclass
class _Batch:
    """One page's worth of writes: its fetches (list page and details) and the records read from them."""

    kind: str
    fetches: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def run_crawl(city: City, paths: Paths, *, quiet: bool = False, backoff: float = 0.5, retries: int = 3,
              timeout: float = 10.0) -> CrawlSummary:
    """Crawl every source of ``city`` into the working database at ``paths`` and publish a snapshot."""
    con = store.connect(paths)
    try:
        store.save_city(con, city)
        run = _Run(city, paths, con, quiet=quiet)
        return asyncio.run(run.main(backoff=backoff, retries=retries, timeout=timeout))
    finally:
        con.close()


class _Run:
    """State of one crawl: the fetcher, the archive, the writer queue and the summary."""

    def __init__(self, city: City, paths: Paths, con: duckdb.DuckDBPyConnection, *, quiet: bool) -> None:
        self.city = city
        self.paths = paths
        self.con = con
        self.quiet = quiet
        started = datetime.now()
        crawl_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.summary = CrawlSummary(crawl_id, started, sources={s.id: SourceStatus(s.id) for s in city.sources})
        self.archive = Archive(paths, crawl_id)
        self.queue: asyncio.Queue[_Batch | None] = asyncio.Queue()
        self.fetcher: Fetcher | None = None

    async def main(self, *, backoff: float, retries: int, timeout: float) -> CrawlSummary:
        self.con.execute("INSERT INTO crawls (crawl_id, started_at, status) VALUES (?, ?, 'running')",
                         [self.summary.crawl_id, self.summary.started_at])
        self.fetcher = Fetcher(self.city.hosts(), connect_timeout=timeout, read_timeout=timeout,
                               total_timeout=timeout * 3, retries=retries, backoff=backoff)
        for s in self.city.sources:
            self.fetcher.configure_host(urlsplit(s.start_url).netloc, concurrency=s.concurrency, delay=s.delay)
        writer = asyncio.create_task(self._writer())
        try:
            await asyncio.gather(*(self._guarded(s) for s in self.city.sources))
        except BaseException:
            self.summary.status = "failed"  # interrupted: the crawls row must not claim success
            raise
        finally:
            await self.queue.put(None)
            await self.fetcher.aclose()
            self.archive.close()
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
            self._finish()

    # --- the one writer ----------------------------------------------------------------------------

    async def _writer(self) -> None:
        """The only code that writes the database while sources are crawled: one transaction per page."""
        while (batch := await self.queue.get()) is not None:
            self.con.execute("BEGIN")
            try:
                store.insert_rows(self.con, "fetches", batch.fetches)
                store.upsert_records(self.con, batch.kind, batch.records, datetime.now())
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
        """Close the crawls row (failed when no source could be read at all), publish, report."""
        s = self.summary
        all_failed = bool(s.sources) and len(s.failed_sources) == len(s.sources)
        s.status = "failed" if all_failed or s.status == "failed" else "done"
        s.finished_at = datetime.now()
        self._update_crawl_row(s.finished_at)
        s.snapshot = store.publish(self.con, self.paths)
        self._say(s.line())

    # --- one source --------------------------------------------------------------------------------

    async def _guarded(self, source: Source) -> None:
        """Crawl one source; an unexpected error ends this source only, never the others."""
        try:
            await self._crawl_source(source)
        except Exception as exc:  # a bug or a page we could not read must not stop the other sources
            self._error(source, source.start_url, f"抓取来源 {source.id}（{source.start_url}）时出错：{exc!r}",
                        fatal=self.summary.sources[source.id].pages == 0)
        st = self.summary.sources[source.id]
        self._say(f"来源 {source.id}：{st.pages} 个列表页，{st.records} 条记录，{st.errors} 个错误")

    async def _crawl_source(self, source: Source) -> None:
        pager = Pager(source)
        url: str | None = pager.first()
        number = 0
        while url is not None:
            if number >= source.max_pages:
                self._error(source, url, f"{source.start_url} 翻页已达上限 {source.max_pages} 页仍未结束，"
                                         f"已停止（分页可能失控，请检查来源 {source.id} 的分页设置）")
                return
            number += 1
            pager.seen.add(url)
            page = await self._crawl_page(source, url, number)
            if page is None:
                return
            url = pager.next(page)

    async def _crawl_page(self, source: Source, url: str, number: int) -> Page | None:
        """Fetch, read and queue one list page; None when the source cannot go on."""
        result, row = await self._get(source, url)
        batch = _Batch(source.kind, fetches=[row])
        if not result.ok:
            self._error(source, url, _fetch_message(result), fatal=number == 1)
            await self.queue.put(batch)
            return None
        text = extract.decode(result.body, result.content_type)
        if source.paging.get("style") == "json":
            n_items = self._portal_page(source, text, result, row, batch, fatal=number == 1)
        else:
            n_items = await self._site_page(source, text, result, row, batch)
        if n_items is None:
            await self.queue.put(batch)
            return None
        if number == 1 and n_items == 0:
            self._warn(url, f"{url} 第 1 页没有读到任何记录（栏目为空，或页面结构无法识别）")
        self._count_page(source, len(batch.records))
        await self.queue.put(batch)
        return Page(result.final_url, number, text, n_items)

    async def _site_page(self, source: Source, text: str, result: FetchResult, row: dict, batch: _Batch) -> int:
        """A list page: each row with a link is completed by its detail page; the rest are records as they are."""
        rows = extract.list_rows(text, source.kind, result.final_url)
        links = list(dict.fromkeys(r.link for r in rows if r.link))  # each detail page fetched once
        details = dict(zip(links, await asyncio.gather(*(self._detail(source, link) for link in links))))
        batch.fetches += [detail_row for _, _, detail_row in details.values()]
        for list_row in rows:
            fields, url, fetch_id = dict(list_row.fields), result.final_url, row["fetch_id"]
            detail_fields, detail_url, detail_row = details.get(list_row.link) or (None, url, row)
            if detail_fields is not None:  # detail values overlay the list's; empty cells do not erase them
                fields.update({k: v for k, v in detail_fields.items() if v.strip()})
                url, fetch_id = detail_url, detail_row["fetch_id"]
            self._add_record(source, batch, fields, url, fetch_id)
        return len(rows)

    async def _detail(self, source: Source, link: str) -> tuple[dict[str, str] | None, str, dict]:
        """The detail page's fields (None when it could not be read: the list row then stands alone)."""
        result, row = await self._get(source, link)
        if not result.ok:
            self._error(source, link, _fetch_message(result) + "（详情页不可用，仅保留列表中的信息）")
            return None, link, row
        content_type = (result.content_type or "text/html").lower()
        if not content_type.startswith(HTML_TYPES):
            return None, link, row  # an attachment (xls, pdf): read in a later version; the list row stands
        fields = extract.detail_fields(extract.decode(result.body, result.content_type), source.kind)
        return fields, result.final_url, row

    def _portal_page(self, source: Source, text: str, result: FetchResult, row: dict, batch: _Batch, *,
                     fatal: bool) -> int | None:
        """A JSON page: one record per list item; the API page is the evidence."""
        problem = None
        try:
            doc = json.loads(text)
        except ValueError:
            problem = f"{result.url} 返回的不是有效的 JSON（可能被验证码或访问限制拦截）"
        else:
            if isinstance(doc, dict) and doc.get("success") is False:
                problem = f"{result.url} 接口返回失败：{doc.get('message') or doc.get('msg') or '未说明原因'}"
        if problem:
            row["error"] = problem  # the response is archived, but it was not usable
            self._error(source, result.url, problem, fatal=fatal)
            return None
        items = json_items(doc, source.paging)
        for entity in items:
            self._add_record(source, batch, extract.entity_fields(entity, source.kind), result.final_url,
                             row["fetch_id"])
        return len(items)

    # --- records -----------------------------------------------------------------------------------

    def _add_record(self, source: Source, batch: _Batch, raw: dict[str, str], url: str, fetch_id: str) -> None:
        """Normalise one record, attribute it, key it, and add it to the page's batch."""
        fields = normalize.normalise_record(source.kind, raw)
        std = standard.load(source.kind)
        if not any(fields.get(code) for code in std.codes):
            self._error(source, url, f"{url} 中的一条记录没有读出任何标准字段，已跳过")
            return
        dept_id = source.dept or self._attribute(source.kind, fields)  # portal sources have no dept
        wsh, name = fields.get(std.prefixed("WSH")), fields.get(std.prefixed("XDR_MC"))
        # neither 文书号 nor 相对人名称: the page URL keeps distinct pages distinct
        key = normalize.record_key(source.channel, dept_id, source.kind, wsh, name or (None if wsh else url))
        batch.records.append({**fields, "record_key": key, "dept_id": dept_id, "source_id": source.id,
                              "channel": source.channel, "url": url, "fetch_id": fetch_id,
                              "std_version": standard.CURRENT_VERSION})

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

    # --- helpers -----------------------------------------------------------------------------------

    async def _get(self, source: Source, url: str) -> tuple[FetchResult, dict]:
        """Fetch and archive; the archive row is the evidence every record and finding points to."""
        assert self.fetcher is not None
        result = await self.fetcher.fetch(url)
        return result, self.archive.write(result, source_id=source.id)

    def _count_page(self, source: Source, records: int) -> None:
        st = self.summary.sources[source.id]
        st.pages += 1
        st.records += records
        self.summary.pages += 1
        self.summary.records += records

    def _error(self, source: Source, url: str, message: str, *, fatal: bool = False) -> None:
        """Record an error against its URL; ``fatal`` means the source yielded nothing at all."""
        self.summary.errors.append((url, message))
        st = self.summary.sources[source.id]
        st.errors += 1
        st.status = "failed" if fatal else ("partial" if st.status == "ok" else st.status)
        self._say(message)

    def _warn(self, url: str, message: str) -> None:
        self.summary.warnings.append((url, message))
        self._say(message)

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(f"[sgs] {text}", file=sys.stderr, flush=True)


def _fetch_message(result: FetchResult) -> str:
    """The fetcher's reason, plus how hard we tried (so "unreachable" is not mistaken for a single blip)."""
    message = result.error or f"{result.url} 返回 HTTP {result.status}"
    return message + (f"（共尝试 {result.attempts} 次）" if result.attempts > 1 else "")
