"""Pages → fields named by standard codes, with no per-site code.

Every label or column header a page prints goes through the registry's synonym map
(``metrics.standard.synonym_map``), so a site that says 当事人 where the standard says 行政相对人名称 needs a
registry synonym, not a parser. Three shapes are read:

- list pages: the table whose header row names at least two known fields; one dict per body row, plus the
  row's first link (usually the detail page);
- detail pages: label/value table rows, ``<dl>`` pairs and labelled text lines ("当事人：xxx"), including the
  page's own 发布日期 (code ``FBRQ``);
- JSON entities: keys that are codes in lower case (``cf_wsh``) or synonyms.

Values are returned as the page's text; ``crawlers.normalize`` cleans them. HTML is parsed, never run.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from metrics.standard import normalise_label, synonym_map

MIN_HEADER_CODES = 2
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "utf8": "utf-8"}
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_BLOCK_TAGS = ["p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "dl", "dd", "section", "article"]
_TEXT_TAGS = ["p", "div", "li", "span", "dd", "td", "th", "font", "strong"]
# a label starts a line or follows whitespace; digits-only "labels" (10:20) are times, not labels
_LABEL = re.compile(r"(?:^|(?<=\s))(?!\d+\s*[：:])([^\s：:，。；,;、]{2,20})\s*[：:]")


@dataclass
class ListRow:
    """One body row of a list table: its fields by code, and its first link (absolute) if any."""

    fields: dict[str, str]
    link: str | None


# --- decoding ------------------------------------------------------------------------------------

def decode(body: bytes, content_type: str | None = None) -> str:
    """Bytes → text: the HTTP charset, else the ``<meta>`` charset, else gb18030.

    Old sites often declare the wrong charset, so the declaration is checked against the bytes: bytes that
    are valid UTF-8 are read as UTF-8 whatever the page says (GBK text with Chinese in it practically never
    is), and a declared charset that does not decode cleanly is skipped.
    """
    declared = [_charset(_HEADER_CHARSET.search(content_type or "")), _charset(_META_CHARSET.search(body[:4096]))]
    for charset in ("utf-8-sig", *declared, "gb18030"):
        if charset:
            try:
                return body.decode(charset)
            except (UnicodeDecodeError, LookupError):
                continue
    return body.decode("utf-8", errors="replace")


def _charset(match: re.Match | None) -> str | None:
    if not match:
        return None
    name = match.group(1)
    name = (name.decode("ascii", "ignore") if isinstance(name, bytes) else name).strip().lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


# --- list pages ----------------------------------------------------------------------------------

def list_rows(html: str, kind: str, base_url: str) -> list[ListRow]:
    """Rows of the first table whose header maps to at least two standard codes (empty if none does)."""
    soup = BeautifulSoup(html, "lxml")
    labels = synonym_map(kind)
    for table in soup.find_all("table"):
        rows = table.find_all("tr")
        for i, tr in enumerate(rows[:3]):  # the header may follow a caption-like title row
            columns = _header_columns(tr, labels)
            if len(set(columns.values())) >= MIN_HEADER_CODES:
                return [row for r in rows[i + 1:] if (row := _list_row(r, columns, base_url))]
    return []


def _cells(tr: Tag) -> list[Tag]:
    return tr.find_all(["th", "td"], recursive=False)


def _column_positions(tr: Tag) -> Iterator[tuple[int, Tag]]:
    """Cells with their column index, honouring ``colspan``."""
    col = 0
    for cell in _cells(tr):
        yield col, cell
        try:
            col += max(1, int(cell.get("colspan", 1)))
        except ValueError:
            col += 1


def _header_columns(tr: Tag, labels: dict[str, str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for col, cell in _column_positions(tr):
        code = labels.get(normalise_label(cell.get_text(" ", strip=True)))
        if code and code not in out.values():
            out[col] = code
    return out


def _list_row(tr: Tag, columns: dict[int, str], base_url: str) -> ListRow | None:
    fields = {columns[col]: _cell_text(cell) for col, cell in _column_positions(tr) if col in columns}
    link = _first_link(tr, base_url)
    if not any(fields.values()) and link is None:
        return None  # a spacer, footer or "no data" row
    return ListRow(fields, link)


def _cell_text(cell: Tag) -> str:
    """A cell's text; a truncated one ("长沙市某某…") is replaced by its full ``title`` when given."""
    text = cell.get_text(" ", strip=True)
    if text.endswith(("...", "…")):
        for el in (cell, *cell.find_all(title=True)):
            if el.get("title"):
                return str(el["title"]).strip()
    return text


def _first_link(tr: Tag, base_url: str) -> str | None:
    for a in tr.find_all("a", href=True):
        href = a["href"].strip()
        if href and not href.startswith("#") and not href.lower().startswith(("javascript:", "mailto:")):
            return urljoin(base_url, href)
    return None


# --- detail pages --------------------------------------------------------------------------------

def detail_fields(html: str, kind: str) -> dict[str, str]:
    """Fields of a detail page: label/value table rows, then ``<dl>`` pairs, then labelled text lines.

    For a field given twice the first non-empty value wins; unknown labels are ignored.
    """
    soup = BeautifulSoup(html, "lxml")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    labels = synonym_map(kind)
    out: dict[str, str] = {}
    for label, value in (*_table_pairs(soup, labels), *_dl_pairs(soup), *_text_pairs(soup)):
        code = labels.get(normalise_label(label))
        if code and not out.get(code):
            out[code] = value
    return out


def _table_pairs(soup: BeautifulSoup, labels: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(label, value) from rows of label and value cells: th/td, td/td, or several pairs per row.

    A "value" that is itself a known label means the row is a list header, not a pair, and is skipped.
    """
    for tr in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in _cells(tr)]
        for i in range(0, len(cells) - 1, 2):
            if normalise_label(cells[i + 1]) not in labels:
                yield cells[i], cells[i + 1]


def _dl_pairs(soup: BeautifulSoup) -> Iterator[tuple[str, str]]:
    for dt in soup.find_all("dt"):
        dd = dt.find_next_sibling("dd")
        if dd is not None:
            yield dt.get_text(" ", strip=True), dd.get_text(" ", strip=True)


def _text_pairs(soup: BeautifulSoup) -> Iterator[tuple[str, str]]:
    """"label：value" segments of the text of innermost text blocks (a line may hold several)."""
    for el in soup.find_all(_TEXT_TAGS):
        if el.find(_BLOCK_TAGS) is not None:
            continue  # its inner blocks are read on their own
        for line in el.get_text("").splitlines():
            yield from _labelled_segments(line)


def _labelled_segments(line: str) -> Iterable[tuple[str, str]]:
    matches = list(_LABEL.finditer(line))
    for m, following in zip(matches, [*matches[1:], None]):
        end = following.start() if following else len(line)
        yield m.group(1), line[m.end():end].strip()


# --- JSON ----------------------------------------------------------------------------------------

def entity_fields(entity: dict, kind: str) -> dict[str, str]:
    """Fields of one JSON record: keys are codes (any case) or synonyms; nested values are ignored."""
    labels = synonym_map(kind)
    out: dict[str, str] = {}
    for key, value in entity.items():
        code = labels.get(normalise_label(str(key)))
        if code and value is not None and not isinstance(value, (dict, list, bool)) and not out.get(code):
            out[code] = str(value)
    return out
