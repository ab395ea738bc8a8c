"""Pagination styles, read from a source's ``paging`` table (docs/configuration.md).

A ``Pager`` gives the first URL and, after each page has been read, the next one (or None). Each style is a
small function of the page just read; the crawl loop owns fetching and the ``max_pages`` limit, so a runaway
list (a server that never runs out of pages, a next link that cycles) always ends.

- ``none``: the start URL only.
- ``query``: ``param`` (default ``page``) from ``start`` (default 1); stops at a page with no rows.
- ``next_link``: follows the ``<a>`` whose text is 下一页/下页/next; stops when missing or already visited.
- ``trs``: TRS-family CMS columns: ``index.html``, then ``index_1.html`` … ``index_{N-1}.html``, where N is
  the total the first page's ``createPageHTML(N, …)`` script states (the links themselves are drawn by
  JavaScript, so there is no 下一页 to follow). Any extension (``.htm``, ``.shtml``) works.
- ``post``: a search form posted with ``param`` (default ``pageNo``) = 1, 2, … plus the fixed ``form``
  fields; stops at a page with no rows. The URL stays the same, so pages are told apart by their form data.
- ``json``: ``page_param``/``size_param`` (default ``page``/``pageSize``, ``size`` 50); the list is at
  ``list_path`` (default ``data.list``), the total at ``total_path`` (default ``data.total``), each item's
  record under ``entity_key`` (default ``entity``) when present. Pages on until the total is reached or a
  page is empty (without a total: until a page is shorter than the page size). A server that caps the page
  size (20 items when 50 were asked, with a larger total) is paged by its cap from page 2 on (``cap``), so
  page N covers the same items whether the server computes offsets from the asked or the capped size.

Where a list ends: a style that guesses the next page (all but ``next_link``) ends without complaint at an
empty page or one answering 404/410 — many CMSs answer so past the last page. What the first page states
(``共 N 条``, ``共 N 页``, ``第 1/N 页``, ``createPageHTML(N, …)``, the JSON total) is checked when the walk ends:
``shortfall`` names what is missing, which the crawl reports as an error, so no record is dropped silently.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.extract import Html, next_link_href
from core.cityconfig import Source

NEXT_LINK_TEXTS = re.compile(r"^\s*(下一页|下页|next|next\s*page)\s*[>»›]*\s*$", re.IGNORECASE)
# totals are at most 12 digits: a longer "number" is not a count (int() refuses over 4300 digits)
CREATE_PAGE_HTML = re.compile(r"createPageHTML\(\s*['\"]?(\d{1,12})(?!\d)")
_TRS_PAGE = re.compile(r"^(?P<stem>.*?)(?:_\d+)?(?P<ext>\.[a-z]+)$", re.IGNORECASE)
STATED_ROWS = re.compile(r"共\s*有?\s*(\d{1,12})\s*条")
STATED_PAGES = re.compile(r"共\s*(\d{1,12})\s*页|第\s*\d+\s*/\s*(\d{1,12})\s*页")


@dataclass
class Page:
    """What the pager needs to know about the page just read."""

    url: str
    number: int
    text: str  # decoded body (HTML or JSON)
    n_items: int  # rows or items the page yielded
    doc: Html | None = None  # the parsed HTML, when the caller has it (saves a second parse)


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


def json_items(doc: object, paging: dict[str, Any]) -> list[dict[str, Any]]:
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


def next_link(html: str | Html, base_url: str) -> str | None:
    """Absolute URL of the page's 下一页 link, if it has one that goes somewhere."""
    return next_link_href(html, base_url, NEXT_LINK_TEXTS)


def trs_total(html: str) -> int | None:
    """The page count a TRS list states in ``createPageHTML(N, current, "index", "html")``."""
    m = CREATE_PAGE_HTML.search(html)
    return int(m.group(1)) if m else None


def stated_totals(text: str) -> tuple[int | None, int | None]:
    """(rows, pages) an HTML list page states in its pager (``共 123 条``, ``共 13 页``, ``第 1/13 页``);
    the last mention counts, as pagers follow the list."""
    rows = [m.group(1) for m in STATED_ROWS.finditer(text)]
    pages = [m.group(1) or m.group(2) for m in STATED_PAGES.finditer(text)]
    return (int(rows[-1]) if rows else None), (int(pages[-1]) if pages else None)


def trs_url(start_url: str, number: int) -> str:
    """Page ``number`` (1-based) of a TRS column: ``index.html``, ``index_1.html``, …"""
    parts = urlsplit(start_url)
    head, _, name = parts.path.rpartition("/")
    m = _TRS_PAGE.match(name or "index.html")
    stem, ext = (m["stem"], m["ext"]) if m else ("index", ".html")
    name = f"{stem}{ext}" if number <= 1 else f"{stem}_{number - 1}{ext}"
    return urlunsplit(parts._replace(path=f"{head}/{name}"))


