"""How each demo department's website publishes: its *page shape* (real-world-sites.md, one of each).

The records and their defects come from ``democity.generate``; a shape only decides how they are printed
and paged, so every shape carries the same values and the ground truth does not depend on it. Shapes:

- ``paging``: ``query`` (``list?page=N``), ``next_link`` (``index_N.html`` with 下一页 links), ``trs``
  (``index_N.html`` with the total only in ``createPageHTML(N, …)``), ``post`` (a search form POSTed with
  ``pageNo``), ``json`` (the department's own JSON list API, page/size/total), ``attachments`` (one column
  page linking a spreadsheet or document per publication day; no detail pages);
- ``detail``: ``table`` (label/value rows) or ``text`` (free-text lines "行政相对人名称：…");
- ``title_list``: the list shows titles and dates only (no table), so the crawler follows every link;
- ``encoding``: ``gbk`` pages are GB18030-encoded and declare utf-8 on the list and nothing on details;
- ``labels``: ``pre2018`` prints the 2015–2018 field names where one maps to the field;
- ``formats``: attachment formats, used in turn.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import standard
from core.standard import normalise_label, synonym_map

PAGINGS = ("query", "next_link", "trs", "post", "json", "attachments")


@dataclass(frozen=True)
class Shape:
    paging: str
    detail: str = "table"
    title_list: bool = False
    encoding: str = "utf-8"
    labels: str = "current"
    formats: tuple[str, ...] = ()


SHAPES: dict[str, Shape] = {
    "sj-wj": Shape("trs"),
    "sj-yj": Shape("query", detail="text"),
    "sj-zr": Shape("attachments", formats=("xlsx", "csv")),
    "dc-cg": Shape("post"),
    "dc-wj": Shape("json"),
    "xs-scjg": Shape("trs", encoding="gbk"),
    "xs-ny": Shape("attachments", formats=("docx", "xls")),
    "xs-yj": Shape("next_link", labels="pre2018"),
    "nh-jt": Shape("query", detail="text", title_list=True),
    "nh-zj": Shape("trs", labels="pre2018"),
}


def shape_of(dept) -> Shape:
    """A department's shape; those not listed keep the paging style ``generate`` gave them."""
    return SHAPES.get(dept.id, Shape(dept.paging))


def pre2018_labels(kind: str, labels: dict[str, str]) -> dict[str, str]:
    """``labels`` with every field that has a 2015–2018 name printed under that name (when the registry maps
    the old name back to the same field, so nothing becomes ambiguous)."""
    lookup = synonym_map(kind)
    out = dict(labels)
    for f in standard.load(kind, "2015").fields:
        if f.maps_to and f.maps_to in out and lookup.get(normalise_label(f.name)) == f.maps_to:
            out[f.maps_to] = f.name
    return out


def printed_labels(dept, kind: str) -> dict[str, str]:
    """Code → the label this department's pages print for it."""
    labels = dept.labels[kind]
    return pre2018_labels(kind, labels) if shape_of(dept).labels == "pre2018" else labels


@dataclass(frozen=True)
class Broken:
    """A deliberate availability problem of the default demo (records unaffected): ``how`` the site fails
    at ``path`` (under the department's home): ``gone`` (404), ``home`` (redirect to the home page),
    ``captcha`` (an anti-bot wall), ``dead`` (a row on the column's first list page links here: 404) or
    ``bad`` (an attachment column lists a file here: a workbook whose one cell is at XFD1048576,
    democity.hostile)."""

    dept_id: str
    kind: str
    path: str
    how: str
    problem: str


BROKEN: tuple[Broken, ...] = (
    Broken("sj-hb", "cf", "old/cf/list.html", "gone", "column_missing"),  # an old column, removed
    Broken("sj-jt", "xk", "zwgk/xk/index.html", "home", "column_missing"),  # an old column, now → home page
    Broken("xs-yj", "cf", "cx/cf/list.html", "captcha", "blocked"),  # the bureau's query system
    Broken("nh-jt", "cf", "cf/detail/gone.html", "dead", "dead_link"),  # a withdrawn decision, link left
    Broken("sj-zr", "xk", "xk/files/20260601.xlsx", "bad", "bad_attachment"),  # a hostile workbook, 5.5 KB
)
