"""The spider (scrapy's term): one source walked, list page by list page, into batches for the pipeline.

What a source is (its paging, rows, labels, encoding) is in its profile (``core.cityconfig.Source``);
``crawlers.paging`` gives the next page, ``crawlers.extract`` and ``core.attachments`` read the pages,
the downloader (``crawlers.downloader``) answers the requests, ``crawlers.availability`` judges the answers
that are a problem of the site, and ``crawlers.pipeline`` turns rows into records. Each list page, with its
detail pages and attachments and everything read from them, is one ``Batch`` on the writer's queue.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from dataclasses import dataclass

from core.cityconfig import Source
from core import attachments
from core.decode import decode
from core.tables import unrecognised_columns
from crawlers import availability, extract
from crawlers.context import Run
from crawlers.downloader import Downloader, Got
from crawlers.paging import Page, Pager, json_items
from crawlers.pipeline import Batch, add_record, nonempty

HTML_TYPES = ("text/html", "application/xhtml", "text/plain")


@dataclass
class Detail:
    """What a row's link gave: a detail page's fields, an attachment's records, or nothing — then ``status``
    says why (the record's ``detail_status``: ``dead``, ``failed``, ``unread``), so the completeness rules
    do not report the fields only that page held as missing: a dead link is one problem, one finding."""

    url: str
    fetch_id: str | None = None
    fields: dict[str, str] | None = None
    records: list[dict[str, str]] | None = None
    status: str | None = None
    resight: int = 0  # unchanged, like its list page: the records stored from it are re-sighted, not read


class Spider:
    """Walks the sources of one run; each source's pages go to ``queue`` as they are read."""

    def __init__(self, run: Run, downloader: Downloader, queue: asyncio.Queue[Batch | None], *,
                 resight: Collection[str] = ()) -> None:
        self.run = run
        self.downloader = downloader
        self.queue = queue
        self.resight = set(resight)  # sources whose unchanged pages may be re-sighted (``crawlers.crawl``)
        # the label lookups of the sources being walked only: a source's own ``labels`` make it a copy of the
        # registry's synonyms, and a province has thousands of sources (dropped when the source is done)
        self.labels: dict[str, dict[str, str]] = {}
        self.columns_noted: set[str] = set()  # sources whose unrecognised columns were reported

    async def crawl(self, source: Source) -> None:
        """Every list page of ``source``, until the paging ends, a page fails or the page limit is hit;
        what was held for it alone is let go when it is done."""
        self.labels[source.id] = extract.labels_for(source.kind, source.labels)
        try:
            await self._walk(source)
        finally:
            del self.labels[source.id]

    async def _walk(self, source: Source) -> None:
        pager = Pager(source)
        url: str | None = pager.first()
        number = 0
        bodies: dict[str, int] = {}  # list page sha256 → page number: a repeat means the paging runs away
        while url is not None:
            if number >= source.max_pages:
                batch = Batch()
                availability.page_limit(self.run, source, url, batch.availability)
                await self.queue.put(batch)
                return
            number += 1
            page = await self._list_page(source, url, pager.form(number), number, bodies, pager)
            if page is None:
                return
            url = pager.next(page)
            if number == 1 and pager.cap is not None:
                self.run.warn(page.url, f"来源 {source.id}：接口每页最多返回 {pager.cap} 条（请求 {pager.json_size()} 条），"
                                        f"已按 {pager.cap} 条翻页")
        self._check_ended(source, pager)

    def _check_ended(self, source: Source, pager: Pager) -> None:
        """A list that ended short of the total its first page states lost records: an error, never silence."""
        gap = pager.shortfall()
        if gap is not None:
            self.run.error(source, source.start_url, f"{source.start_url} 翻页在第 {pager.last_page} 页后结束，但{gap}"
                                                     f"（其余记录未能读取，请检查来源 {source.id} 的分页）", cause="paging")

    async def _list_page(self, source: Source, url: str, form: dict[str, str] | None, number: int,
                         bodies: dict[str, int], pager: Pager) -> Page | None:
        """Fetch, read and queue one list page (with its details); None when the source cannot go on."""
        batch = Batch()
        page = await self._read_list_page(source, url, form, number, bodies, pager, batch)
        if page is not None:
            if number == 1 and page.n_items == 0:
                self.run.warn(url, f"{url} 第 1 页没有读到任何记录（栏目为空，或页面结构无法识别）")
            self.run.count_page(source, batch.record_count())
        await self.queue.put(batch)  # a failed page too: its fetch is the evidence of the failure
        return page

    async def _read_list_page(self, source: Source, url: str, form: dict[str, str] | None, number: int,
                              bodies: dict[str, int], pager: Pager, batch: Batch) -> Page | None:
        """The list page read into ``batch``; None (and why, in ``batch``) when the source cannot go on."""
        run, problems = self.run, batch.availability
        got = await self.downloader.get(source, url, form, "list", batch.fetches)
        result = got.result
        if availability.past_the_end(number, result, pager):
            return None  # the 404 is archived as the evidence of where the list ended
        if not result.ok or (number == 1 and availability.moved_home(run, source, result)):
            availability.list_failure(run, source, got, number, problems, pager)
            return None
        if availability.repeated_page(run, source, got, number, bodies, problems):
            return None
        text = decode(result.body, result.content_type, source.encoding)
        doc = None
        if source.paging.get("style") == "json":
            n_items = self._json_page(source, text, got, batch, fatal=number == 1)
        else:
            doc = extract.parse(text)
            n_items = await self._site_page(source, doc, got, batch)
            if n_items == 0 and availability.looks_blocked(text):
                availability.blocked(run, source, got, problems, fatal=number == 1)
                n_items = None
        return None if n_items is None else Page(result.final_url, number, text, n_items, doc)

    async def _site_page(self, source: Source, doc: extract.Html, got: Got, batch: Batch) -> int:
        """A list page: each row with a link is completed by its detail page or attachment; rows without
        one are records as they are."""
        base = got.result.final_url
        labels = self.labels[source.id]
        pattern = source.rows.get("links")
        rows = extract.link_rows(doc, pattern, base) if pattern else extract.list_rows(doc, source.kind, base, labels)
        if not pattern and source.id not in self.columns_noted:
            self._note_columns(source, base, extract.list_header(doc, source.kind, labels))
        links = list(dict.fromkeys(r.link for r in rows if r.link))  # each detail page fetched once
        # unchanged: its rows are what they were when their details were last read
        unchanged = source.id in self.resight and got.original is not None and not got.replayed
        details = dict(zip(links, await asyncio.gather(*(self._detail(source, link, batch, unchanged)
                                                          for link in links))))
        for list_row in rows:
            detail = details.get(list_row.link) if list_row.link else None
            self._row_records(source, batch, got, list_row.fields, detail)
        return len(rows)

    def _row_records(self, source: Source, batch: Batch, got: Got, row: dict[str, str],
                     detail: Detail | None) -> None:
        """A list row's records: the attachment's rows dated by the list, or the row with its detail page's
        values overlaid, citing the page that gave them."""
        if detail is not None and detail.resight:
            assert detail.fetch_id is not None
            batch.resight[detail.fetch_id] = (source.kind, detail.resight)  # once for all rows linking to it
            return
        if detail is not None and detail.records is not None:
            for rec in detail.records:
                add_record(self.run, source, batch, {**row, **nonempty(rec)}, detail.url,
                           detail.fetch_id or got.fetch_id)
            return
        fields, url, fetch_id = dict(row), got.result.final_url, got.fetch_id
        if detail is not None and detail.fields is not None:
            fields.update(nonempty(detail.fields))
            url, fetch_id = detail.url, detail.fetch_id or fetch_id
        elif not any(v for k, v in fields.items() if k != "FBRQ"):
            return  # a bare title link whose page failed: nothing to store (the failure is reported)
        add_record(self.run, source, batch, fields, url, fetch_id, detail_status=detail.status if detail else None)

    async def _detail(self, source: Source, link: str, batch: Batch, list_unchanged: bool) -> Detail:
        """A row's link: a detail page's fields or an attachment's records (neither when it failed); when
        it and its list page are unchanged, the records stored from it, to re-sight."""
        got = await self.downloader.get(source, link, None, "detail", batch.fetches, lazy=True)
        first_file = got.original is not None and source.id not in self.columns_noted and \
            attachments.file_format(got.result.final_url, got.original["content_type"]) is not None
        if list_unchanged and not first_file and self._may_resight(source, got):  # a first file's columns are noted
            assert got.original is not None
            return Detail(got.result.final_url, got.fetch_id, resight=got.original["records"])
        got = self.downloader.read(got)
        result = got.result
        if not result.ok:
            return Detail(link, status=availability.dead_detail(self.run, source, link, got, batch.availability))
        fmt = attachments.file_format(result.final_url, result.content_type)
        if fmt is not None:
            return self._attachment(source, link, got, fmt, batch)
        content_type = (result.content_type or "text/html").lower()
        if not content_type.startswith(HTML_TYPES):
            return Detail(link, status="unread")  # a PDF or image: not read; the list row stands
        text = decode(result.body, result.content_type, source.encoding)
        return Detail(result.final_url, got.fetch_id,
                      fields=extract.detail_fields(text, source.kind, self.labels[source.id]))

    def _attachment(self, source: Source, link: str, got: Got, fmt: str, batch: Batch) -> Detail:
        """A linked spreadsheet or document: the records of its tables that have a recognisable header."""
        result = got.result
        try:
            tables = attachments.tables(result.body, fmt, result.content_type)
        except ValueError as exc:  # over a limit or damaged (core.bounded): this file only
            availability.bad_attachment(self.run, source, link, got, fmt, exc, batch.availability)
            return Detail(link, status="failed")
        labels = self.labels[source.id]
        records = [r for t in tables for r in extract.table_records(t, source.kind, labels)]
        for t in tables if source.id not in self.columns_noted else ():
            self._note_columns(source, link, extract.table_header(t, source.kind, labels))
        if not records:
            self.run.warn(link, f"附件 {link} 中没有找到可识别表头的表格")
        return Detail(result.final_url, got.fetch_id, records=records)

    def _json_page(self, source: Source, text: str, got: Got, batch: Batch, *, fatal: bool) -> int | None:
        """A JSON page: one record per list item; the API page is the evidence."""
        result = got.result
        problem = None
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth ("[" * 100000)
            if availability.looks_blocked(text):
                availability.blocked(self.run, source, got, batch.availability, fatal=fatal)
                return None
            problem = f"{result.url} 返回的不是有效的 JSON（可能被验证码或访问限制拦截）"
        else:
            if isinstance(doc, dict) and doc.get("success") is False:
                problem = f"{result.url} 接口返回失败：{doc.get('message') or doc.get('msg') or '未说明原因'}"
        if problem:
            for row in batch.fetches:
                if row["fetch_id"] == got.fetch_id:
                    row["error"] = problem  # the response is archived, but it was not usable
            self.run.error(source, result.url, problem, fatal=fatal, cause="content")
            return None
        items = json_items(doc, source.paging)
        if self._may_resight(source, got):
            assert got.original is not None and got.fetch_id is not None
            batch.resight[got.fetch_id] = (source.kind, got.original["records"])
            return len(items)
        labels = self.labels[source.id]
        for entity in items:
            add_record(self.run, source, batch, extract.entity_fields(entity, source.kind, labels), result.final_url,
                       got.fetch_id)
        return len(items)

    def _may_resight(self, source: Source, got: Got) -> bool:
        """An unchanged answer (not a replay) of a source read as last time, whose original's stored
        records are exactly the ones it yielded then (``downloader.Previous``): re-sighting them writes
        what reading it again would."""
        if source.id in self.resight and got.original is not None and not got.replayed and got.original["resight"]:
            self.run.summary.resighted += 1
            return True
        return False

    def _note_columns(self, source: Source, url: str, headers: list[str]) -> None:
        """A list's or a file's header columns that name no field, warned once per source (the first header
        read): the columns are ignored, and someone may map them in the source's ``labels``."""
        if source.id in self.columns_noted or not headers:
            return
        self.columns_noted.add(source.id)
        unknown = [h for _, h in unrecognised_columns(headers, self.labels[source.id])]
        if unknown:
            self.run.warn(url, f"来源 {source.id}：未识别的列 {'、'.join(unknown)}（已忽略；如为标准字段，"
                               f"请在该来源的 labels 中将表头对应到字段代码）")