@dataclass
class Pager:
    """Walks one source's pages; ``next`` is called with each page read, in order."""

    source: Source
    seen: set[str] = field(default_factory=set)
    stated_rows: int | None = None  # the total of rows (records) the first page states
    stated_pages: int | None = None  # the number of pages the first page states
    rows_read: int = 0  # rows or items of the pages read so far
    last_page: int = 0  # the number of the last page that answered (empty or not)
    cap: int | None = None  # json: the page size the server returned instead of the one asked for

    @property
    def style(self) -> str:
        return str(self.source.paging.get("style", "none"))

    @property
    def config(self) -> dict[str, Any]:
        return self.source.paging

    def first(self) -> str:
        return _FIRST[self.style](self)

    def next(self, page: Page) -> str | None:
        """The next page's URL, or None at the end (a URL already read ends the walk: a cycle)."""
        self.seen.add(self._identity(page.url, page.number))
        self.rows_read += page.n_items
        self.last_page = page.number
        if page.number == 1:
            self._read_stated(page)
        url = _NEXT[self.style](self, page)
        return None if url is None or self._identity(url, page.number + 1) in self.seen else url

    def form(self, number: int) -> dict[str, str] | None:
        """The form data to POST for page ``number`` (``post`` style), else None for a GET."""
        if self.style != "post":
            return None
        fields = {k: str(v) for k, v in self.config.get("form", {}).items()}
        return {**fields, self.config.get("param", "pageNo"): str(int(self.config.get("start", 1)) + number - 1)}

    @property
    def guesses(self) -> bool:
        """True when the next page is a guess (a number), not a link the page drew: a 404/410 there is
        the end of the list unless the stated total says otherwise."""
        return self.style != "next_link"

    def shortfall(self) -> str | None:
        """What the first page's stated total says is missing once the walk has ended, in Chinese; None when
        nothing is (or nothing was stated). Rows are compared first: they are what the records come from."""
        if self.stated_rows is not None and self.rows_read < self.stated_rows:
            return f"列表注明共 {self.stated_rows} 条，只读到 {self.rows_read} 条"
        if self.stated_pages is not None and self.last_page < self.stated_pages:
            return f"列表注明共 {self.stated_pages} 页，只读到第 {self.last_page} 页"
        return None

    def _read_stated(self, page: Page) -> None:
        """The totals the first page states: the JSON total, the TRS script's page count, or a pager's text."""
        if self.style == "json":
            self.stated_rows = self._json_total(page.text)
        elif self.style == "trs":
            self.stated_pages = trs_total(page.text)
        elif self.style != "none":
            self.stated_rows, self.stated_pages = stated_totals(page.text)

    def _identity(self, url: str, number: int) -> str:
        return f"{url} #{number}" if self.style == "post" else url

    def _trs_next(self, page: Page) -> str | None:
        """Page N+1 while N is below the stated total; without a total, while pages still have rows."""
        total = self.stated_pages
        more = page.number < total if total is not None else page.n_items > 0
        return trs_url(self.source.start_url, page.number + 1) if more else None

    # --- per style ---------------------------------------------------------------------------------

    def _query_url(self, number: int) -> str:
        start = int(self.config.get("start", 1))
        return with_query(self.source.start_url, **{self.config.get("param", "page"): start + number - 1})

    def json_size(self) -> int:
        """Page size: the ``size`` setting, else the one the start URL already asks for, else 50."""
        if "size" in self.config:
            return int(self.config["size"])
        asked = dict(parse_qsl(urlsplit(self.source.start_url).query)).get(self.config.get("size_param", "pageSize"))
        return int(asked) if asked and asked.isdigit() else 50

    def _json_url(self, number: int) -> str:
        cfg = self.config
        return with_query(self.source.start_url, **{cfg.get("page_param", "page"): number,
                                                    cfg.get("size_param", "pageSize"): self.cap or self.json_size()})

    def _json_total(self, text: str) -> int | None:
        """The total at ``total_path``, or None when the API states none usable (not a number, 1e400, NaN,
        nested deeper than the JSON reader goes)."""
        try:
            total: Any = dig(json.loads(text), self.config.get("total_path", "data.total"))  # any JSON value
            return int(total)
        except (TypeError, ValueError, OverflowError, RecursionError):
            return None

    def _json_next(self, page: Page) -> str | None:
        """Page on until the stated total is read or a page is empty; without a total, until a short page.

        A first page shorter than asked while the total says there is more is the server's cap on the page
        size: later pages ask for the cap, so page N starts at item (N−1)×cap under either way a server
        computes its offsets, and nothing is skipped."""
        size = self.cap or self.json_size()
        total = self.stated_rows
        if page.number == 1 and total is not None and 0 < page.n_items < size and page.n_items < total:
            self.cap = size = page.n_items
        if page.n_items == 0 or (total is not None and self.rows_read >= total):
            return None
        if total is None and page.n_items < size:
            return None
        return self._json_url(page.number + 1)


_FIRST: dict[str, Callable[[Pager], str]] = {
    "none": lambda p: p.source.start_url,
    "query": lambda p: p._query_url(1),
    "next_link": lambda p: p.source.start_url,
    "json": lambda p: p._json_url(1),
    "trs": lambda p: trs_url(p.source.start_url, 1),
    "post": lambda p: p.source.start_url,
}
_NEXT: dict[str, Callable[[Pager, Page], str | None]] = {
    "none": lambda p, page: None,
    "query": lambda p, page: p._query_url(page.number + 1) if page.n_items else None,
    "next_link": lambda p, page: next_link(page.doc if page.doc is not None else page.text, page.url),
    "json": Pager._json_next,
    "trs": Pager._trs_next,
    "post": lambda p, page: p.source.start_url if page.n_items else None,
}
STYLES = tuple(_FIRST)
