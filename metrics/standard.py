"""The national standard's field registry, loaded from ``data/standard/`` (data, not code).

A new revision of the standard is a new folder of TOML files; nothing here names a field.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sgs.settings import STANDARD_DIR

KINDS = ("xk", "cf")
CURRENT_VERSION = "2019"
KIND_NAMES = {"xk": "行政许可", "cf": "行政处罚"}


@dataclass(frozen=True)
class Field:
    code: str
    name: str
    type: str = "text"
    length: int | None = None
    required: str = "O"  # R required, C conditional, O optional
    when: dict | None = None  # {"field": code, "any_of": [...]}
    enum: str | None = None
    check: str | None = None  # "uscc" | "ric"
    synonyms: tuple[str, ...] = ()
    maps_to: str | None = None
    public: bool = True
    personal: bool = False


@dataclass(frozen=True)
class Enum:
    key: str
    name: str
    values: tuple[str, ...]
    prefix_values: tuple[str, ...] = ()
    aliases: dict = field(default_factory=dict)
    separator: str | None = None

    def canonical(self, raw: str) -> str:
        """Map one value through the aliases (``01`` → ``自然人``); unknown values pass unchanged."""
        return self.aliases.get(raw, raw)

    def is_valid(self, value: str) -> bool:
        parts = value.split(self.separator) if self.separator else [value]
        return all(p in self.values or any(p.startswith(x) and len(p) > len(x) for x in self.prefix_values)
                   for p in (q.strip() for q in parts))


@dataclass(frozen=True)
class Standard:
    version: str
    kind: str
    title: str
    fields: tuple[Field, ...]

    def get(self, code: str) -> Field:
        for f in self.fields:
            if f.code == code:
                return f
        raise KeyError(code)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.fields]

    def prefixed(self, suffix: str) -> str:
        """``prefixed('JDRQ')`` → ``CF_JDRQ``: the kind's own code for a shared concept."""
        return f"{self.kind.upper()}_{suffix}"


def _load_toml(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=None)
def load(kind: str, version: str = CURRENT_VERSION) -> Standard:
    """The registry of one record kind (``xk``/``cf``) in one version of the standard."""
    if kind not in KINDS:
        raise ValueError(f"未知的记录类型 {kind!r}（应为 xk 或 cf）")
    path = STANDARD_DIR / version / f"{kind}.toml"
    if not path.exists():
        raise FileNotFoundError(f"字段注册表缺少 {path}")
    doc = _load_toml(path)
    fields = tuple(
        Field(**{**f, "synonyms": tuple(f.get("synonyms", ()))}) for f in doc["fields"]
    )
    return Standard(version, kind, doc["meta"]["title"], fields)


@lru_cache(maxsize=None)
def enums() -> dict[str, Enum]:
    doc = _load_toml(STANDARD_DIR / "enums.toml")
    return {
        key: Enum(key=key, name=v["name"], values=tuple(v["values"]),
                  prefix_values=tuple(v.get("prefix_values", ())), aliases=dict(v.get("aliases", {})),
                  separator=v.get("separator"))
        for key, v in doc.items()
    }


@lru_cache(maxsize=None)
def page_fields() -> tuple[Field, ...]:
    """Non-standard fields pages show (``FBRQ`` 发布日期), with sgs's own codes."""
    doc = _load_toml(STANDARD_DIR / "page_fields.toml")
    return tuple(Field(**{**f, "synonyms": tuple(f.get("synonyms", ()))}) for f in doc["fields"])


def versions() -> list[str]:
    return sorted(p.name for p in STANDARD_DIR.iterdir() if p.is_dir())


@lru_cache(maxsize=None)
def synonym_map(kind: str) -> dict[str, str]:
    """Header or label text (normalised) → current standard code, across every version of the kind.

    Older versions' fields land in today's column through ``maps_to``; a field's own name, its code
    (upper and lower case, as JSON APIs send it) and its synonyms all count. Where two fields share a
    synonym the current version wins, and a field's own name beats another field's synonym.
    """
    current = load(kind)
    out: dict[str, str] = {}

    def add(key: str, code: str, strong: bool) -> None:
        k = normalise_label(key)
        if k and (strong or k not in out):
            out[k] = code

    for version in reversed(versions()):
        if version == current.version:
            continue
        try:
            std = load(kind, version)
        except FileNotFoundError:
            continue
        for f in std.fields:
            if f.maps_to:
                for s in (f.name, f.code, f.code.lower(), *f.synonyms):
                    add(s, f.maps_to, False)
    for f in current.fields:
        for s in f.synonyms:
            add(s, f.code, False)
    for f in (*current.fields, *page_fields()):
        for s in (f.name, f.code, f.code.lower()):
            add(s, f.code, True)
    for f in page_fields():
        for s in f.synonyms:
            add(s, f.code, False)
    return out


def normalise_label(text: str) -> str:
    """Labels as pages print them ("行政相对人名称：", "罚款金额(万元)") reduced to a lookup key."""
    import unicodedata

    t = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in t if not ch.isspace()).rstrip(":：").strip()


def field_name(kind: str | None, code: str | None) -> str | None:
    """The Chinese name of a standard code (``CF_WSH`` → 行政处罚决定书文号), or None when unknown."""
    if not isinstance(code, str) or not code:
        return None
    if kind in KINDS:
        try:
            return load(kind).get(code).name
        except (KeyError, FileNotFoundError):
            pass
    return next((f.name for f in page_fields() if f.code == code), None)
