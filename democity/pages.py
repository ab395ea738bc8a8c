"""The demo city's web pages, attachments and credit-portal JSON, rendered from a ``DemoCity`` on request.

Routing and rendering only; no sockets (``democity.server`` serves ``Site.respond``), so tests can render
every page without a server. Each department's site has its page shape (``democity.shapes``): paging by a
query parameter, 下一页 links, TRS ``createPageHTML``, a POSTed search form, a JSON list API, or a column
of spreadsheets and documents; detail pages as label/value tables or free-text lines; UTF-8 or GBK with a
wrong or missing declaration; current or pre-2018 labels. Every shape prints the same records.

Detail pages also carry markup a real site might have and a monitor must never run or fetch: a script, an
``onerror`` handler, a style block and a remote stylesheet (the dashboard proves it shows them inertly).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import date
from html import escape
from urllib.parse import parse_qs

from core import standard
from core.vocab import KIND_NAMES
from core import vocab

from democity.model import PAGE_SIZE, DemoCity, DemoDepartment, DemoRecord, Fix
from democity.hostile import one_cell_xlsx
from democity.shapes import BROKEN, Shape, printed_labels, shape_of

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
PORTAL_DEFAULT_SIZE = 20
UNDATED_PORTAL = ("xk",)  # portal channels that state no 公示日期 (as many real portals): judged by sightings
PORTAL_MAX_SIZE = 100
HOSTILE_HEAD = ("<style>body{font-family:serif}.hide{display:none}</style>"
                '<link rel="stylesheet" href="http://example.invalid/x.css">'
                "<script>document.title='PWNED'</script>")
HOSTILE_BODY = "<img src=x onerror=\"document.title='PWNED'\">"
ATTACHMENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

_DEPT_PATH = re.compile(r"^/d/(?P<dept>[a-z0-9-]+)/(?P<rest>.*)$")
_INDEX_PAGE = re.compile(r"^index(?:_(?P<n>[1-9]\d*))?\.html$")
_DETAIL_PAGE = re.compile(r"^detail/(?P<id>[a-z0-9]+)\.html$")
_FILE = re.compile(r"^files/(?P<day>\d{8})\.(?P<fmt>[a-z]+)$")


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


NOT_FOUND = Response(404, HTML, b"<!doctype html><meta charset=\"utf-8\"><title>404</title><h1>404 Not Found</h1>")
CAPTCHA_PAGE = ('<!doctype html><html><head><meta charset="utf-8"><title>安全验证</title></head><body>'
                '<form method="post"><p>访问过于频繁，请输入验证码后继续：</p><img src="captcha.jpg">'
                '<input name="code"><button>提交</button></form></body></html>')


class Site:
    """Every page of the demo city, addressed by method, path, query string and form."""

    def __init__(self, city: DemoCity, as_of: date | None = None) -> None:
        self.city = city
        self.depts = {d.id: d for d in city.departments}
        self.broken = {(b.dept_id, b.path): b for b in BROKEN}
        self.fixes: tuple[Fix, ...] = ()  # corrections a department made on its site (democity.staged.Fix)
        self.set_as_of(as_of)

    def set_fixes(self, fixes: tuple[Fix, ...]) -> None:
        """Corrections the sites show from each fix's day on (the re-crawl verification's test)."""
        self.fixes = fixes
        self.set_as_of(self.as_of)

    def set_as_of(self, as_of: date | None) -> None:
        """Show the city as it stood on ``as_of`` (None: everything): a site lists a record from its 发布日期 on,
        the portal from its 公示日期 on — so staged crawls (``democity.staged``) see records appear."""
        city = self.city
        self.as_of = as_of
        self.records = {r.id: r for r in city.records if as_of is None or r.fbrq <= as_of}
        for fix in self.fixes:
            if as_of is None or fix.day <= as_of:
                fix.apply(self.records)
        self.columns: dict[tuple[str, str], list[DemoRecord]] = {}
        for r in self.records.values():
            self.columns.setdefault((r.dept_id, r.kind), []).append(r)
        for rows in self.columns.values():
            rows.sort(key=lambda r: (r.fbrq, r.jdrq, r.id), reverse=True)  # newest first
        self.portal = {
            kind: sorted((r for r in city.records if r.kind == kind and r.on_portal
                          and (as_of is None or r.gsrq <= as_of)),
                         key=lambda r: (r.gsrq, r.id), reverse=True)
            for kind in vocab.KINDS
        }
        self._files: dict[tuple[str, str, str], Response] = {}

    def respond(self, path: str, query: str = "", method: str = "GET", form: str = "") -> Response:
        params = parse_qs(query)
        if path == "/":
            return _html(self._index())
        if path == "/robots.txt":
            return Response(200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n")
        if path == "/portal/":
            return _html(self._portal_home())
        if path.startswith("/portal/api/") and path[12:] in vocab.KINDS:
            return self._portal_api(path[12:], params)
        m = _DEPT_PATH.match(path)
        if m and m["dept"] in self.depts:
            return self._department(self.depts[m["dept"]], m["rest"], params, method, parse_qs(form))
        return NOT_FOUND

    # --- department pages ----------------------------------------------------------------------

    def _department(self, dept: DemoDepartment, rest: str, params: dict, method: str, form: dict) -> Response:
        shape = shape_of(dept)
        if rest == "":
            return _html(self._dept_home(dept), shape)
        if rest == "sgs/":
            return _html(self._column_home(dept), shape)
        broken = self.broken.get((dept.id, rest))
        if broken and broken.how == "home":
            return Response(302, HTML, b"", (("Location", f"/d/{dept.id}/"),))
        if broken and broken.how == "captcha":
            return Response(200, HTML, CAPTCHA_PAGE.encode("utf-8"))
        if broken and broken.how == "bad":
            return Response(200, ATTACHMENT_TYPES["xlsx"], one_cell_xlsx())
        kind, _, page = rest.partition("/")
        if kind not in dept.kinds:
            return NOT_FOUND
        if shape.paging == "query" and page == "list":
            return _html(self._list(dept, kind, _int(params.get("page"), 1)), shape, listing=True)
        if shape.paging == "post" and page == "search.do":
            number = _int(form.get("pageNo"), 1) if method == "POST" else 1
            return _html(self._list(dept, kind, number), shape, listing=True)
        if shape.paging == "json" and page == "api/list":
            return self._dept_api(dept, kind, _int(params.get("pageNo"), 1), _int(params.get("pageSize"), PAGE_SIZE))
        m = _INDEX_PAGE.match(page)
        if m and shape.paging in ("next_link", "trs"):
            return _html(self._list(dept, kind, int(m["n"] or 0) + 1), shape, listing=True)
        if m and not m["n"] and shape.paging in ("attachments", "json"):
            return _html(self._file_list(dept, kind) if shape.paging == "attachments" else
                         _page(f"{dept.name}{KIND_NAMES[kind]}信息公示", '<div id="app">数据加载中……</div>'), shape)
        m = _FILE.match(page)
        if m and shape.paging == "attachments":
            return self._file(dept, kind, m["day"], m["fmt"])
        m = _DETAIL_PAGE.match(page)
        record = self.records.get(m["id"]) if m else None
        if record and record.dept_id == dept.id and record.kind == kind:
            return _html(self._detail(dept, record), shape)
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
        shape = shape_of(dept)
        rows = self.columns.get((dept.id, kind), [])
        pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
        first = (number - 1) * PAGE_SIZE
        chosen = rows[first:first + PAGE_SIZE]
        title = f"{dept.name}{KIND_NAMES[kind]}信息公示"
        if shape.title_list:
            items = [f'<li><a href="detail/{r.id}.html">关于{escape(r.xdr_mc)}的{KIND_NAMES[kind]}决定信息</a>'
                     f'<span class="date">{escape(r.fbrq_text)}</span></li>' for r in chosen]
            dead = next((b for b in BROKEN if b.how == "dead" and b.dept_id == dept.id and b.kind == kind), None)
            if dead and number == 1:
                items.append(f'<li><a href="{dead.path.split("/", 1)[1]}">关于某公司{KIND_NAMES[kind]}决定信息（已撤回）</a>'
                             '<span class="date">2026-06-01</span></li>')
            listing = f'<ul class="list">{"".join(items)}</ul>'
        else:
            body = []
            for i, r in enumerate(chosen, first + 1):
                p = kind.upper()
                body.append(f'<tr><td>{i}</td><td><a href="detail/{r.id}.html">{escape(r.wsh)}</a></td>'
                            f"<td>{escape(r.site[p + '_XDR_MC'])}</td><td>{escape(r.site[p + '_JDRQ'])}</td>"
                            f"<td>{escape(r.fbrq_text)}</td></tr>")
            listing = ('<table class="list"><thead><tr><th>序号</th><th>决定书文号</th><th>行政相对人名称</th>'
                       f"<th>决定日期</th><th>发布日期</th></tr></thead><tbody>{''.join(body)}</tbody></table>")
        return _page(title, f"<h1>{escape(title)}</h1>{listing}{_pager(shape, number, pages)}")

    def _detail(self, dept: DemoDepartment, record: DemoRecord) -> str:
        labels = printed_labels(dept, record.kind)
        fields = [(labels[f.code], record.site[f.code]) for f in standard.load(record.kind).fields
                  if f.code in record.site]
        if shape_of(dept).detail == "text":
            content = '<div class="article">' + "".join(f"<p>{escape(k)}：{escape(v)}</p>" for k, v in fields) + "</div>"
        else:
            content = '<table class="detail">' + "".join(
                f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in fields) + "</table>"
        title = f"{record.xdr_mc}{KIND_NAMES[record.kind]}决定信息"
        return _page(title, f"<h1>{escape(title)}</h1>{HOSTILE_BODY}"
                     f"<div class=\"meta\">发布日期：{escape(record.fbrq_text)}</div>{content}", head=HOSTILE_HEAD)

    # --- JSON list API of a department -----------------------------------------------------------

    def _dept_api(self, dept: DemoDepartment, kind: str, page: int, size: int) -> Response:
        """The department's own list API: Chinese labels as keys, the site's text as values."""
        rows = self.columns.get((dept.id, kind), [])
        size = min(size, PORTAL_MAX_SIZE)
        labels = printed_labels(dept, kind)
        items = [{"id": r.id, "发布日期": r.fbrq_text, **{labels[c]: v for c, v in r.site.items()}}
                 for r in rows[(page - 1) * size: page * size]]
        doc = {"code": 0, "msg": "ok", "result": {"total": len(rows), "pageNo": page, "pageSize": size, "rows": items}}
        return Response(200, JSON, json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    # --- attachment-only columns -----------------------------------------------------------------

    def batches(self, dept: DemoDepartment, kind: str) -> list[tuple[str, str, list[DemoRecord]]]:
        """(day, format, records): one file per publication day, newest first, formats in turn."""
        by_day: dict[str, list[DemoRecord]] = {}
        for r in self.columns.get((dept.id, kind), []):
            by_day.setdefault(f"{r.fbrq:%Y%m%d}", []).append(r)
        formats = shape_of(dept).formats
        return [(day, formats[i % len(formats)], recs) for i, (day, recs) in enumerate(by_day.items())]

    def _file_list(self, dept: DemoDepartment, kind: str) -> str:
        batches = self.batches(dept, kind)
        items = "".join(f'<li><a href="files/{day}.{fmt}">{KIND_NAMES[kind]}信息公示（第{len(batches) - i}批）'
                        f'</a><span class="date">{recs[0].fbrq_text}</span></li>'
                        for i, (day, fmt, recs) in enumerate(batches))
        bad = next((b for b in BROKEN if b.how == "bad" and b.dept_id == dept.id and b.kind == kind), None)
        if bad:
            items += (f'<li><a href="{bad.path.split("/", 1)[1]}">{KIND_NAMES[kind]}信息公示（补充）</a>'
                      '<span class="date">2026-06-01</span></li>')
        title = f"{dept.name}{KIND_NAMES[kind]}信息公示"
        return _page(title, f'<h1>{escape(title)}</h1><p>附件下载：</p><ul class="files">{items}</ul>')

    def _file(self, dept: DemoDepartment, kind: str, day: str, fmt: str) -> Response:
        key = (dept.id, kind, f"{day}.{fmt}")
        if key not in self._files:
            batch = next(((f, recs) for d, f, recs in self.batches(dept, kind) if d == day), None)
            if batch is None or batch[0] != fmt:
                return NOT_FOUND
            labels = printed_labels(dept, kind)
            codes = standard.load(kind).codes
            table = [[labels[c] for c in codes]] + [[r.site.get(c, "") for c in codes] for r in batch[1]]
            self._files[key] = Response(200, ATTACHMENT_TYPES[fmt], _WRITERS[fmt](table))
        return self._files[key]

    # --- portal --------------------------------------------------------------------------------

    def _portal_home(self) -> str:
        links = "".join(f'<li><a href="api/{k}?page=1&amp;pageSize={PORTAL_DEFAULT_SIZE}">{KIND_NAMES[k]}'
                        f"（{len(self.portal[k])} 条）</a></li>" for k in vocab.KINDS)
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
    """A column's first list page, relative to the department's home (``cf/list``, ``xk/index.html``, …)."""
    paging = shape_of(dept).paging
    if paging == "query":
        return f"{kind}/list"
    if paging == "post":
        return f"{kind}/search.do"
    if paging == "json":
        return f"{kind}/api/list"
    return f"{kind}/index.html"


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
    if record.kind not in UNDATED_PORTAL:
        entity["gsrq"] = f"{record.gsrq:%Y/%m/%d}"
    return entity


def _pager(shape: Shape, number: int, pages: int) -> str:
    """The list's paging controls as each CMS draws them."""
    if shape.paging == "trs":  # the links are drawn by the script; only the script knows the total
        return f'<div class="pager"><script>createPageHTML({pages}, {number - 1}, "index", "html");</script></div>'
    pager = f'<div class="pager">共 {pages} 页，当前第 {number} 页'
    if shape.paging == "next_link" and number < pages:
        pager += f' <a href="index_{number}.html">下一页</a>'
    if shape.paging == "post":
        pager += (f'<form method="post" action="search.do"><input type="hidden" name="pageNo" value="{number + 1}">'
                  '<input type="hidden" name="pageSize" value="10"><button type="submit">下一页</button></form>')
    return pager + "</div>"


