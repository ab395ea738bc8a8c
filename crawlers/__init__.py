"""Crawling 双公示 columns and portals: fetch politely, archive as WARC, extract, normalise, store.

``run_crawl`` is the entry point; the modules are the steps (ARCHITECTURE.md, "Where each step lives").
"""
from crawlers.crawl import run_crawl
from crawlers.report import CrawlSummary, SourceStatus

__all__ = ["CrawlSummary", "SourceStatus", "run_crawl"]
