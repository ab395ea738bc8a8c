"""Pages → fields named by standard codes, with no per-site code.

Every label or column header a page prints goes through the registry's synonym map
(``core.standard.synonym_map``, current and pre-2018 naming), so a site that says 当事人 where the standard
says 行政相对人名称 needs a registry synonym (or a source's ``labels`` override), not a parser. Shapes read:

- list pages: the table with a header row (``core.tables.header_row``, the rule ``sgs validate`` uses too), one dict per body row plus the
  row's first link; or, for title lists (``rows = { links = "regex" }``), every link whose address matches,
  with the date printed beside it as the page's 发布日期 (``FBRQ``);
- detail pages: label/value table rows, ``<dl>`` pairs and free-text labelled lines ("当事人：xxx"),
  including the page's own 发布日期;
- JSON entities: keys that are codes in lower case (``cf_wsh``) or synonyms;
- tables of attachments (``core.attachments``) through the same header mapping.

Headers and labels are matched by ``core.standard.match_header`` (``sgs validate`` uses the same, through
``core.tables.header_columns``): width, spaces, brackets and colons do not matter, a numbered ``代码_n`` is read by the words
in its brackets, and a unit a header states (``罚款金额(元)``) travels with the column: its bare numbers are
written with that unit (``core.normalize.with_unit``) so the amount normaliser converts them to 万元.
Headers that name nothing are listed by ``core.tables.unrecognised_columns`` (``list_header`` and ``table_header`` give a
list page's or a file table's header), so a crawl and ``sgs validate`` can say which columns were ignored.

Parsing is lxml, not BeautifulSoup: on the demo's pages lxml parses about 30× faster than BeautifulSoup on
lxml, and the whole extraction here runs 3–5× faster than a BeautifulSoup parse alone (docs/bench-crawl.md);
a crawl parses every page it fetches. ``<script>``, ``<style>`` and comments are dropped before any text is read,
so hostile or decorative markup never becomes a value. HTML is parsed, never run.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from core.standard import HeaderMatch, match_header
from core.standard import normalise_label, synonym_map
from core.tables import cell_value, header_row, plain_header_row

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# characters XML does not allow: lxml keeps them in parsed text but refuses them in any text set later
# (a <br>'s tail), so they are read as the spaces they show as
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_BLOCK_TAGS = ("p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "dl", "dd", "section", "article")
_TEXT_TAGS = ("p", "div", "li", "span", "dd", "td", "th", "font", "strong")
# innermost text blocks (no block inside) whose text holds a colon: the only ones a "标签：值" line can be
# in; one XPath in C instead of a test per element in Python
_LABELLED_BLOCKS = etree.XPath(
    "//*[" + " or ".join(f"self::{t}" for t in _TEXT_TAGS) + "][contains(., '：') or contains(., ':')]"
    "[not(descendant::*[" + " or ".join(f"self::{t}" for t in _BLOCK_TAGS) + "])]")
_CELLS = etree.XPath("./th|./td")
# a label starts a line or follows whitespace; digits-only "labels" (10:20) are times, not labels
# (labels may hold 、: "没收违法所得、没收非法财物的金额（万元）")
_LABEL = re.compile(r"(?:^|(?<=\s))(?!\d+\s*[：:])([^\s：:，。；,;]{2,30})\s*[：:]")
_DATE_NEAR_LINK = re.compile(r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)")

Html = etree._Element
# lxml.etree's parser, not lxml.html's: lxml.html looks up a Python element class for every element it
# touches (half of a detail page's extraction time), and nothing here needs HtmlElement's methods
_HTML_PARSER = etree.HTMLParser()


@dataclass
class ListRow:
    """One body row of a list table: its fields by code, and its first link (absolute) if any."""

    fields: dict[str, str]
    link: str | None


def labels_for(kind: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The label → code lookup for a kind: the registry's synonyms plus a source's own ``labels``."""
    base = synonym_map(kind)
    if not overrides:
        return base
    return {**base, **{normalise_label(k): v for k, v in overrides.items()}}


# --- parsing --------------------------------------------------------------------------------------

