"""What every part of one crawl shares, held by one small object (``Run``) and passed to each part explicitly.

The engine (``crawlers.crawl``) makes it; the downloader's middlewares (``crawlers.downloader``), the
spider (``crawlers.spider``), the availability checks (``crawlers.availability``) and the item pipeline
(``crawlers.pipeline``) read it. It holds only what more than one of them needs: the city walked, the
paths, the working database, the clock, and the run's counters and messages. What a single part needs
(the fetcher, the archive, the writer's queue, the label lookups) stays in that part.

Messages are kept and counted in ``crawlers.report`` (``CrawlSummary``) and printed by
``crawlers.progress``; ``Run.error`` and ``Run.warn`` do both, so no part can count an error it does not
show, or show one it does not count.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.cityconfig import City, Source
from core.settings import Paths
from crawlers.progress import CrawlProgress
from crawlers.report import CrawlSummary


@dataclass
class Run:
    """One crawl run as its parts see it (``summary.crawl_id`` names it)."""

    city: City  # the sources walked (``sgs crawl --source`` may walk a few) and every department
    paths: Paths
    con: duckdb.DuckDBPyConnection  # written only by the engine and the pipeline's writer
    clock: Callable[[], datetime]  # the wall clock, or the demo city's staged season
    summary: CrawlSummary
    progress: CrawlProgress

    @property
    def crawl_id(self) -> str:
        return self.summary.crawl_id

    def say(self, text: str, verbose: bool = False, always: bool = False) -> None:
        """A line for whoever watches the crawl (masked, and silent with ``--quiet``; ``always``: even
        past the live messages' limit, ``crawlers.progress``)."""
        self.progress.log(text, verbose=verbose, always=always)

    def warn(self, url: str, message: str) -> None:
        """Worth a look, not a failure (an empty column, an unrecognised column)."""
        self.summary.warnings.append((url, message))
        self.say(message)

    def error(self, source: Source, url: str, message: str, *, fatal: bool = False,
              unavailable: bool = False, cause: str = "other") -> None:
        """An error against its URL, counted for its source (``CrawlSummary.add_error`` says what
        ``fatal``, ``unavailable`` and ``cause`` mean) and shown."""
        self.summary.add_error(source.id, url, message, fatal=fatal, unavailable=unavailable, cause=cause)
        self.say(message)

    def count_page(self, source: Source, records: int) -> None:
        """A list page read: counted, and the progress line moved."""
        self.summary.count_page(source.id, records)
        self.progress.update(self.summary)
