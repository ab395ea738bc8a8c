"""The city configuration file: departments, their catalogues, and the sources to crawl.

One TOML file describes a deployment (see docs/configuration.md). It is read here, checked, and
loaded into the database by the crawl, so every later step reads departments and sources from there.
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

PAGING_STYLES = ("none", "query", "next_link", "trs", "post", "json")
CHANNELS = ("site", "portal")


class ConfigError(ValueError):
    """The configuration file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    kind: str
    name: str
    basis: str = ""


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    paging: dict = field(default_factory=lambda: {"style": "none"})
    max_pages: int = 500
    concurrency: int = 2
    delay: float = 0.0
    robots: bool = True  # honour the host's robots.txt
    rows: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    encoding: str | None = None  # force a charset when a site's declaration and bytes both mislead

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class City:
    name: str
    departments: tuple[Department, ...]
    sources: tuple[Source, ...]
    path: Path | None = None

    def hosts(self) -> set[str]:
        """Every host the configuration names; the crawler fetches from no other."""
        from urllib.parse import urlsplit

        return {urlsplit(s.start_url).netloc for s in self.sources}


def load_city(path: str | Path) -> City:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"配置文件 {path} 格式错误：{exc}") from None
    try:
        depts = tuple(_department(d) for d in doc.get("departments", []))
        sources = tuple(_source(s) for s in doc.get("sources", []))
    except (TypeError, KeyError) as exc:
        raise ConfigError(f"配置文件 {path} 的条目有误：{exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    ids = {d.id for d in depts}
    for s in sources:
        if s.channel not in CHANNELS:
            raise ConfigError(f"{path}: 来源 {s.id} 的 channel 应为 site 或 portal，而不是 {s.channel!r}")
        if s.kind not in ("xk", "cf"):
            raise ConfigError(f"{path}: 来源 {s.id} 的 kind 应为 xk 或 cf，而不是 {s.kind!r}")
        if s.paging.get("style", "none") not in PAGING_STYLES:
            raise ConfigError(f"{path}: 来源 {s.id} 的分页方式 {s.paging.get('style')!r} 不受支持")
        if s.rows and set(s.rows) != {"links"}:
            raise ConfigError(f"{path}: 来源 {s.id} 的 rows 只支持 {{ links = \"正则表达式\" }}，而不是 {s.rows!r}")
        if s.channel == "site" and s.dept not in ids:
            raise ConfigError(f"{path}: 来源 {s.id} 所属部门 {s.dept!r} 未在 [[departments]] 中定义")
    return City(doc.get("city", {}).get("name", path.stem), depts, sources, path)


def _department(d: dict) -> Department:
    items = tuple(CatalogueItem(**i) for i in d.pop("catalogue", []))
    return Department(**d, catalogue=items)


def _source(s: dict) -> Source:
    unknown = set(s) - set(Source.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"来源 {s.get('id')} 有未知的设置项：{'、'.join(sorted(unknown))}（见 docs/configuration.md）")
    return Source(**s)