def parse(html: str | Html) -> Html:
    """An lxml document without scripts, styles and comments (their text is never a value).

    Text lxml makes no document of (only a comment, ``</>``) is an empty document: a page that holds nothing
    readable yields no rows, like any other garbage. Control characters XML does not allow become spaces."""
    if not isinstance(html, str):
        return html
    html = _CONTROL_CHARS.sub(" ", _XML_DECLARATION.sub("", html))
    doc = etree.fromstring(html, _HTML_PARSER) if html.strip() else None
    if doc is None:
        doc = etree.fromstring("<html></html>", _HTML_PARSER)
    etree.strip_elements(doc, "script", "style", "noscript", "template", etree.Comment, with_tail=False)
    return doc


def text_of(el: Html) -> str:
    """An element's text with whitespace runs collapsed (as a reader sees it)."""
    return " ".join(" ".join(el.itertext()).split())


# --- list pages ----------------------------------------------------------------------------------

def list_rows(html: str | Html, kind: str, base_url: str, labels: dict[str, str] | None = None) -> list[ListRow]:
    """Rows of the first table whose header maps to at least two standard codes (empty if none does)."""
    found = _list_table(parse(html), labels or synonym_map(kind))
    if found is None:
        return []
    rows, i, columns = found
    return [row for r in rows[i + 1:] if (row := _list_row(r, columns, base_url))]


def list_header(html: str | Html, kind: str, labels: dict[str, str] | None = None) -> list[str]:
    """The header cells' text of the table ``list_rows`` reads (empty when no table has a known header)."""
    found = _list_table(parse(html), labels or synonym_map(kind))
    if found is None:
        return []
    rows, i, _ = found
    return [text_of(c) for _, c in _column_positions(rows[i])]


def _list_table(doc: Html, labels: dict[str, str]) -> tuple[list[Html], int, dict[int, HeaderMatch]] | None:
    """(the rows of the first table with a known header, the header's index, its columns), or None; the header
    is found as in a file (``core.tables.header_row``: it may follow a caption-like title row)."""
    for table in doc.iter("table"):
        rows = list(table.iter("tr"))
        found = header_row(([(col, text_of(c)) for col, c in _column_positions(tr)] for tr in rows), labels)
        if found is not None:
            return rows, *found
    return None


def header_match(text: str, labels: dict[str, str]) -> HeaderMatch | None:
    """The field a header or label names (``core.standard.match_header``: the one matching of labels)."""
    return match_header(text, labels)


def _column_positions(tr: Html) -> Iterator[tuple[int, Html]]:
    """Cells with their column index, honouring ``colspan``."""
    col = 0
    for cell in _CELLS(tr):
        yield col, cell
        try:
            col += max(1, int(cell.get("colspan", 1)))
        except ValueError:
            col += 1


def _list_row(tr: Html, columns: dict[int, HeaderMatch], base_url: str) -> ListRow | None:
    fields = {columns[col].code: cell_value(_cell_text(cell), columns[col])
              for col, cell in _column_positions(tr) if col in columns}
    link = _first_link(tr, base_url)
    if not any(fields.values()) and link is None:
        return None  # a spacer, footer or "no data" row
    return ListRow(fields, link)


def _cell_text(cell: Html) -> str:
    """A cell's text; a truncated one ("长沙市某某…") is replaced by its full ``title`` when given."""
    text = text_of(cell)
    if text.endswith(("...", "…")):
        for el in cell.iter():
            if el.get("title"):
                return str(el.get("title")).strip()
    return text


def _usable_href(href: str | None) -> bool:
    return bool(href and not href.startswith("#") and not href.lower().startswith(("javascript:", "mailto:")))


def _absolute(base_url: str, href: str) -> str | None:
    """``href`` made absolute, or None when it is not a usable address (``#``, ``javascript:``) or not an
    address at all (``http://[::1``: ``urljoin`` raises ValueError): such a link goes nowhere, like a missing one."""
    if not _usable_href(href):
        return None
    try:
        return urljoin(base_url, href)
    except ValueError:
        return None


def _first_link(tr: Html, base_url: str) -> str | None:
    for a in tr.iter("a"):
        url = _absolute(base_url, (a.get("href") or "").strip())
        if url:
            return url
    return None


