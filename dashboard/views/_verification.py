"""The re-crawl verification of one finding, side by side: the failing field before the department reported it
fixed and after the next crawl, each with the archived page it was read from (``metrics.verify.comparison``).

Plain text only: values, URLs and page lines are crawled content, shown with ``st.text``/``st.code`` (never
markdown or HTML), masked; an archived page is read through the viewer's scope (``evidence.archived_body``).
The finding detail (``dashboard.views._finding``) calls ``show_verification`` for a finding that has a
verification step.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.privacy import mask_text
from core.settings import resolve_paths
from dashboard.queries import evidence, shared
from dashboard.sanitize import page_text
from dashboard.views._common import viewer
from metrics.verify import comparison

MAX_LINES = 8  # lines of an archived page naming the field


def field_lines(snapshot: str, fetch_id: str | None, label: str) -> list[str]:
    """The archived page's lines that name the field (masked; the viewer's scope applies), else []."""
    if not fetch_id:
        return []
    try:
        got = evidence.archived_body(viewer(), snapshot, fetch_id)
    except (OSError, ValueError):
        return ["（存档读取失败）"]
    if got is None:
        return []
    row, body = got
    lines = [line for line in page_text(body, row.get("content_type")).splitlines() if label and label in line]
    return [str(mask_text(line)) for line in lines[:MAX_LINES]]


def _side(snapshot: str, title: str, side: dict[str, Any], label: str) -> None:
    st.text(title)
    st.text(f"{label}：{side['value']}")
    when = side.get("fetched_at")
    st.text(f"抓取时间：{when:%Y-%m-%d %H:%M}" if when is not None else "抓取时间：—")
    if side.get("url"):
        st.code(str(side["url"]), language=None)
    lines = field_lines(snapshot, side.get("fetch_id"), label)
    if lines:
        st.code("\n".join(lines), language=None)


def show_verification(snapshot: str, finding_id: str) -> bool:
    """The latest verification of the finding, before | after; False (nothing shown) when never verified."""
    cmp = shared._on(snapshot, comparison, resolve_paths(), finding_id)
    if cmp is None:
        return False
    passed = cmp["action"] == "verified"
    st.text(f"整改复核（{'通过，已关闭' if passed else '未通过，已重新打开'}）：{mask_text(str(cmp['reason']))}")
    before, after = st.columns(2)
    with before:
        _side(snapshot, "报告整改前", cmp["old"], cmp["label"])
    with after:
        _side(snapshot, "复核时（重新抓取）", cmp["new"], cmp["label"])
    return True
