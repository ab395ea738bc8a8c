"""One-line Chinese readings of a period's figures: what a chart says, in the words a leader would use.

Why here: the 总览 page's charts and the documents (the report, the one-page 简报) must read the same
figures the same way, so the sentence and the numbers behind it are decided once. Each function takes the
frames ``metrics.results`` returns (or the dashboard's trend) and returns one sentence ("" when there is
nothing to say). Score bands are decided here too, so a chart of the page and of the report count the same
departments in the same band (a total of 100 is in 90–100, not dropped past the last bin).
"""
from __future__ import annotations

import pandas as pd

from core.vocab import RANKED

BAND_WIDTH = 10
COUNT_WORDS = {2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九"}


def bands() -> list[str]:
    """The 10-point bands of a total, lowest first: ``0–10`` … ``90–100``."""
    return [f"{lo}–{lo + BAND_WIDTH}" for lo in range(0, 100, BAND_WIDTH)]


def band_of(totals: pd.Series) -> pd.Series:
    """Each total's band label (100 falls in 90–100)."""
    index = (totals.astype(float).clip(0, 99.999) // BAND_WIDTH).astype(int)
    labels = bands()
    return index.map(lambda i: labels[i])


def _ranked(ranking: pd.DataFrame) -> pd.DataFrame:
    return ranking[ranking["standing"] == RANKED].dropna(subset=["total"])


def ranking_reading(ranking: pd.DataFrame, fail_grade: str | None) -> str:
    """The weakest department and how many failed: "得分最低的是西山县应急管理局（57.4 分，不合格）；共 1 个部门不合格。"."""
    ranked = _ranked(ranking)
    if ranked.empty:
        return ""
    low = ranked.sort_values(["total", "name"]).iloc[0]
    grade = f"，{low['grade']}" if isinstance(low.get("grade"), str) else ""
    text = f"得分最低的是{low['name']}（{low['total']:.1f} 分{grade}）"
    if fail_grade:
        n_fail = int((ranked["grade"] == fail_grade).sum())
        text += f"；共 {n_fail} 个部门{fail_grade}" if n_fail else f"；没有部门{fail_grade}"
    return text + "。"


def distribution_reading(ranking: pd.DataFrame) -> str:
    """Where the departments' totals lie: "16 个部门中 12 个在 90 分及以上，1 个低于 60 分。"."""
    if ranking.empty:
        return ""
    totals = ranking["total"].dropna()
    high, low = int((totals >= 90).sum()), int((totals < 60).sum())
    unranked = int((ranking["standing"] != RANKED).sum())
    text = f"{len(ranking)} 个部门中 {high} 个在 90 分及以上，{low} 个低于 60 分"
    return text + (f"（其中 {unranked} 个未参加排名）。" if unranked else "。")


def indicator_reading(problems: pd.DataFrame) -> str:
    """Which indicator costs most: "问题最多的是完整性（52 个，占 40%），其中“必填项缺失”最多（30 个）。"."""
    if problems.empty or int(problems["n_findings"].sum()) == 0:
        return ""
    total = int(problems["n_findings"].sum())
    by_indicator = problems.groupby("indicator_name", sort=False)["n_findings"].sum().sort_values(ascending=False)
    name, count = by_indicator.index[0], int(by_indicator.iloc[0])
    top = problems[problems["indicator_name"] == name].sort_values("n_findings", ascending=False).iloc[0]
    return (f"问题最多的是{name}（{count} 个，占 {count / total:.0%}），"
            f"其中“{top['rule_name']}”最多（{int(top['n_findings'])} 个）。")


def _falls(values: list[float]) -> int:
    """How many periods in a row, up to the last, the value fell."""
    n = 0
    for before, after in zip(values[-2::-1], values[::-1]):
        if after < before - 0.005:
            n += 1
        else:
            break
    return n


def trend_reading(trend: pd.DataFrame) -> str:
    """The trend's news: a run of falls ("西山县连续两月下降（88.2 → 80.1 分）"), else the biggest change last month."""
    if trend.empty or trend["period"].nunique() < 2:
        return ""
    series = {str(county): group["total"].astype(float).tolist()
              for county, group in trend.groupby("county", sort=False)}
    falling = sorted(((_falls(v), c) for c, v in series.items() if len(v) >= 3), reverse=True)
    if falling and falling[0][0] >= 2:
        n, county = falling[0]
        values = series[county]
        return f"{county}连续{COUNT_WORDS.get(n, str(n))}月下降（{values[-n - 1]:.1f} → {values[-1]:.1f} 分）。"
    changes = {c: v[-1] - v[-2] for c, v in series.items() if len(v) >= 2}
    if not changes:
        return ""
    county = max(changes, key=lambda c: abs(changes[c]))
    change = changes[county]
    if abs(change) < 0.05:
        return "与上月相比，各县区平均得分基本持平。"
    return f"与上月相比，{county}{'上升' if change > 0 else '下降'}最多（{change:+.1f} 分）。"


def county_reading(county: pd.DataFrame) -> str:
    """The spread between counties: "县区平均得分最高为东城区（96.5 分），最低为西山县（84.0 分），相差 12.5 分。"."""
    data = county.dropna(subset=["total"])
    if len(data) < 2:
        return ""
    ordered = data.sort_values("total", ascending=False)
    best, worst = ordered.iloc[0], ordered.iloc[-1]
    return (f"县区平均得分最高为{best['county']}（{best['total']:.1f} 分），最低为{worst['county']}"
            f"（{worst['total']:.1f} 分），相差 {best['total'] - worst['total']:.1f} 分。")
