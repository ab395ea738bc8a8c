"""Crawling 双公示 columns and portals: fetch politely, archive as WARC, extract, normalise, store.

``run_crawl`` is the entry point; the modules are the steps (ARCHITECTURE.md, "Where each step lives").

The names below are imported on first use (PEP 562), not here: a province's crawl spawns its fetch process
as a fresh interpreter, which imports ``crawlers.fetch_process`` and so this package — had it imported
``crawlers.crawl`` here, that process would load DuckDB, Arrow, lxml and rich for nothing (its resident
memory at 5,000 sources: ~150 MB instead of ~60; docs/bench-crawl.md).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawlers.crawl import run_crawl
    from crawlers.report import CrawlSummary, SourceStatus

__all__ = ["CrawlSummary", "SourceStatus", "run_crawl"]
_HOMES = {"run_crawl": "crawlers.crawl", "CrawlSummary": "crawlers.report", "SourceStatus": "crawlers.report"}


def __getattr__(name: str) -> Any:
    """``crawlers.run_crawl`` and the others, imported when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crawlers' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
