"""The city configuration file: departments, their catalogues, and the sources to crawl.

One TOML file describes a deployment (see docs/configuration.md). It is read here, checked as a whole, and
loaded into the database by the crawl, so every later step reads departments and sources from there.
The whole file is checked against ``core.cityschema`` before anything is built from it.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.cityschema import DOCS, check_document
from core.errors import InputError


class ConfigError(InputError, ValueError):
    """The configuration file is wrong; the message names the file, the key and the fix (one line each)."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    code: str
    kind: str
    name: str
    basis: str = ""


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    county: str
    credit_code: str = ""
    website: str = ""
    column_url: str = ""
    liaison: str = ""
    liaison_phone: str = ""
    catalogue: tuple[CatalogueItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """One list to crawl: a department column (channel ``site``) or a portal channel (``portal``).

    It is the source *profile* (docs/configuration.md): what to fetch (``start_url``, ``paging``), how to
    find rows and detail links (``rows``), field overrides (``labels``, ``encoding``) and politeness
    (``concurrency``, ``delay``, ``robots``, ``max_pages``). The generic extractor does the rest.

    ``paging``: {"style": "none" | "query" | "next_link" | "trs" | "post" | "json", …}.
    ``rows``: {} for list tables (the default), or {"links": "regex"} for title lists whose links match.
    ``labels``: page label → standard code, for a label the registry does not know.
    ``dept``: the department a site source belongs to; portal records are attributed by agency code.
    """

    id: str
    channel: str
    kind: str
    start_url: str
    dept: str | None = None
    paging: dict[str, Any] = field(default_factory=lambda: {"style": "none"})
    max_pages: int = 500
    concurrency: int = 2
    delay: float = 0.0
    robots: bool = True  # honour the host's robots.txt
    rows: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None  # force a charset when a site's declaration and bytes both mislead

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Mail:
    """``[mail]``: the SMTP server the daily digests go through (none: digests are written as files only).
    The password is never in the file: ``password_env`` names the environment variable holding it."""

    host: str | None = None
    port: int = 25
    sender: str = "sgs@localhost"
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    credit_office: str | None = None  # the credit office's address for its digest


@dataclass(frozen=True, slots=True)
class City:
    name: str
    departments: tuple[Department, ...]
    sources: tuple[Source, ...]
    path: Path | None = None
    mail: Mail = field(default_factory=Mail)

    def hosts(self) -> set[str]:
        """Every host the configuration names; the crawler fetches from no other."""
        return {urlsplit(s.start_url).netloc for s in self.sources}


def load_city(path: str | Path) -> City:
    """Read, check and build the city file; any problem raises ConfigError listing all problems."""
    path = Path(path)
    doc = _read(path)
    problems = check_document(doc)
    if problems:
        lines = tuple(f"{path}：{p}" for p in problems)
        head = f"配置文件 {path} 有 {len(lines)} 处错误（写法见 {DOCS}）："
        raise ConfigError("\n".join((head, *(f"  {line}" for line in lines))), lines)
    doc = _shared(doc)
    depts = tuple(_department(d) for d in doc.get("departments", []))
    sources = tuple(Source(**s) for s in doc.get("sources", []))
    mail = {("sender" if k == "from" else k): v for k, v in doc.get("mail", {}).items()}
    return City(doc.get("city", {}).get("name", path.stem), depts, sources, path, Mail(**mail))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}：请检查 --config 的路径") from None
    except UnicodeDecodeError:
        raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码的文本（是二进制文件或其他编码）：请以 UTF-8 保存 TOML 文件") from None
    except OSError as exc:
        raise ConfigError(f"无法读取配置文件 {path}（{exc.strerror or exc}）：请检查路径和读取权限") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        at = f"第 {where[1]} 行第 {where[2]} 列" if where else "文件末尾"
        raise ConfigError(f"配置文件 {path} 不是有效的 TOML：{at}有语法错误（{exc}）；写法见 {DOCS}") from None


def _shared(value: Any, seen: dict[str, str] | None = None) -> Any:
    """``value`` (the parsed file) with one string object per distinct text: a province's file repeats the
    same catalogue item names, legal bases, counties and kinds thousands of times (5,000 sources: 213,000
    strings, 30,000 distinct; 15 MB held for the crawl's length, 2 MB shared). Each kept string is a copy made
    here, after the parse: one left where the parser made it keeps the parser's freed memory around it from
    being given back (sharing alone: 58 MB resident for that file, with the copies 29; docs/bench-crawl.md)."""
    seen = {} if seen is None else seen
    if isinstance(value, str):
        if (shared := seen.get(value)) is None:
            shared = seen[value] = value.encode().decode()  # a copy (see above)
        return shared
    if isinstance(value, dict):
        return {_shared(k, seen): _shared(v, seen) for k, v in value.items()}
    if isinstance(value, list):
        return [_shared(v, seen) for v in value]
    return value


def _department(d: dict[str, Any]) -> Department:
    items = tuple(CatalogueItem(**i) for i in d.get("catalogue", []))
    return Department(**{k: v for k, v in d.items() if k != "catalogue"}, catalogue=items)


