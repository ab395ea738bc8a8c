"""The 主体查询 page's query: every licensing and penalty record of one subject across the viewer's departments."""
from __future__ import annotations

import re

import pandas as pd

from dashboard.auth import Viewer
from dashboard.queries.shared import _cached, _frame, _in_scope, _name, _scoped, _shown_url
from core import standard
from core.privacy import mask_text
from core import vocab

_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")


@_cached()
def subject_records(snapshot: str, viewer: Viewer, text: str, limit: int = 500, mask_names: bool = False) -> pd.DataFrame:
    """Every licensing and penalty record of a subject across departments: by exact 统一社会信用代码 when the
    text is one (18 characters), else by name (contains)."""
    text = (text or "").strip()
    if len(text) < 2:
        return pd.DataFrame()
    code = bool(_CREDIT_CODE.fullmatch(text.upper()))  # a code is matched exactly, anything else as a name part
    text = text.upper() if code else text
    parts = [
        f"""SELECT '{k}' AS kind, r.dept_id, coalesce(d.name, r.dept_id) AS dept_name, r.channel,
                   r.{k.upper()}_WSH AS wsh, r.{k.upper()}_XDR_MC AS xdr_mc, r.{k.upper()}_XDR_LB AS xdr_lb,
                   r.{k.upper()}_XDR_SHXYM AS shxym, r.{k.upper()}_JDRQ AS jdrq, r.url
            FROM {k}_records r LEFT JOIN departments d USING (dept_id)
            WHERE {f"r.{k.upper()}_XDR_SHXYM = $text" if code else f"contains(r.{k.upper()}_XDR_MC, $text)"}
              AND {_in_scope("r.dept_id")}"""
        for k in vocab.KINDS]
    df = _frame(snapshot, " UNION ALL ".join(parts) + " ORDER BY jdrq DESC NULLS LAST, kind, wsh LIMIT $limit",
                _scoped(viewer, text=text, limit=limit))
    df["wsh"] = df["wsh"].map(mask_text)
    df["xdr_mc"] = [_name(v, lb, mask_names) for v, lb in zip(df["xdr_mc"], df["xdr_lb"])]
    df["url"] = df["url"].map(_shown_url)
    return df
