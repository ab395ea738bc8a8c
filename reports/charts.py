"""The report's charts as PNG, drawn offline with matplotlib's Agg backend (no browser, nothing downloaded).

Chinese labels need a CJK font that is there on a fresh machine: the pinned ``mplfonts`` package ships Noto
Sans CJK SC inside the wheel, and it is registered with matplotlib from that file here (mplfonts' own
``install_fonts`` copies fonts into matplotlib's folder; we only read its file). Debian's fonts-noto-cjk and
SimHei are fallbacks. Each chart is drawn inside an ``rc_context`` so nothing leaks into other plots.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from core.vocab import INDICATORS, UNGRADED_COLOR, grade_colors  # noqa: E402

SERIES_COLORS = ["#37474f", "#1976d2", "#43a047", "#fb8c00", "#8e24aa"]


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The family name of the shipped CJK font, registered with matplotlib once per process."""
    from mplfonts.conf import FONT_DIR

    path = Path(FONT_DIR) / "NotoSansCJKsc-Regular.otf"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _rc() -> dict:
    return {"font.family": "sans-serif",
            "font.sans-serif": [cjk_font(), "Noto Sans CJK SC", "SimHei", "DejaVu Sans"],
            "axes.unicode_minus": False, "font.size": 10}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def grade_distribution(ranking: pd.DataFrame, grades: list[str]) -> bytes:
    """Departments per 10-point band of the total, stacked by grade."""
    with plt.rc_context(_rc()):
        fig, ax = plt.subplots(figsize=(6.3, 3.2))
        bands = [f"{lo}–{lo + 10}" for lo in range(0, 100, 10)]
        band = (ranking["total"].clip(0, 99.999) // 10).astype("Int64")
        bottom = [0] * 10
        colors = grade_colors(grades)
        for grade in grades:
            counts = [int(((band == i) & (ranking["grade"] == grade)).sum()) for i in range(10)]
            ax.bar(bands, counts, bottom=bottom, color=colors.get(grade, UNGRADED_COLOR), label=grade)
            bottom = [b + c for b, c in zip(bottom, counts)]
        ax.set_xlabel("总分区间")
        ax.set_ylabel("部门数")
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # an AutoLocator: takes it
        ax.legend(title="等级", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)


def county_comparison(counties: pd.DataFrame) -> bytes:
    """Each county's total and sub-scores side by side."""
    cols = [c for c in ("total", *INDICATORS) if counties[c].notna().any()]
    names = {"total": "总分", **INDICATORS}
    with plt.rc_context(_rc()):
        fig, ax = plt.subplots(figsize=(6.3, 3.2))
        n, width = len(cols), 0.8 / max(1, len(cols))
        xs = range(len(counties))
        for i, col in enumerate(cols):
            ax.bar([x + (i - (n - 1) / 2) * width for x in xs], counties[col].fillna(0), width,
                   label=names[col], color=SERIES_COLORS[i % len(SERIES_COLORS)])
        ax.set_xticks(list(xs), counties["county"].tolist(), rotation=30 if len(counties) > 6 else 0, ha="right"
                      if len(counties) > 6 else "center")
        ax.set_ylim(0, 100)
        ax.set_ylabel("得分")
        ax.legend(fontsize=8, ncol=len(cols), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)


def problem_types(problems: pd.DataFrame, top: int = 10) -> bytes:
    """The most frequent problems of the period (findings per rule), largest at the top."""
    data = problems.head(top).iloc[::-1]
    with plt.rc_context(_rc()):
        fig, ax = plt.subplots(figsize=(6.3, 0.35 * len(data) + 0.9))
        bars = ax.barh(data["rule_name"], data["n_findings"], color="#c62828")
        ax.bar_label(bars, padding=2, fontsize=8)
        ax.set_xlabel("问题数")
        ax.spines[["top", "right"]].set_visible(False)
        return _png(fig)
