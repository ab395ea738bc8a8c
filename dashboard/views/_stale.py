"""The banner 总览, 部门自查 and 问题清单 show when the period's scores do not reflect the latest decisions yet,
and the assessor's 重新计分 button.

Why a child process: the dashboard never writes the working database (a crawl may hold its lock, and a
Streamlit thread must not hold a DuckDB writer); ``sgs score`` is the one command that scores a period,
applies the correction store's decisions and publishes a snapshot, so the button runs exactly that, and its
Chinese error (e.g. the database is busy with a crawl) is what the assessor reads.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import streamlit as st

from dashboard.queries import shared
from dashboard.views._common import viewer
from metrics import corrections
from core.settings import resolve_paths

RESCORE_TIMEOUT = 30 * 60  # seconds: a province's quarter scores in minutes; past this something is wrong
_FLASH = "_rescore_result"  # the outcome, shown once after the rerun that picks up the new snapshot
_REPO = Path(__file__).resolve().parents[2]  # where ``sgs`` is importable from a source checkout too


def banner(snapshot: str, period: str) -> None:
    """本期得分尚未反映 N 项最新处理决定 (the viewer's scope), with 重新计分 for assessors; the last rescore's
    outcome once."""
    who = viewer()
    flash = st.session_state.pop(_FLASH, None)
    if flash is not None:
        (st.success if flash[0] else st.error)(flash[1])
    n = shared.stale_decisions(snapshot, who, period, corrections.version(resolve_paths()))
    if n == 0:
        return
    with st.container(key="stale"):
        st.warning(f"本期得分尚未反映 {n} 项最新处理决定（豁免或撤销豁免）。"
                   + ("点击“重新计分”使其生效。" if who.can_decide else "评估人员重新计分后生效。"))
        if who.can_decide and st.button("重新计分", key="rescore"):
            with st.spinner(f"正在重新计分 {period}……"):
                st.session_state[_FLASH] = rescore(period)
            st.rerun()


def rescore(period: str) -> tuple[bool, str]:
    """Run ``sgs score --period P --db <working db>``; (succeeded, the Chinese sentence to show)."""
    db = resolve_paths().db.resolve()
    command = [sys.executable, "-m", "sgs.cli", "score", "--period", period, "--db", str(db)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=RESCORE_TIMEOUT, cwd=_REPO, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"重新计分 {period} 超过 {RESCORE_TIMEOUT // 60} 分钟仍未完成，已停止；请稍后重试或联系系统管理员。"
    except OSError as exc:
        return False, f"无法启动重新计分（{exc}）；请联系系统管理员。"
    if done.returncode == 0:
        return True, f"已重新计分：{period} 的得分、等级和排名已按最新处理决定更新。"
    lines = [line.strip() for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
    said = [line for line in lines if line.startswith("错误：")] or lines[-1:]  # sgs's own sentence first
    why = said[0].removeprefix("错误：") if said else f"退出码 {done.returncode}"
    return False, f"重新计分未完成：{why}"
