"""The city file's schema: every key with its TOML type, its Chinese description and the checks on its value.

Checking: the file is validated against the schema below (types, allowed values, unknown keys at every
level including inside ``paging`` and ``rows``, value ranges, http(s) URLs, regular expressions, encodings,
duplicate ids, department references, standard codes in ``labels``) before anything is built from it. Every
problem found is one Chinese line naming the file, the key path (``sources[3].paging.style``, counted from 1
like the file's ``[[sources]]`` blocks) and the fix; all of them are reported together in one ConfigError, so
a person fixes the file in one pass and no setting reaches the crawler unchecked (a ``concurrency = 0`` once
hung the fetch process, a bad regular expression crashed the crawl).

Why a small hand-written schema rather than pydantic: the file has some thirty keys, and what matters is the
message. pydantic's errors are English and per type (``int_parsing``, ``extra_forbidden``); turning them into
Chinese sentences with a fix would need a translation table as long as this schema, plus model classes beside
the dataclasses the crawler already uses. Here each key carries its Chinese description once, and the same
walk checks every level.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from core.vocab import CHANNELS, KIND_NAMES, KINDS

PAGING_STYLES = ("none", "query", "next_link", "trs", "post", "json")
DOCS = "docs/configuration.md"


@dataclass(frozen=True)
class Key:
    """One setting: its TOML type, what it is (Chinese, used in the fix), and the checks on its value.

    ``fields`` gives a table's keys (or, as a function of the table, the keys its ``style`` allows);
    ``values`` the rule for every value of a table with free keys (``labels``, ``form``); ``items`` the
    keys of each table in an array of tables (``[[departments.catalogue]]``)."""

    type: str  # "text" | "int" | "number" | "bool" | "table" | "tables"
    what: str
    required: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    check: Callable[[Any], str | None] | None = None
    fields: dict[str, Key] | Callable[[dict[str, Any]], dict[str, Key]] | None = None
    values: Key | None = None
    items: dict[str, Key] | None = None


def _identifier(value: str) -> str | None:
    if not value or re.search(r"\s", value):
        return "不能为空，也不能含空格；请用简短的字母、数字或连字符标识，如 sthjj-cf"
    return None


def _nonempty(value: str) -> str | None:
    return "不能为空；请填写" if not value.strip() else None


def _url(value: str) -> str | None:
    """An absolute http(s) URL with a host (and a valid port, if any)."""
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:
        ok = False
    return None if ok else f"{_shown(value)} 不是有效网址；应为以 http:// 或 https:// 开头、带主机名的完整网址"


def _url_or_empty(value: str) -> str | None:
    return _url(value) if value else None


def _regex(value: str) -> str | None:
    if not value:
        return "不能为空；应为匹配行链接的正则表达式，如 '/art/\\d+\\.html$'"
    try:
        re.compile(value)
    except re.error as exc:
        return (f"{_shown(value)} 不是有效的正则表达式（第 {(exc.pos or 0) + 1} 个字符：{exc.msg}）；"
                "请改正，TOML 中宜用单引号书写，如 '/art/\\d+\\.html$'")
    return None


def _encoding(value: str) -> str | None:
    try:
        "a".encode(value)  # LookupError for unknown names and for codecs that are not text encodings (hex)
    except UnicodeError:
        pass
    except LookupError:
        return f"{_shown(value)} 不是已知的文字编码；应为 utf-8、gb18030、gbk、big5 等，或删去此项以自动识别"
    return None


def _dotted_path(value: str) -> str | None:
    if value and not re.fullmatch(r"[^.\s]+(\.[^.\s]+)*", value):
        return f"{_shown(value)} 不是有效的取值路径；应为用点分隔的键名，如 data.list"
    return None


_PAGING_COMMON = {"style": Key("text", "分页方式", choices=PAGING_STYLES)}
_PAGE_NUMBER = Key("int", "起始页码（整数）", low=0, high=1_000_000)
_PARAM = Key("text", "页码参数名（如 page）", check=_nonempty)
PAGING: dict[str, dict[str, Key]] = {
    "none": _PAGING_COMMON,
    "next_link": _PAGING_COMMON,
    "trs": _PAGING_COMMON,
    "query": {**_PAGING_COMMON, "param": _PARAM, "start": _PAGE_NUMBER},
    "post": {**_PAGING_COMMON, "param": _PARAM, "start": _PAGE_NUMBER,
             "form": Key("table", "表单固定字段的表，如 { pageSize = \"10\" }",
                         values=Key("scalar", "文本或数字"))},
    "json": {**_PAGING_COMMON,
             "page_param": _PARAM, "size_param": Key("text", "每页条数参数名（如 pageSize）", check=_nonempty),
             "size": Key("int", "每页条数（整数）", low=1, high=10_000),
             "total_path": Key("text", "总数的取值路径（如 data.total）", check=_dotted_path),
             "list_path": Key("text", "列表的取值路径（如 data.list）", check=_dotted_path),
             "entity_key": Key("text", "每条记录所在的键（记录即列表项时写 \"\"）")},
}


def _paging_fields(table: dict[str, Any]) -> dict[str, Key]:
    """The keys a paging table may have: those of its style (every paging key while the style is wrong)."""
    style = table.get("style", "none")
    if isinstance(style, str) and style in PAGING:
        return PAGING[style]
    return {k: v for keys in PAGING.values() for k, v in keys.items()}


CATALOGUE = {
    "code": Key("text", "事项编码", required=True, check=_nonempty),
    "kind": Key("text", "事项类别", required=True, choices=KINDS),
    "name": Key("text", "事项名称", required=True, check=_nonempty),
    "basis": Key("text", "设定依据"),
}
DEPARTMENT = {
    "id": Key("text", "部门编号", required=True, check=_identifier),
    "name": Key("text", "部门全称", required=True, check=_nonempty),
    "county": Key("text", "县区名称或“市本级”", required=True, check=_nonempty),
    "credit_code": Key("text", "部门的统一社会信用代码"),
    "website": Key("text", "网站首页网址", check=_url_or_empty),
    "column_url": Key("text", "双公示专栏网址", check=_url_or_empty),
    "liaison": Key("text", "联络人"),
    "liaison_phone": Key("text", "联络电话"),
    "catalogue": Key("tables", "事项目录 [[departments.catalogue]]", items=CATALOGUE),
}
SOURCE = {
    "id": Key("text", "来源编号", required=True, check=_identifier),
    "channel": Key("text", "来源渠道", required=True, choices=CHANNELS),
    "kind": Key("text", "记录类别", required=True, choices=KINDS),
    "start_url": Key("text", "列表首页网址", required=True, check=_url),
    "dept": Key("text", "所属部门编号（[[departments]] 的 id）", check=_nonempty),
    "paging": Key("table", "分页设置的表，如 { style = \"query\", param = \"page\" }", fields=_paging_fields),
    "max_pages": Key("int", "翻页上限（整数）", low=1, high=1_000_000),
    "concurrency": Key("int", "同时请求数（整数）", low=1, high=64),
    "delay": Key("number", "请求间隔秒数", low=0, high=3600),
    "robots": Key("bool", "true 或 false"),
    "rows": Key("table", "行链接设置的表，如 { links = '/art/\\d+\\.html$' }",
                fields={"links": Key("text", "匹配行链接的正则表达式", required=True, check=_regex)}),
    "labels": Key("table", "页面标签到标准字段代码的表，如 { \"案件编号\" = \"CF_WSH\" }",
                  values=Key("text", "标准字段代码（如 CF_WSH）", check=_nonempty)),
    "encoding": Key("text", "文字编码名称（如 gb18030）", check=_encoding),
}
CITY = {"name": Key("text", "城市名称", check=_nonempty)}


def _email(value: str) -> str | None:
    if not re.fullmatch(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+", value):
        return f"{_shown(value)} 不是有效的电子邮件地址；应写成 name@example.gov.cn 的形式"
    return None


def _env_name(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return f"{_shown(value)} 不是环境变量名；应写保存密码的环境变量的名字（如 SGS_SMTP_PASSWORD），不要直接写密码"
    return None


MAIL = {  # [mail]: where the daily digests are sent (docs/operations.md); without host they are only written
    "host": Key("text", "邮件服务器（SMTP）主机名", check=_nonempty),
    "port": Key("int", "邮件服务器端口（整数，如 25、587）", low=1, high=65535),
    "from": Key("text", "发件人地址", check=_email),
    "starttls": Key("bool", "true 或 false（是否用 STARTTLS 加密）"),
    "username": Key("text", "登录邮件服务器的用户名"),
    "password_env": Key("text", "保存邮件服务器密码的环境变量名", check=_env_name),
    "credit_office": Key("text", "信用办接收每日摘要的地址", check=_email),
}
TOP = {
    "city": Key("table", "[city] 表", fields=CITY),
    "mail": Key("table", "[mail] 表（每日摘要的邮件设置）", fields=MAIL),
    "departments": Key("tables", "部门 [[departments]]", items=DEPARTMENT),
    "sources": Key("tables", "来源 [[sources]]", items=SOURCE),
}
_TYPE_NAMES = {str: "文本", int: "整数", float: "小数", bool: "布尔值", dict: "表", list: "数组",
               datetime: "日期时间", date: "日期", time: "时间"}
_SHOWN_MAX = 60


def check_document(doc: dict[str, Any]) -> list[str]:
    """Every problem of a parsed city file, one Chinese line each (key path first); [] when it is sound."""
    out: list[str] = []
    _check_table(doc, TOP, "", out)
    _check_references(doc, out)
    return out


def _check_table(table: dict[str, Any], fields: dict[str, Key], path: str, out: list[str]) -> None:
    for name, value in table.items():
        where = _join(path, name)
        if name not in fields:
            known = "、".join(fields) or "（无）"
            out.append(f"{where}：未知的设置项；请删除或改正拼写（此处可用：{known}）")
        else:
            _check_value(value, fields[name], where, out)
    for name, key in fields.items():
        if key.required and name not in table:
            out.append(f"{_join(path, name)}：缺少必填项；请填写{key.what}")


def _check_value(value: Any, key: Key, path: str, out: list[str]) -> None:
    if not _has_type(value, key.type):
        out.append(f"{path}：应为{_expected(key)}，而不是{_type_name(value)} {_shown(value)}")
        return
    if key.type == "table":
        if key.fields is not None:
            _check_table(value, key.fields(value) if callable(key.fields) else key.fields, path, out)
        elif key.values is not None:
            for name, item in value.items():
                _check_value(item, key.values, _join(path, name), out)
    elif key.type == "tables":
        for i, item in enumerate(value, 1):
            _check_value(item, Key("table", f"{key.what} 中的表", fields=key.items), f"{path}[{i}]", out)
    elif key.choices and value not in key.choices:
        out.append(f"{path}：{_shown(value)} 不是可用的{key.what}；应为 {'、'.join(key.choices)} 之一")
    elif key.type in ("int", "number") and not _in_range(value, key):
        out.append(f"{path}：{_shown(value)} 超出范围；{key.what}应在 {_num(key.low)} 到 {_num(key.high)} 之间")
    elif key.check is not None and (problem := key.check(value)):
        out.append(f"{path}：{problem}")


def _check_references(doc: dict[str, Any], out: list[str]) -> None:
    """What one entry cannot say alone: unique ids and codes, departments that exist, codes in ``labels``.

    Entries whose own keys are wrong were reported by the walk; here they are read only as far as they are
    sound, so every problem of the file is found in one pass."""
    depts, sources = _tables(doc.get("departments")), _tables(doc.get("sources"))
    if doc.get("sources", []) == []:
        out.append("sources：没有任何 [[sources]] 来源；请至少配置一个要抓取的列表")
    _duplicates([(f"departments[{i}].id", d.get("id")) for i, d in depts], "部门编号", out)
    _duplicates([(f"sources[{i}].id", s.get("id")) for i, s in sources], "来源编号", out)
    for i, d in depts:
        _duplicates([(f"departments[{i}].catalogue[{j}].code", c.get("code"))
                     for j, c in _tables(d.get("catalogue"))], "事项编码", out)
    ids = {d["id"] for _, d in depts if isinstance(d.get("id"), str)}
    for i, s in sources:
        dept = s.get("dept")
        if isinstance(dept, str) and dept and dept not in ids:
            out.append(f"sources[{i}].dept：部门 {_shown(dept)} 未在 [[departments]] 中定义；"
                       f"应为其中一个部门的 id（{'、'.join(sorted(ids)) or '尚未配置部门'}）")
        elif s.get("channel") == "site" and "dept" not in s:
            out.append(f"sources[{i}].dept：缺少必填项；site 来源须写所属部门的 id（portal 来源按处罚/许可机关代码归属部门）")
        if s.get("kind") in KINDS and isinstance(s.get("labels"), dict):
            _check_labels(s["kind"], s["labels"], f"sources[{i}].labels", out)


def _tables(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The tables of an array of tables, numbered from 1 (the others were reported by the walk)."""
    return [(i, t) for i, t in enumerate(value, 1) if isinstance(t, dict)] if isinstance(value, list) else []