def link_rows(html: str | Html, pattern: str, base_url: str) -> list[ListRow]:
    """Title lists: one row per distinct link whose absolute URL matches ``pattern``, its 发布日期 the date
    printed beside it."""
    doc = parse(html)
    wanted = re.compile(pattern)
    out: dict[str, ListRow] = {}
    for a in doc.iter("a"):
        url = _absolute(base_url, (a.get("href") or "").strip())
        if url is None or not wanted.search(url):
            continue
        row = a.getparent()
        while row is not None and row.tag not in ("li", "tr", "dd", "p") and row.getparent() is not None:
            row = row.getparent()
        around = text_of(row) if row is not None else ""
        date = _DATE_NEAR_LINK.search(around.replace(text_of(a), " "))
        out.setdefault(url, ListRow({"FBRQ": date.group(1)} if date else {}, url))
    return list(out.values())


def next_link_href(html: str | Html, base_url: str, texts: re.Pattern[str]) -> str | None:
    """Absolute URL of the first ``<a>`` whose text matches ``texts`` (下一页) and goes somewhere."""
    for a in parse(html).iter("a"):
        url = _absolute(base_url, (a.get("href") or "").strip())
        if url and texts.match(text_of(a)):
            return url
    return None


# --- detail pages --------------------------------------------------------------------------------

def detail_fields(html: str | Html, kind: str, labels: dict[str, str] | None = None) -> dict[str, str]:
    """Fields of a detail page: label/value table rows, then ``<dl>`` pairs, then labelled text lines.

    For a field given twice the first non-empty value wins; unknown labels are ignored.
    """
    doc = parse(html)
    for br in doc.iter("br"):
        br.tail = "\n" + (br.tail or "")
    labels = labels or synonym_map(kind)
    out: dict[str, str] = {}
    for label, value in (*_table_pairs(doc, labels), *_dl_pairs(doc), *_text_pairs(doc)):
        match = header_match(label, labels)
        if match and not out.get(match.code):
            out[match.code] = cell_value(value, match)
    return out


def _table_pairs(doc: Html, labels: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(label, value) from rows of label and value cells: th/td, td/td, or several pairs per row.

    A "value" that is itself a known label means the row is a list header, not a pair, and is skipped.
    """
    for tr in doc.iter("tr"):
        cells = [text_of(c) for c in _CELLS(tr)]
        for i in range(0, len(cells) - 1, 2):
            if header_match(cells[i + 1], labels) is None:
                yield cells[i], cells[i + 1]


def _dl_pairs(doc: Html) -> Iterator[tuple[str, str]]:
    for dt in doc.iter("dt"):
        dd = dt.getnext()
        if dd is not None and dd.tag == "dd":
            yield text_of(dt), text_of(dd)


def _text_pairs(doc: Html) -> Iterator[tuple[str, str]]:
    """"label：value" segments of the text of innermost text blocks (a line may hold several)."""
    for el in _LABELLED_BLOCKS(doc):  # an outer block's inner blocks are read on their own
        for line in "".join(el.itertext()).splitlines():
            if "：" in line or ":" in line:
                yield from _labelled_segments(line)


def _labelled_segments(line: str) -> Iterable[tuple[str, str]]:
    matches = list(_LABEL.finditer(line))
    for m, following in zip(matches, [*matches[1:], None]):
        end = following.start() if following else len(line)
        yield m.group(1), " ".join(line[m.end():end].split())


# --- tables (attachments) and JSON ---------------------------------------------------------------

def table_records(rows: list[list[str]], kind: str, labels: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Records of a plain table (a spreadsheet, CSV or Word table): header row found as on list pages."""
    labels = labels or synonym_map(kind)
    found = plain_header_row(rows, labels)
    if found is None:
        return []
    i, columns = found
    out = []
    for row in rows[i + 1:]:
        fields = {m.code: cell_value(row[col].strip(), m) if col < len(row) else "" for col, m in columns.items()}
        if any(fields.values()):
            out.append(fields)
    return out


def table_header(rows: list[list[str]], kind: str, labels: dict[str, str] | None = None) -> list[str]:
    """The header row ``table_records`` reads (empty when none of the first rows is a header)."""
    found = plain_header_row(rows, labels or synonym_map(kind))
    return list(rows[found[0]]) if found else []


def entity_fields(entity: dict[str, Any], kind: str, labels: dict[str, str] | None = None) -> dict[str, str]:
    """Fields of one JSON record: keys are codes (any case) or synonyms; nested values are ignored."""
    labels = labels or synonym_map(kind)
    out: dict[str, str] = {}
    for key, value in entity.items():
        match = header_match(str(key), labels)
        if match and value is not None and not isinstance(value, (dict, list, bool)) and not out.get(match.code):
            out[match.code] = cell_value(str(value), match)
    return out
