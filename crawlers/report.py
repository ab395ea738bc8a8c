"""What a crawl did, as people read it: per source (``SourceStatus``) and as a whole (``CrawlSummary``), with
the Chinese lines the command prints — the summary, and what a first complete crawl of a column means for
timeliness (the baseline). Kept apart from the engine (``crawlers.crawl``) and its parts, which fill them in
through ``add_error`` and ``count_page`` (so how an error changes a source's status is decided here, once).

Every line the crawl prints goes through ``shown`` (the live messages in ``crawlers.progress`` and the errors
``sgs crawl`` repeats at the end): a URL or an error text naming a page after its subject's ID or mobile number
reaches the terminal and cron's mail masked (``core.privacy``). What is stored keeps the real URL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core.privacy import mask_text
from core.vocab import CRAWL_STATUSES, SOURCE_OUTCOMES


def shown(text: str) -> str:
    """A line as the crawl prints it: ID and mobile numbers masked, in URLs and error texts too."""
    return str(mask_text(text))


RUN_STATUS = SOURCE_OUTCOMES  # a source's outcome → source_runs.status (crawlers.crawl imports this name)

# why a source did not go well (``crawlers.availability.cause_of`` and the callers of ``Run.error``), in the
# order the summary lists them, with the words it uses
CAUSES = {
    "connect": "连接失败", "timeout": "超时", "robots": "robots.txt 禁止抓取", "gone": "栏目已不存在",
    "http4xx": "HTTP 4xx（拒绝或找不到页面）", "http5xx": "HTTP 5xx（网站服务器出错）", "blocked": "验证码或访问限制",
    "network": "响应不完整或网络出错", "refused": "响应超限或无法解码", "bad_attachment": "附件无法读取",
    "paging": "翻页失控或不全", "content": "页面内容无法读取", "other": "其他错误",
}
ERRORS_LISTED = 20  # errors repeated one by one at the end; past that, the sources by cause say the rest
NAMES_LISTED = 5  # sources named per cause in the summary ("… 等")


@dataclass(slots=True)
class SourceStatus:
    """How one source went: ``ok``; ``partial`` (some pages or details failed); ``unavailable`` (the site
    answered that the column is gone or blocked: an availability finding); ``failed`` (nothing could be read).

    One per source for the whole crawl (a province has thousands), hence slots: no ``__dict__`` each."""

    source_id: str
    pages: int = 0  # list pages
    records: int = 0
    errors: int = 0
    status: str = "ok"
    fetched: int = 0  # every page of the source: list, detail, attachment
    message: str | None = None  # the first error
    started_at: datetime = field(default_factory=datetime.now)
    causes: dict[str, str] = field(default_factory=dict)  # why it went wrong (``CAUSES``) → the first URL


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
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (source_id, problem, url)
    resumed: bool = False
    replayed: int = 0  # pages read back from the archive (a resumed crawl)
    unchanged: int = 0  # pages answered 304 or with the same bytes (archived as revisits)
    resighted: int = 0  # unchanged pages not read again: their stored records re-sighted (crawlers.resight)
    baseline: list[str] = field(default_factory=list)  # sources walked completely for the first time

    def add_error(self, source_id: str, url: str, message: str, *, fatal: bool = False,
                  unavailable: bool = False, cause: str = "other") -> None:
        """An error against its URL and its source. ``fatal``: the source yielded nothing; ``unavailable``:
        because the site says the column is gone or blocked (a finding about the site, not a failed crawl);
        otherwise the source is ``partial`` from now on. ``cause`` (a key of ``CAUSES``) groups the source in
        the summary."""
        self.errors.append((url, message))
        st = self.sources[source_id]
        st.errors += 1
        st.message = st.message or message
        st.causes.setdefault(cause if cause in CAUSES else "other", url)
        if unavailable:
            st.status = "unavailable"
        elif fatal:
            st.status = "failed"
        elif st.status == "ok":
            st.status = "partial"

    def count_page(self, source_id: str, records: int) -> None:
        """A list page read, with the records read from it (its details and attachments included)."""
        st = self.sources[source_id]
        st.pages += 1
        st.records += records
        self.pages += 1
        self.records += records

    def baseline_message(self) -> str | None:
        """What a first complete crawl of a column means for timeliness (docs/scoring.md): said plainly, once."""
        if not self.baseline:
            return None
        day = f"{self.started_at:%Y-%m-%d}"
        return shown(f"首次完整采集 {len(self.baseline)} 个栏目（{'、'.join(self.baseline)}），本次抓取是它们的基线："
                f"页面未标明发布日期的记录，凡在 {day} 之前已过公示期限的，无法判断是否按时公示，记为“未能核验”，不扣分；"
                f"此后新出现的记录按前后两次抓取的时间判断，{day} 之后到期的记录可以核验（抓取越频繁，判断越完整）。"
                "页面标明了发布日期的记录不受影响。")

    def error_lines(self) -> list[str]:
        """The errors as the command repeats them at the end (for cron's mail), masked: each one while they
        are few (``ERRORS_LISTED``); past that, the count of the rest and the sources with errors by cause."""
        lines = [shown(message) for _url, message in self.errors[:ERRORS_LISTED]]
        if len(self.errors) > ERRORS_LISTED:
            lines.append(f"……另有 {len(self.errors) - ERRORS_LISTED} 个错误未逐条列出（每个来源的第一个错误见看板“采集状态”）")
            lines += self.failure_lines()
        return lines

    def failure_lines(self) -> list[str]:
        """The sources that had errors, grouped by cause, each group counted and its first sources named
        with the first URL that failed that way (masked): one line per cause, whatever the province's size."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for st in self.sources.values():
            for cause, url in st.causes.items():
                groups.setdefault(cause, []).append((st.source_id, url))
        if not groups:
            return []
        lines = [f"出错的来源（按原因，共 {sum(1 for st in self.sources.values() if st.causes)} 个）："]
        for cause, words in CAUSES.items():
            if named := groups.get(cause):
                listed = "、".join(f"{sid}（{url}）" for sid, url in named[:NAMES_LISTED])
                more = f" 等 {len(named)} 个" if len(named) > NAMES_LISTED else ""
                lines.append(shown(f"  {words} {len(named)} 个来源：{listed}{more}"))
        return lines

    @property
    def failed_sources(self) -> list[str]:
        return [s.source_id for s in self.sources.values() if s.status == "failed"]

    def failed_names(self) -> str:
        """The sources that could not be crawled at all, the first ``NAMES_LISTED`` named (a province may
        have thousands)."""
        failed = self.failed_sources
        return "、".join(failed[:NAMES_LISTED]) + (f" 等 {len(failed)} 个" if len(failed) > NAMES_LISTED else "")

    def line(self) -> str:
        failed = f"，无法抓取的来源：{self.failed_names()}" if self.failed_sources else ""
        problems = f"，可用性问题 {len(self.problems)} 个" if self.problems else ""
        resumed = f"（续抓，{self.replayed} 个页面取自存档）" if self.resumed else ""
        return shown(f"抓取 {self.crawl_id}{resumed} {CRAWL_STATUSES.get(self.status, self.status)}：{len(self.sources)} 个来源，"
                f"{self.pages} 个列表页，{self.records} 条记录，{len(self.errors)} 个错误{problems}{failed}")