def _int(values: list[str] | None, default: int) -> int:
    """The last value of a query parameter as a positive int (a repeated ``page`` takes the last)."""
    try:
        return max(1, int(values[-1])) if values else default
    except ValueError:
        return default


def _html(text: str, shape: Shape | None = None, listing: bool = False) -> Response:
    """UTF-8, or for a GBK site GB18030 bytes: list pages still claim utf-8 in their ``<meta>``, detail
    pages declare nothing, and the HTTP header names no charset (what old CMS templates do)."""
    if shape is None or shape.encoding == "utf-8":
        return Response(200, HTML, text.encode("utf-8"))
    if not listing:
        text = text.replace('<meta charset="utf-8">', "")
    return Response(200, "text/html", text.encode("gb18030"))


def _page(title: str, body: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>{head}'
            f"</head><body>{body}</body></html>")


# --- attachment writers: a header row and rows of text ----------------------------------------------

def _xlsx(table: list[list[str]]) -> bytes:
    """A department's monthly spreadsheet, written with XlsxWriter (the one spreadsheet library sgs writes
    with; text stays text, as a department's export would have it)."""
    import xlsxwriter

    out = io.BytesIO()
    with xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False}) as book:
        sheet = book.add_worksheet()
        for r, row in enumerate(table):
            sheet.write_row(r, 0, row)
    return out.getvalue()


def _xls(table: list[list[str]]) -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("公示")
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(table: list[list[str]]) -> bytes:
    """CSV as old office software writes it: GBK (GB18030), no byte-order mark, no declared charset."""
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return out.getvalue().encode("gb18030")


def _docx(table: list[list[str]]) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("行政许可、行政处罚信息公示")
    grid = document.add_table(rows=0, cols=len(table[0]))
    for row in table:
        for cell, value in zip(grid.add_row().cells, row):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


_WRITERS = {"xlsx": _xlsx, "xls": _xls, "csv": _csv, "docx": _docx}
