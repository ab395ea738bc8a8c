"""Masking of personal data in everything the dashboard shows.

Findings are stored with personal data already masked, but records are not, and a checker that forgets
to mask must not leak an ID number onto a screen shared in a meeting. So every value a page displays goes
through ``mask_text`` here as a second line of defence. The patterns deliberately ignore check characters
and date validity: an *invalid* ID number (the very thing an accuracy finding reports) is still personal.
"""
from __future__ import annotations

import re

# 18-character resident ID number (GB 11643): 6-digit region, 8-digit birth date (year 18xx-20xx, not
# validated), 3-digit sequence and a check character. The year anchor keeps most all-digit unified social
# credit codes (public data about organisations) readable.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})((?:18|19|20)\d{6})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# 11-digit mainland mobile number, not part of a longer digit run.
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id(text: str) -> str:
    """Star the middle of every 18-character ID number in ``text``; the first 6 and last 4 stay."""
    return _ID_RE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def mask_phone(text: str) -> str:
    """Star the middle four digits of every 11-digit mobile number in ``text`` (138****5678)."""
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_text(value: object) -> object:
    """Mask ID and mobile numbers anywhere inside a string; non-strings (None, numbers) pass unchanged."""
    if not isinstance(value, str):
        return value
    return mask_phone(mask_id(value))
