"""The crawl's terminal display: a live line (sources done, pages, records, errors, rate) on stderr.

Messages (errors, per-source lines) scroll above the bar, as long as they stay readable: one line per
source only for a city's few dozen sources (``PER_SOURCE_LINES``), and the first ``LIVE_MESSAGES`` errors and
warnings only — past that, a province's crawl shows the counters on the live line, and the end of the crawl
names the sources that failed grouped by cause (``CrawlSummary.failure_lines``). ``enabled=False`` (``sgs crawl --quiet``, cron)
prints nothing at all; on a non-terminal stderr rich draws no live bar and the messages still print.
Every message is masked here, at the one place it is printed (``crawlers.report.shown``).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from crawlers.report import shown

if TYPE_CHECKING:
    from crawlers.report import CrawlSummary

PER_SOURCE_LINES = 50  # more sources than this: no line per source, the bar's counters say it
LIVE_MESSAGES = 30  # errors and warnings shown as they happen; the rest are counted and summed up at the end


class CrawlProgress:
    """One bar over the sources, with the crawl's counters in its description."""

    def __init__(self, *, enabled: bool, sources: int) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.fetched = 0
        self.sources = sources
        self.shown = 0  # live messages shown so far
        self._progress: Progress | None = None
        if enabled:
            self.console = Console(stderr=True)
            self._progress = Progress(SpinnerColumn(), TextColumn("来源"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=self.console, transient=True)
            self._task = self._progress.add_task("", total=sources)
            self._progress.start()

    def update(self, summary: CrawlSummary, fetched: int = 0) -> None:
        """Called per request made (``fetched=1``), per page replayed and per list page read."""
        if not self.enabled or self._progress is None:
            return
        self.fetched += fetched
        rate = self.fetched / max(1e-6, time.monotonic() - self.started)
        self._progress.update(self._task, description=(
            f"列表页 {summary.pages}  请求 {self.fetched}  记录 {summary.records}  错误 {len(summary.errors)}"
            f"  {rate:.1f} 页/秒"))

    def source_done(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def log(self, text: str, verbose: bool = False, always: bool = False) -> None:
        """A message above the bar (``verbose`` ones only when a live bar is shown and the sources are few, to
        keep logs short; past ``LIVE_MESSAGES``, only the ``always`` ones), with ID and mobile numbers masked
        (a URL in an error names a page after its subject)."""
        if not self.enabled:
            return
        if verbose and (not self.console.is_terminal or self.sources > PER_SOURCE_LINES):
            return
        if not (always or verbose):
            self.shown += 1
            if self.shown > LIVE_MESSAGES:
                if self.shown == LIVE_MESSAGES + 1:
                    self._print("其余错误和提示不再逐条显示（进度行计数），抓取结束时按原因汇总出错的来源")
                return
        self._print(text)

    def _print(self, text: str) -> None:
        self.console.print(f"[sgs] {shown(text)}", markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
