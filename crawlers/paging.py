"""Pagination styles, read from a source's ``paging`` table (docs/configuration.md).

A ``Pager`` gives the first URL and, after each page has been read, the next one (or None). Each style is a
small function of the page just read; the crawl loop owns fetching and the ``max_pages`` limit, so a runaway
list (a server that never runs out of pages, a next link that cycles) always ends.

- ``none``: the start URL only.
- ``query``: ``param`` (default ``page``) from ``start`` (default 1); stops at a page with no rows.
- ``next_link``: follows the ``<a>`` whose text is 下一页/下页/next; stops when missing or already visited.
- ``json``: ``page_param``/``size_param`` (default ``page``/``pageSize``, ``size`` 50); the list is at
  ``list_path`` (default ``data.list``), the total at ``total_path`` (default ``data.total``), each item's
  record under ``entity_key`` (default ``entity``) when present.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from sgs.cityconfig import Source

NEXT_LINK_TEXTS = re.compile(r"^\s*(下一页|下页|next|next\s*page)\s*[>»›]*\s*$", re.IGNORECASE)


@dataclass
class Page:
    """What the pager needs to know about the page just read."""

    url: str
    number: int
    text: str  # decoded body (HTML or JSON)
    n_items: int  # rows or items the page yielded


def with_query(url: str, **params: object) -> str:
    """``url`` with query parameters set (replaced if present, appended otherwise)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def dig(doc: object, path: str) -> object:
    """Value at a dotted path (``data.list``) of parsed JSON, or None when any step is missing."""
    for step in path.split(".") if path else []:
        if isinstance(doc, dict):
            doc = doc.get(step)
        elif isinstance(doc, list) and step.isdigit() and int(step) < len(doc):
            doc = doc[int(step)]
        else:
            return None
    return doc


def json_items(doc: object, paging: dict) -> list[dict]:
    """The records of one JSON page: the list at ``list_path``, each unwrapped from ``entity_key``."""
    items = dig(doc, paging.get("list_path", "data.list"))
    if not isinstance(items, list):
        return []
    key = paging.get("entity_key", "entity")
    out = []
    for item in items:
        if isinstance(item, dict):
            inner = item.get(key) if key else None
            out.append(inner if isinstance(inner, dict) else item)
    return out


def next_link(html: str, base_url: str) -> str | None:
    """Absolute URL of the page's 下一页 link, if it has one that goes somewhere."""
    soup = BeautifulSoup(html, "lxml")
    for a in soup.find_all("a", href=True):
        href = a["href"].strip()
        if NEXT_LINK_TEXTS.match(a.get_text(" ", strip=True)) and href and not _dead_href(href):
            return urljoin(base_url, href)
    return None


def _dead_href(href: str) -> bool:
    return href.startswith("#") or href.lower().startswith(("javascript:", "mailto:"))


@dataclass
class Pager:
    """Walks one source's pages; ``next`` is called with each page read, in order."""

    source: Source
    seen: set[str] = field(default_factory=set)

    @property
    def style(self) -> str:
        return self.source.paging.get("style", "none")

    @property
    def config(self) -> dict:
        return self.source.paging

    def first(self) -> str:
        return _FIRST[self.style](self)

    def next(self, page: Page) -> str | None:
        self.seen.add(page.url)
        url = _NEXT[self.style](self, page)
        return None if url is None or url in self.seen else url

    # --- per style ---------------------------------------------------------------------------------

    def _query_url(self, number: int) -> str:
        start = int(self.config.get("start", 1))
        return with_query(self.source.start_url, **{self.config.get("param", "page"): start + number - 1})

    def _json_size(self) -> int:
        """Page size: the ``size`` setting, else the one the start URL already asks for, else 50."""
        if "size" in self.config:
            return int(self.config["size"])
        asked = dict(parse_qsl(urlsplit(self.source.start_url).query)).get(self.config.get("size_param", "pageSize"))
        return int(asked) if asked and asked.isdigit() else 50

    def _json_url(self, number: int) -> str:
        cfg = self.config
        return with_query(self.source.start_url, **{cfg.get("page_param", "page"): number,
                                                    cfg.get("size_param", "pageSize"): self._json_size()})

    def _json_next(self, page: Page) -> str | None:
        """Stop on an empty or short page, or once ``number × size`` reaches the stated total."""
        size = self._json_size()
        if page.n_items == 0 or page.n_items < size:
            return None
        try:
            total = int(dig(json.loads(page.text), self.config.get("total_path", "data.total")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            total = None  # no usable total: keep going until a short page
        if total is not None and page.number * size >= total:
            return None
        return self._json_url(page.number + 1)


_FIRST: dict[str, Callable[[Pager], str]] = {
    "none": lambda p: p.source.start_url,
    "query": lambda p: p._query_url(1),
    "next_link": lambda p: p.source.start_url,
    "json": lambda p: p._json_url(1),
}
_NEXT: dict[str, Callable[[Pager, Page], str | None]] = {
    "none": lambda p, page: None,
    "query": lambda p, page: p._query_url(page.number + 1) if page.n_items else None,
    "next_link": lambda p, page: next_link(page.text, page.url),
    "json": Pager._json_next,
}
