"""Availability: problems the site itself has, reported (the ``availability`` table) rather than crashed on.

A site that answered clearly that a column is gone or blocked is a finding about the site, not a failed
crawl; a source that could not be reached at all (perhaps our own network) is ``failed``. The kinds, and
when each is seen (``docs/crawling.md``, "What counts as a site's failure"):

- ``unreachable``: no answer to the column's first page, after the retries;
- ``column_missing``: the first page answered 404/410, or was redirected to the home page;
- ``blocked``: a captcha or anti-bot answer — reported once, never retried (insisting gets a monitor banned);
- ``dead_link``: a detail link that answered 404/410;
- ``bad_attachment``: a linked file over a reading limit or damaged (``core.bounded``);
- ``runaway_paging``: the page limit hit, or a list page repeating an earlier one.

The rules that turn these rows into findings live in ``metrics/checks/``; this module only sees them. Each
function here both records the problem (into the page's batch, so it is committed with the page) and
reports the error that goes with it (``Run.error``), so the two never disagree.
"""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from core.cityconfig import Source
from core.decode import decode
from crawlers.context import Run
from crawlers.downloader import Got
from crawlers.fetch import FetchResult
from crawlers.paging import Pager

UNREACHABLE = "unreachable"
COLUMN_MISSING = "column_missing"
BLOCKED = "blocked"
DEAD_LINK = "dead_link"
BAD_ATTACHMENT = "bad_attachment"
RUNAWAY_PAGING = "runaway_paging"
KINDS = (UNREACHABLE, COLUMN_MISSING, BLOCKED, DEAD_LINK, BAD_ATTACHMENT, RUNAWAY_PAGING)  # the keys of core.vocab.AVAILABILITY (test_vocab)

BLOCKED_STATUSES = (401, 403, 412, 429)
GONE_STATUSES = (404, 410)
CAPTCHA_MARKERS = ("验证码", "captcha", "安全验证", "人机验证", "访问过于频繁", "滑动验证")


def problem(run: Run, source: Source, kind: str, url: str, fetch_id: str | None, detail: str,
            problems: list[dict[str, Any]]) -> None:
    """An availability problem for the page's batch; its id is stable within the crawl, so a resumed
    crawl cannot repeat it."""
    event_id = hashlib.md5(f"{run.crawl_id}|{source.id}|{kind}|{url}".encode()).hexdigest()
    run.summary.problems.append((source.id, kind, url))
    problems.append({
        "event_id": event_id, "crawl_id": run.crawl_id, "source_id": source.id, "dept_id": source.dept,
        "channel": source.channel, "kind": source.kind, "problem": kind, "url": url, "fetch_id": fetch_id,
        "detail": detail, "observed_at": run.clock()})


def looks_blocked(text: str) -> bool:
    """A captcha or anti-bot wall rather than content (checked only where no rows were found)."""
    head = text[:20000].lower()
    return any(marker in head for marker in CAPTCHA_MARKERS)


def moved_home(run: Run, source: Source, result: FetchResult) -> bool:
    """A column that now redirects to the site's home page (or the host's root) is gone."""
    if result.final_url == result.url:
        return False
    dept = next((d for d in run.city.departments if d.id == source.dept), None)
    home = dept.website.rstrip("/") if dept and dept.website else None
    return urlsplit(result.final_url).path in ("", "/") or result.final_url.rstrip("/") == home


def past_the_end(number: int, result: FetchResult, pager: Pager) -> bool:
    """A guessed page after the first answering 404/410 with nothing stated still to come: the list's
    normal end (many CMSs answer so past the last page), not an error."""
    return bool(number > 1 and result.status in GONE_STATUSES and pager.guesses and pager.shortfall() is None)


def list_failure(run: Run, source: Source, got: Got, number: int, problems: list[dict[str, Any]], pager: Pager) -> None:
    """Why a list page gave nothing, as an error, and for the column's first page as a problem."""
    result = got.result
    if result.ok:  # redirected to the home page
        message = f"{result.url} 跳转至首页 {result.final_url}：栏目已不存在"
        problem(run, source, COLUMN_MISSING, result.url, got.fetch_id, message, problems)
        run.error(source, result.url, message, unavailable=True, cause="gone")
        return
    if result.status in BLOCKED_STATUSES or (result.status and looks_blocked(_text(result))):
        blocked(run, source, got, problems, fatal=number == 1)
        return
    message = fetch_message(result)
    if number == 1 and result.status in GONE_STATUSES:
        problem(run, source, COLUMN_MISSING, result.url, got.fetch_id, f"栏目页 HTTP {result.status}：{message}",
                problems)
        run.error(source, result.url, message, unavailable=True, cause="gone")
        return
    if number == 1 and result.status is None and result.transient:
        problem(run, source, UNREACHABLE, result.url, got.fetch_id, message, problems)
    if number > 1 and (gap := pager.shortfall()) is not None:
        message += f"（{gap}）"
    run.error(source, result.url, message, fatal=number == 1, cause=cause_of(result))


