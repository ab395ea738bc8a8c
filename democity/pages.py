"""The demo city's web pages and credit-portal JSON, rendered from a ``DemoCity`` on request.

Routing and rendering only; no sockets (``democity.server`` serves ``Site.respond``), so tests can render
every page without a server. Shapes follow docs/real-world-sites: department columns paged by a query
parameter or by TRS-style ``index_N.html`` next links, key–value detail tables, and a portal JSON API
whose entities carry the standard codes in lower case.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs

from metrics import standard

from democity.generate import PAGE_SIZE, DemoCity, DemoDepartment, DemoRecord

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
KIND_NAMES = standard.KIND_NAMES
PORTAL_DEFAULT_SIZE = 20
PORTAL_MAX_SIZE = 100

_DEPT_PATH = re.compile(r"^/d/(?P<dept>[a-z0-9-]+)/(?P<rest>.*)$")
_INDEX_PAGE = re.compile(r"^index(?:_(?P<n>[1-9]\d*))?\.html$")
_DETAIL_PAGE = re.compile(r"^detail/(?P<id>[a-z0-9]+)\.html$")


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


NOT_FOUND = Response(404, HTML, b"<!doctype html><meta charset=\"utf-8\"><title>404</title><h1>404 Not Found</h1>")


class Site:
    """Every page of the demo city, addressed by path and query string."""

    def __init__(self, city: DemoCity) -> None:
        self.city = city
        self.depts = {d.id: d for d in city.departments}
        self.records = {r.id: r for r in city.records}
        self.columns: dict[tuple[str, str], list[DemoRecord]] = {}
        for r in city.records:
            self.columns.setdefault((r.dept_id, r.kind), []).append(r)
        for rows in self.columns.values():
            rows.sort(key=lambda r: (r.fbrq, r.jdrq, r.id), reverse=True)  # newest first
        self.portal = {
            kind: sorted((r for r in city.records if r.kind == kind and r.on_portal),
                         key=lambda r: (r.gsrq, r.id), reverse=True)
            for kind in standard.KINDS
        }

    def respond(self, path: str, query: str = "") -> Response:
        params = parse_qs(query)
        if path == "/":
            return _html(self._index())
        if path == "/robots.txt":
            return Response(200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n")
        if path == "/portal/":
            return _html(self._portal_home())
        if path.startswith("/portal/api/") and path[12:] in standard.KINDS:
            return self._portal_api(path[12:], params)
        m = _DEPT_PATH.match(path)
        if m and m["dept"] in self.depts:
            return self._department(self.depts[m["dept"]], m["rest"], params)
        return NOT_FOUND

    # --- department pages ----------------------------------------------------------------------

    def _department(self, dept: DemoDepartment, rest: str, params: dict) -> Response:
        if rest == "":
            return _html(self._dept_home(dept))
        if rest == "sgs/":
            return _html(self._column_home(dept))
        kind, _, page = rest.partition("/")
        if kind not in dept.kinds:
            return NOT_FOUND
        if dept.paging == "query" and page == "list":
            return _html(self._list(dept, kind, _int(params.get("page"), 1)))
        m = _INDEX_PAGE.match(page)
        if dept.paging == "next_link" and m:
            return _html(self._list(dept, kind, int(m["n"] or 0) + 1))
        m = _DETAIL_PAGE.match(page)
        record = self.records.get(m["id"]) if m else None
        if record and record.dept_id == dept.id and record.kind == kind:
            return _html(self._detail(dept, record))
        return NOT_FOUND

    def _dept_home(self, dept: DemoDepartment) -> str:
        return _page(dept.name, f"<h1>{escape(dept.name)}</h1>"
                     f"<p>联系人 {escape(dept.liaison)}，电话 {escape(dept.liaison_phone)}</p>"
                     f'<ul><li><a href="sgs/">“双公示”专栏</a></li></ul>')

    def _column_home(self, dept: DemoDepartment) -> str:
        links = "".join(f'<li><a href="../{column_path(dept, k)}">{KIND_NAMES[k]}信息公示</a></li>'
                        for k in dept.kinds)
        return _page(f"{dept.name}“双公示”专栏", f"<h1>{escape(dept.name)}“双公示”专栏</h1><ul>{links}</ul>")

    def _list(self, dept: DemoDepartment, kind: str, number: int) -> str:
        """One list page (1-based); a page past the end has an empty body, as many CMSs answer."""
        rows = self.columns.get((dept.id, kind), [])
        pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
        first = (number - 1) * PAGE_SIZE
        body = []
        for i, r in enumerate(rows[first:first + PAGE_SIZE], first + 1):
            p = kind.upper()
            body.append(f'<tr><td>{i}</td><td><a href="detail/{r.id}.html">{escape(r.wsh)}</a></td>'
                        f"<td>{escape(r.site[p + '_XDR_MC'])}</td><td>{escape(r.site[p + '_JDRQ'])}</td>"
                        f"<td>{escape(r.fbrq_text)}</td></tr>")
        pager = f'<div class="pager">共 {pages} 页，当前第 {number} 页'
        if dept.paging == "next_link" and number < pages:
            pager += f' <a href="index_{number}.html">下一页</a>'
        pager += "</div>"
        title = f"{dept.name}{KIND_NAMES[kind]}信息公示"
        return _page(title, f"<h1>{escape(title)}</h1>"
                     '<table class="list"><thead><tr><th>序号</th><th>决定书文号</th><th>行政相对人名称</th>'
                     f"<th>决定日期</th><th>发布日期</th></tr></thead><tbody>{''.join(body)}</tbody></table>{pager}")

    def _detail(self, dept: DemoDepartment, record: DemoRecord) -> str:
        labels = dept.labels[record.kind]
        rows = "".join(f"<tr><th>{escape(labels[f.code])}</th><td>{escape(record.site[f.code])}</td></tr>"
                       for f in standard.load(record.kind).fields if f.code in record.site)
        title = f"{record.xdr_mc}{KIND_NAMES[record.kind]}决定信息"
        return _page(title, f"<h1>{escape(title)}</h1><div class=\"meta\">发布日期：{escape(record.fbrq_text)}</div>"
                     f'<table class="detail">{rows}</table>')

    # --- portal --------------------------------------------------------------------------------

    def _portal_home(self) -> str:
        links = "".join(f'<li><a href="api/{k}?page=1&amp;pageSize={PORTAL_DEFAULT_SIZE}">{KIND_NAMES[k]}'
                        f"（{len(self.portal[k])} 条）</a></li>" for k in standard.KINDS)
        return _page(f"信用{self.city.name}", f"<h1>信用{escape(self.city.name)}</h1><p>“双公示”数据接口</p><ul>{links}</ul>")

    def _portal_api(self, kind: str, params: dict) -> Response:
        page = _int(params.get("page"), 1)
        size = min(_int(params.get("pageSize"), PORTAL_DEFAULT_SIZE), PORTAL_MAX_SIZE)
        rows = self.portal[kind]
        chosen = rows[(page - 1) * size: page * size]
        doc = {"success": True, "data": {"total": len(rows), "page": page, "pageSize": size,
                                          "list": [{"id": r.id, "entity": portal_entity(r, self.depts[r.dept_id])}
                                                   for r in chosen]}}
        return Response(200, JSON, json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    def _index(self) -> str:
        rows = "".join(f'<tr><td>{escape(d.county)}</td><td><a href="/d/{d.id}/">{escape(d.name)}</a></td></tr>'
                       for d in self.city.departments)
        return _page(f"{self.city.name}人民政府", f"<h1>{escape(self.city.name)}人民政府 部门网站</h1>"
                     f'<table class="depts"><tr><th>区县</th><th>部门</th></tr>{rows}</table>'
                     '<p><a href="/portal/">信用示范市</a></p>')


def column_path(dept: DemoDepartment, kind: str) -> str:
    """A column's first list page, relative to the department's home (``cf/list``, ``xk/index.html``)."""
    return f"{kind}/list" if dept.paging == "query" else f"{kind}/index.html"


def portal_entity(record: DemoRecord, dept: DemoDepartment) -> dict[str, str]:
    """The portal's copy: every standard code in lower case, dates as yyyy/MM/dd, the correct agency code.

    The portal keeps the department's values (defects included) except the agency code, which the
    exchange platform fills from the pushing department's account.
    """
    std = standard.load(record.kind)
    values = dict(record.portal_values)
    values["XK_XKJGDM" if record.kind == "xk" else "CF_CFJGDM"] = dept.credit_code
    entity = {}
    for f in std.fields:
        value = values.get(f.code, "")
        if f.type == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            value = value.replace("-", "/")
        entity[f.code.lower()] = value
    entity["gsrq"] = f"{record.gsrq:%Y/%m/%d}"
    return entity


def _int(values: list[str] | None, default: int) -> int:
    """The last value of a query parameter as a positive int (a repeated ``page`` takes the last)."""
    try:
        return max(1, int(values[-1])) if values else default
    except ValueError:
        return default


def _html(text: str) -> Response:
    return Response(200, HTML, text.encode("utf-8"))


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body>{body}</body></html>")
