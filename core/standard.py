"""The national standard's field registry, loaded from ``data/standard/`` (data, not code).

A new revision of the standard is a new folder of TOML files; nothing here names a field.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.settings import STANDARD_DIR
from core.vocab import KIND_NAMES, KINDS  # noqa: F401 (standard.KINDS, standard.KIND_NAMES: used widely)

CURRENT_VERSION = "2019"


@dataclass(frozen=True)
class Field:
    code: str
    name: str
    type: str = "text"
    length: int | None = None
    required: str = "O"  # R required, C conditional, O optional
    when: dict[str, Any] | None = None  # {"field": code, "any_of": [...]}
    enum: str | None = None
    check: str | None = None  # "uscc" | "ric"
    synonyms: tuple[str, ...] = ()
    names_in_use: tuple[str, ...] = ()  # names other systems' exports and templates print (read, never printed)
    maps_to: str | None = None
    public: bool = True
    personal: bool = False


@dataclass(frozen=True)
class Enum:
    key: str
    name: str
    values: tuple[str, ...]
    prefix_values: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
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


def _field(entry: dict[str, Any]) -> Field:
    """A registry entry as a Field (its name lists as tuples, so the registry stays hashable and frozen)."""
    return Field(**{**entry, "synonyms": tuple(entry.get("synonyms", ())),
                    "names_in_use": tuple(entry.get("names_in_use", ()))})


def _load_toml(path: Path) -> dict[str, Any]:
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
    fields = tuple(_field(f) for f in doc["fields"])
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
    return tuple(_field(f) for f in doc["fields"])


def versions() -> list[str]:
    return sorted(p.name for p in STANDARD_DIR.iterdir() if p.is_dir())


@lru_cache(maxsize=None)
def synonym_map(kind: str) -> dict[str, str]:
    """Header or label text (normalised) → current standard code, across every version of the kind.

    Older versions' fields land in today's column through ``maps_to``; a field's own name, its code
    (upper and lower case, as JSON APIs send it), its synonyms and the names in use elsewhere all count. Where two fields share a
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
                for s in (f.name, f.code, f.code.lower(), *f.synonyms, *f.names_in_use):
                    add(s, f.maps_to, False)
    for f in current.fields:
        for s in (*f.synonyms, *f.names_in_use):
            add(s, f.code, False)
    for f in (*current.fields, *page_fields()):
        for s in (f.name, f.code, f.code.lower()):
            add(s, f.code, True)
    for f in page_fields():
        for s in f.synonyms:
            add(s, f.code, False)
    return out


_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "〈": "(", "〉": ")",
                           "<": "(", ">": ")", "{": "(", "}": ")"})
# a template's marks for what must or may be filled in: "*行政相对人名称", "处罚依据（必填）"
_REQUIRED_NOTES = tuple(f"({w})" for w in ("必填", "选填", "非必填", "可选", "必填项", "选填项"))
_CACHED_LABEL = 200  # characters: longer "labels" are prose or hostile cells, not worth keeping in the cache


def normalise_label(text: str) -> str:
    """Labels as pages and files print them ("行政相对人名称：", "罚款金额【万元】", "*处罚依据") reduced to a
    lookup key: full-width folded (NFKC), spaces removed, every bracket pair written ``()``, leading stars and
    trailing colons, stars and a template's required notes dropped. The one normalisation of labels: registry
    keys, extractors, ``sgs validate`` and ledgers all go through it, so a header matches the same way
    everywhere. A key normalises to itself, and the work is linear in the text (a hostile page's megabyte cell
    is read once, never re-scanned per character)."""
    text = text or ""
    return _normalised_label(text) if len(text) <= _CACHED_LABEL else _normalise_label(text)


@lru_cache(maxsize=65536)  # pages and files repeat the same few dozen labels thousands of times
def _normalised_label(text: str) -> str:
    return _normalise_label(text)


def _normalise_label(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    # NFKC again once spaces are gone: "e ́" without its space composes to "é"
    t = unicodedata.normalize("NFKC", "".join(ch for ch in t if not ch.isspace())).lstrip("*")
    end = len(t)
    while True:  # "处罚依据(必填)*：" — marks and notes in any order, each step shortening the key
        while end and t[end - 1] in "*:":
            end -= 1
        note = next((n for n in _REQUIRED_NOTES if t.endswith(n, 0, end)), None)
        if note is None:
            return t[:end]
        end -= len(note)


@dataclass(frozen=True)
class HeaderMatch:
    """A recognised column or label: its standard code, and the unit its header states (``元``/``万元``)."""

    code: str
    unit: str | None = None


AMOUNT_UNIT = "万元"  # the standard's unit of amounts: a bare number means 万元
_UNIT_WORDS = re.compile(r"^(?:单位:?)?(?:人民币)?(万元|元)$")
_UNIT_LIKE = re.compile(r"(?:元|币|美金|円)$")
# the 代码_n of "行政相对人代码_1（统一社会信用代码）": systems number them differently, the words agree
_NUMBERED_CODE = re.compile(r"代码_?\d+$")


def split_label(key: str) -> tuple[str, str | None]:
    """A normalised label → (the text before its first bracket, the bracket's content), or (key, None).

    Only the first bracket counts: what follows is a note ("格式为YYYY/MM/DD"), a legend of codes that may
    itself hold brackets and lose its closing one ("0=正常(或空白);1=撤销"), a unit, or the words of a
    numbered code."""
    i = key.find("(")
    if i <= 0:
        return key, None
    inner = key[i + 1:]
    return key[:i], inner[:-1] if inner.endswith(")") else inner


def match_header(text: str, labels: Mapping[str, str]) -> HeaderMatch | None:
    """The field a header or label names, with the unit it states, or None (the column is not read).

    ``labels`` is a lookup of normalised names (``synonym_map`` or a source's ``labels_for``). A bracketed
    part is read by what it is: the words of a numbered code (``代码_3(组织机构代码)`` is 组织机构代码 whatever
    the number), a unit (``罚款金额(元)``: 罚款金额 in 元), or a note that the plain name is enough
    (``处罚决定日期(格式为:YYYY/MM/DD)``). A unit that is neither 元 nor 万元 (``罚款金额(美元)``) is not
    guessed: the column is left unread and so reported as unrecognised.
    """
    key = normalise_label(text)
    if not key:
        return None
    code = labels.get(key)
    base, inner = split_label(key)
    if inner is None:
        return HeaderMatch(code) if code else None
    if _NUMBERED_CODE.search(base):
        code = labels.get(inner)
        return HeaderMatch(code) if code else None
    unit = _UNIT_WORDS.match(inner)
    if unit:
        code = code or labels.get(base)
        return HeaderMatch(code, unit[1]) if code else None
    if _UNIT_LIKE.search(inner):
        return None
    code = code or labels.get(base)
    return HeaderMatch(code) if code else None


# What a department-level finding is about when it is not a field of a record (metrics/checks: availability,
# catalogue and column rules report these codes).
DEPARTMENT_SUBJECTS = {"URL": "网页地址", "COLUMN": "双公示专栏", "CATALOGUE": "事项目录"}


def field_name(kind: str | None, code: str | None) -> str | None:
    """The Chinese name of a standard code (``CF_WSH`` → 行政处罚决定书文号) or of a department-level finding's
    subject (``URL`` → 网页地址), or None when unknown."""
    if not isinstance(code, str) or not code:
        return None
    if kind in KINDS:
        try:
            return load(kind).get(code).name
        except (KeyError, FileNotFoundError):
            pass
    return next((f.name for f in page_fields() if f.code == code), DEPARTMENT_SUBJECTS.get(code))