def blocked(run: Run, source: Source, got: Got, problems: list[dict[str, Any]], *, fatal: bool) -> None:
    """A wall instead of content: the source stops here (``fatal`` on its first page: it yielded nothing)."""
    result = got.result
    message = f"{result.url} 返回验证码或访问限制页面（HTTP {result.status}），已停止该来源，不反复重试"
    problem(run, source, BLOCKED, result.url, got.fetch_id, message, problems)
    run.error(source, result.url, message, unavailable=fatal, cause="blocked")


def page_limit(run: Run, source: Source, url: str, problems: list[dict[str, Any]]) -> None:
    """``max_pages`` reached with pages still to come: the paging may be running away."""
    message = (f"{source.start_url} 翻页已达上限 {source.max_pages} 页仍未结束，已停止"
               f"（分页可能失控，请检查来源 {source.id} 的分页设置）")
    problem(run, source, RUNAWAY_PAGING, url, None, message, problems)
    run.error(source, url, message, cause="paging")


def repeated_page(run: Run, source: Source, got: Got, number: int, bodies: dict[str, int],
                  problems: list[dict[str, Any]]) -> bool:
    """Whether this list page has the bytes of an earlier one (``bodies``: sha256 → page number), which
    means the paging does not move on; a new page is remembered."""
    result = got.result
    sha = hashlib.sha256(result.body).hexdigest()
    if sha not in bodies or source.paging.get("style") == "none":
        bodies[sha] = number
        return False
    message = (f"{result.final_url} 第 {number} 页与第 {bodies[sha]} 页内容相同，翻页没有前进，已停止"
               f"（分页失控，请检查来源 {source.id} 的分页设置）")
    problem(run, source, RUNAWAY_PAGING, result.final_url, got.fetch_id, message, problems)
    run.error(source, result.final_url, message, cause="paging")
    return True


def dead_detail(run: Run, source: Source, link: str, got: Got, problems: list[dict[str, Any]]) -> str:
    """A detail link that gave nothing: its error, a ``dead_link`` problem when it is gone, and the
    ``detail_status`` its list row is stored with (``dead`` or ``failed``)."""
    result = got.result
    gone = result.status in GONE_STATUSES
    if gone:
        problem(run, source, DEAD_LINK, link, got.fetch_id, f"详情链接失效（HTTP {result.status}）：{link}", problems)
    run.error(source, link, fetch_message(result) + "（详情页不可用，仅保留列表中的信息）", cause=cause_of(result))
    return "dead" if gone else "failed"


def bad_attachment(run: Run, source: Source, link: str, got: Got, fmt: str, exc: ValueError,
                   problems: list[dict[str, Any]]) -> None:
    """A linked file over a reading limit or damaged: this file only, the crawl goes on."""
    problem(run, source, BAD_ATTACHMENT, link, got.fetch_id, f"{fmt.upper()} 附件：{exc}", problems)
    run.error(source, link, f"附件 {link} 无法读取：{exc}", cause="bad_attachment")


def fetch_message(result: FetchResult) -> str:
    """The fetcher's reason, plus how hard we tried (so "unreachable" is not mistaken for a single blip)."""
    message = result.error or f"{result.url} 返回 HTTP {result.status}"
    return message + (f"（共尝试 {result.attempts} 次）" if result.attempts > 1 else "")


def cause_of(result: FetchResult) -> str:
    """Why a fetch gave nothing usable, as the summary groups sources (``crawlers.report.CAUSES``)."""
    if result.robots_denied:
        return "robots"
    if result.status is not None:
        return "http5xx" if result.status >= 500 else "http4xx" if result.status >= 400 else "content"
    return result.failure or "network"


def _text(result: FetchResult) -> str:
    """The start of an error page, enough to recognise a captcha wall."""
    return decode(result.body[:65536], result.content_type) if result.body else ""
