"""What the pages share: the viewer, the chosen snapshot and period, and how scores are formatted.

``streamlit_app.py`` logs the viewer in and decides the snapshot and period once per run (sidebar), leaving
them in ``st.session_state``; pages read them here so every page shows the same period of the same snapshot
to the same person. A page also states which roles may open it (``require``): navigation only lists the
pages a role may see, and this check stops a page reached any other way.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries import shared
from dashboard.auth import ROLES, Viewer
from core.vocab import INDICATORS, grade_colors

NO_DATA = "还没有可显示的评估数据：请先运行 sgs demo 或 sgs crawl/score，生成并发布评估结果后再刷新本页。"
SNAPSHOT_KEY = "snapshot"
PERIOD_KEY = "period"
VIEWER_KEY = "viewer"
MASK_NAMES_KEY = "mask_person_names"
GRADE_COLORS = grade_colors(shared.GRADES)  # by the scheme's grade order (core.vocab)


# Streamlit has no Chinese interface: its own English that users meet is hidden or, where CSS can, put in Chinese.
# Configuration does the rest (.streamlit/config.toml, ``sgs serve``: no developer menu, no error details or
# links, uploads capped at 10 MB). Our own constant rules; nothing crawled or entered ever goes in here.
STREAMLIT_CSS = """
[class*="st-key-sgs_chrome"] { display: none; }
[data-testid="InputInstructions"] { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "选择文件"; }
[data-testid="stStatusWidget"] button { display: none; }
[data-testid="stSkipToContent"] { font-size: 0; }
[data-testid="stSkipToContent"]::after { content: "跳到正文"; font-size: 1rem; }
"""


def chrome() -> None:
    """Apply ``STREAMLIT_CSS`` ("Press Enter to apply", the uploader's "Upload" and "200MB per file", the
    running widget's "Stop", "Skip to main content"); its own container takes no room on the page."""
    with st.container(key="sgs_chrome"):
        st.markdown(f"<style>{STREAMLIT_CSS}</style>", unsafe_allow_html=True)


# The login screen has no menu and no period to pick: no sidebar (an empty grey column looks broken, as it did
# after 退出登录), and the form in a column of its own rather than across the whole screen.
LOGIN_CSS = """
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] { display: none; }
[data-testid="stMainBlockContainer"] { max-width: 40rem; }
.st-key-sgs_preload { display: none; }
"""


def login_chrome() -> None:
    """Apply ``LOGIN_CSS``, on the runs that show the login form (or why no one can log in) only."""
    with st.container(key="sgs_chrome_login"):
        st.markdown(f"<style>{LOGIN_CSS}</style>", unsafe_allow_html=True)
    preload()


def preload() -> None:
    """A hidden table, chart, figure and picker on the login page, so that the browser loads and compiles their
    code (Streamlit loads each element type's script on first use; the table's and plotly's are large) while the
    password is typed, not after the login. On a loaded machine the first 总览 after a login was drawn 12–16 s
    after the server had answered, 0.8–2.6 s with this (docs/bench-dashboard.md)."""
    import plotly.graph_objects as go  # the pages import it anyway; the login page need not pay for it first

    with st.container(key="sgs_preload"):
        st.dataframe(pd.DataFrame({"": [""]}), key="sgs_preload_table")
        st.plotly_chart(go.Figure(), key="sgs_preload_chart")
        st.metric("预载", "", label_visibility="collapsed")  # a label, hidden: Streamlit warns about an empty one
        st.selectbox("预载", [""], key="sgs_preload_select", label_visibility="collapsed")


def context() -> tuple[str, str]:
    """The snapshot name and period the entry script chose for this run."""
    return st.session_state[SNAPSHOT_KEY], st.session_state[PERIOD_KEY]


def viewer() -> Viewer:
    """The logged-in viewer (the entry script never runs a page without one)."""
    return st.session_state[VIEWER_KEY]


def mask_names() -> bool:
    """Whether natural persons' names are masked (the users file's ``[privacy] mask_person_names``)."""
    return bool(st.session_state.get(MASK_NAMES_KEY, False))


def require(*roles: str) -> Viewer:
    """The viewer, if their role may open this page; otherwise say so and stop the page."""
    who = viewer()
    if who.role not in roles:
        st.error(f"{ROLES.get(who.role, who.role)}账号无权查看本页面。")
        st.stop()
    return who


def max_unverified_share(period: str) -> float | None:
    """The period's scheme's ``[ranking] max_unverified_share`` (the 证据不足 line), None when the scheme
    cannot be read: the sentences that print it are true without the number."""
    from core.periods import PeriodError, parse_period
    from metrics.scheme import SchemeError, load_scheme, scheme_path

    try:
        return load_scheme(scheme_path(parse_period(period))).max_unverified_share
    except (PeriodError, SchemeError, OSError):  # no scheme file for the year, a period sgs does not know, …
        return None


# one convention for sub-scores, stated wherever they are shown (the documents say the same)
SCALE_HELP = "得分率：该指标实得分占其满分的百分比（满分 100）"
SCALE_NOTE = f"及时性、完整性、准确性、合规性均为{SCALE_HELP}；总分满分 100 分。"


def scale_note() -> None:
    """Under sub-scores: their scale in one visible line (the help icon alone is easily missed)."""
    st.caption(SCALE_NOTE)


def score_column(label: str) -> Any:
    """A sub-score column: its 得分率 in per cent, one decimal, with the scale said in its help."""
    return st.column_config.NumberColumn(label, format="%.1f%%", help=SCALE_HELP)


def score_columns() -> dict[str, Any]:
    """Column settings shared by the department and county rankings."""
    return {
        "排名": st.column_config.NumberColumn("排名", format="%d", width="small"),
        "记录数": st.column_config.NumberColumn("记录数", format="%d"),
        **{label: score_column(label) for label in INDICATORS.values()},
        "总分": st.column_config.ProgressColumn("总分", format="%.1f", min_value=0, max_value=100),
        "等级": st.column_config.TextColumn("等级", width="small"),
        "较上期": st.column_config.NumberColumn("较上期", format="%+.1f", help="总分较上一期（同为月或季度）的变化"),
        "上期排名": st.column_config.NumberColumn("上期排名", format="%d", width="small"),
    }


def fmt(value: Any, spec: str = ".1f", suffix: str = "") -> str:
    """A number for ``st.metric``; a dash when the period has nothing to measure."""
    if value is None:
        return "—"
    return f"{value:{spec}}{suffix}"


def delta(now: Any, before: Any, spec: str = "+.1f") -> str | None:
    """The change for ``st.metric``'s delta, or None when either side is missing (no arrow shown)."""
    if now is None or before is None:
        return None
    return f"{now - before:{spec}}"


def change(now: Any, before: Any, spec: str = "+.1f", *, lower_is_better: bool = False) -> dict[str, Any]:
    """``st.metric``'s delta arguments: the change, green when it is good news, red when bad, and grey
    without an arrow when nothing changed (an unchanged figure is not a green arrow)."""
    text = delta(now, before, spec)
    if text is None:
        return {"delta": None}
    if now - before == 0 or text.lstrip("+-").strip("0.,") == "":
        return {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text, "delta_color": "inverse" if lower_is_better else "normal"}


def rank_change(rank: Any, prev_rank: Any) -> str:
    """A rank's move since the period before, for a table: ↑2 (up two places), ↓1, 持平, or — (not ranked then)."""
    if pd.isna(rank) or pd.isna(prev_rank):
        return "—"
    moved = int(prev_rank) - int(rank)
    return "持平" if moved == 0 else (f"↑{moved}" if moved > 0 else f"↓{-moved}")


def version_choice(snapshot: str, period: str, key: str) -> int | None:
    """Which results a download is of: the latest (None) or an issued version; offered only once the period
    was issued, so a reader can always fetch exactly what was sent out."""
    from dashboard.queries import documents

    issued = documents.issued_versions(snapshot, viewer(), period)
    if not issued:
        return None
    labels = {0: "最新评分结果（修订稿，未签发）", **{v["version"]: f"版本 {v['version']}（{v['issued_on']:%Y-%m-%d} 签发）"
                                                 for v in issued}}
    latest = max(v["version"] for v in issued)
    chosen = st.selectbox("文件版本", list(labels), index=list(labels).index(latest), key=key,
                          format_func=labels.__getitem__)
    return chosen or None


# Widths (px) of the text columns that would otherwise grow with their longest value (a department's name of
# eleven characters, a company's name, a page's address), so a table's first columns fit 1440 px beside the
# sidebar whatever the names: a longer value is cut in its cell and shown whole in the detail under the table.
TEXT_WIDTHS = {"部门": 170, "问题类型": 180, "文书号/页面": 200, "文书号": 180, "相对人名称": 150, "状态": 140}


def text_columns(*labels: str) -> dict[str, Any]:
    """Column settings of fixed width for these text columns (``TEXT_WIDTHS``)."""
    return {label: st.column_config.TextColumn(label, width=TEXT_WIDTHS[label]) for label in labels}


def shown_columns(columns: list[str], main: list[str], key: str, rest: str) -> list[str]:
    """The columns a wide table shows: those that say what to read or decide first (``main``), so the table fits
    a 1440 px screen beside the sidebar without scrolling sideways; the rest one click away (a toggle naming
    them, ``rest``). Pass the result as ``st.dataframe``'s ``column_order``: the data stays whole (tests and
    selections see every column), only what is drawn changes."""
    every = st.toggle(f"显示全部列（{rest}）", key=key)
    return list(columns) if every else [c for c in main if c in columns]


def text_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table for reading: an empty text cell shows as nothing, not as Streamlit's grey "None"."""
    text = frame.select_dtypes(include=["object", "str"]).columns
    return frame.assign(**{c: frame[c].fillna("") for c in text})