def _duplicates(entries: list[tuple[str, Any]], what: str, out: list[str]) -> None:
    first: dict[str, str] = {}
    for where, value in entries:
        if not isinstance(value, str):
            continue
        if value in first:
            out.append(f"{where}：{what} {_shown(value)} 与 {first[value]} 重复；{what}应唯一，请改用其他编号")
        else:
            first[value] = where


def _check_labels(kind: str, labels: dict[str, Any], path: str, out: list[str]) -> None:
    """``labels`` map to the standard codes of the source's kind (or the page's 发布日期 FBRQ)."""
    from core import standard

    codes = set(standard.load(kind).codes) | {f.code for f in standard.page_fields()}
    for label, code in labels.items():
        if isinstance(code, str) and code and code not in codes:
            out.append(f"{_join(path, label)}：{_shown(code)} 不是{KIND_NAMES[kind]}（{kind}）的标准字段代码；"
                       f"应为 data/standard/ 中的代码，如 {kind.upper()}_WSH")


# --- small helpers of the messages ---------------------------------------------------------------

def _join(path: str, name: str) -> str:
    name = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)
    return f"{path}.{name}" if path else name


def _has_type(value: Any, type_: str) -> bool:
    if type_ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_ == "scalar":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return isinstance(value, {"text": str, "bool": bool, "table": dict, "tables": list}[type_])


def _expected(key: Key) -> str:
    kind = {"text": "文本", "int": "整数", "number": "数字", "bool": "布尔值", "table": "表", "tables": "表的数组",
            "scalar": "文本或数字"}[key.type]
    return key.what if kind in key.what else f"{kind}（{key.what}）"


def _in_range(value: float, key: Key) -> bool:
    return math.isfinite(value) and (key.low is None or value >= key.low) and (key.high is None or value <= key.high)


def _num(value: float | None) -> str:
    return "∞" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _type_name(value: Any) -> str:
    return next((name for t, name in _TYPE_NAMES.items() if type(value) is t), type(value).__name__)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"
