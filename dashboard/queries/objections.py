"""The 信用异议 page's queries: the subjects' objections in the viewer's scope (from the correction store,
``metrics.objections``) and the period's 信用修复核查 (``metrics.repairs.grant_check_sql`` on the snapshot).

Objections live in ``workbench.sqlite3`` (people enter and answer them while the snapshot stays read-only), so
they are read fresh each run and filtered by the viewer's department here, the one place the page gets them:
a department sees its own objections only, whatever it asks for."""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from core.periods import parse_period
from core.privacy import mask_text, mask_whole
from core.settings import resolve_paths
from core.vocab import KIND_LABELS
from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _on
from metrics import objections, repairs
from metrics.checks._sql import day
from metrics.scheme import SchemeError, load_scheme, scheme_path

SHOWN = {"received": "收到日期", "dept": "部门", "kind": "类别", "wsh": "文书号", "subject": "相对人",
         "subject_id": "证件号码", "type": "异议类型", "content": "异议内容", "deadline": "答复期限", "state": "状态",
         "outcome": "处理结果", "answer": "答复意见", "answered_by": "答复人", "answered_at": "答复时间"}


def objection_list(viewer: Viewer, names: dict[str, str], today: date | None = None) -> pd.DataFrame:
    """The objections the viewer may see, newest first, as shown (ID masked, words in Chinese), with their id."""
    df = objections.table(resolve_paths(), viewer.scope)
    today = today or date.today()
    out = pd.DataFrame({
        "objection_id": df["objection_id"], "received": df["received"], "dept": df["dept_id"].map(lambda d: names.get(d, d)),
        "kind": df["kind"].map(KIND_LABELS), "wsh": df["wsh"].map(mask_text), "subject": df["subject"],
        "subject_id": df["subject_id"].map(lambda v: mask_whole(v) if isinstance(v, str) else None),
        "type": df["type"].map(objections.TYPES), "content": df["content"].map(mask_text),
        "deadline": df["deadline"],
        "state": [objections.STATES[objections.state(r, today)] for r in df.to_dict("records")],
        "outcome": df["outcome"].map(lambda o: objections.OUTCOMES.get(o) if isinstance(o, str) else None),
        "answer": df["answer"].map(mask_text), "answered_by": df["answered_by"], "answered_at": df["answered_at"],
    })
    return out.rename(columns=SHOWN)


def answers(viewer: Viewer, objection_id: str) -> pd.DataFrame:
    """One objection's answers (the viewer's own department's only), oldest first, as shown."""
    mine = objections.table(resolve_paths(), viewer.scope)
    if objection_id not in set(mine["objection_id"]):
        return pd.DataFrame(columns=["时间", "答复人", "处理结果", "答复意见"])
    df = objections.answers(resolve_paths(), objection_id)
    return pd.DataFrame({"时间": df["at"], "答复人": df["username"], "处理结果": df["outcome"].map(objections.OUTCOMES),
                         "答复意见": df["answer"].map(mask_text)})


def credit_office(period: str) -> str:
    """The scheme's ``[objections] credit_office`` for the period's year ("" when none or no scheme)."""
    try:
        return str(load_scheme(scheme_path(parse_period(period))).objections["credit_office"] or "")
    except (SchemeError, ValueError):
        return ""


def _repair_rows(con: Any, period: str) -> list[dict[str, Any]]:
    if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'credit_repairs'").fetchall():
        return []  # a snapshot published before schema 8
    p = parse_period(period)
    scheme = load_scheme(scheme_path(p))
    months = int(scheme.rule_params.get("repair_grant_invalid", {}).get("min_months", 3))
    return repairs.credit_office_rows(con, months, day(p.start), day(p.end))


@_cached()
def repair_checks(snapshot: str, viewer: Viewer, period: str) -> pd.DataFrame:
    """信用修复核查: the period's grants the policy refuses or the evidence leaves open (leaders, assessors)."""
    if viewer.scope is not None:
        return pd.DataFrame(columns=["修复日期", "相对人", "证件号码", "文书号", "核查结果", "说明"])
    rows = _on(snapshot, _repair_rows, period)
    return pd.DataFrame({
        "修复日期": [str(r["granted_on"]) for r in rows], "相对人": [r["subject"] for r in rows],
        "证件号码": [mask_whole(r["subject_code"]) for r in rows], "文书号": [mask_text(r["wsh"]) for r in rows],
        "核查结果": ["不符合条件" if r["verdict"] == "invalid" else "未能核验" for r in rows],
        "说明": [mask_text(r["message"]) for r in rows]})
