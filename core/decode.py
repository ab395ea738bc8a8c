"""Bytes of a page or a file → text: the one decoder, used by the crawl, the file readers and the evidence view.

Why one: a UTF-8 page that declares ``gbk`` was read correctly by the crawler and shown as mojibake (琛屾斂…)
in the evidence view while each had its own decoder; what a reader is shown as evidence must be the text the
records were read from.
"""
from __future__ import annotations

import codecs
import re

_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "utf8": "utf-8"}
# Python codecs that are no page's charset: escapes, domain names, the codec that always fails
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode(body: bytes, content_type: str | None = None, forced: str | None = None) -> str:
    """Bytes → text: a source's ``encoding`` if set, else the HTTP charset, the ``<meta>`` charset, gb18030.

    Old sites often declare the wrong charset, so the declaration is checked against the bytes: bytes that
    are valid UTF-8 are read as UTF-8 whatever the page says (GBK text with Chinese in it practically never
    is), and a declared charset that does not decode cleanly is skipped. GB2312 and GBK are read as their
    superset GB18030, since pages declared GB2312 routinely use GBK characters. A "charset" that yields lone
    surrogates (``utf-7``, ``unicode_escape`` from a hostile server) is skipped too: such text cannot be
    stored or parsed, so the result is always valid Unicode.
    """
    declared = [_charset(_HEADER_CHARSET.search(content_type or "")), _charset(_META_CHARSET.search(body[:4096]))]
    for charset in (_charset_name(forced), "utf-8-sig", *declared, "gb18030"):
        if charset:
            try:
                text = body.decode(charset)
            except (UnicodeError, LookupError):  # UnicodeError: codecs such as "undefined" or "idna"
                continue
            if not _SURROGATE.search(text):
                return text
    return body.decode("utf-8", errors="replace")


def _charset(match: re.Match[str] | re.Match[bytes] | None) -> str | None:
    if not match:
        return None
    name = match.group(1)
    return _charset_name(name.decode("ascii", "ignore") if isinstance(name, bytes) else name)


def _charset_name(name: str | None) -> str | None:
    if not name:
        return None
    name = _CHARSET_ALIASES.get(name.strip().lower(), name.strip().lower())
    try:
        found = codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        return None
    return None if found in _NOT_CHARSETS else found
