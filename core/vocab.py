"""The project's vocabulary: every code the data stores and the Chinese words people read for it, said once.

Why one module: the same words were written in a dozen label dictionaries and had begun to drift (two
different ``SEVERITIES`` used the same Chinese words for a rule's weight and for a penalty's gravity; the
availability problems were bare strings in four places). A stage imports its words from here and never
writes its own; the codes are what the store and the data files hold, so they do not change here lightly.

What stays with its owner: the scheme's grade names and lines (``metrics.scheme``, data in
``data/schemes/``: only the colours, by position, are here), the standard's fields and enumerations
(``core.standard``), and a rule's own name and messages (its module in ``metrics/checks``).
"""
from __future__ import annotations

from collections.abc import Sequence

# 事项类别: what a record is (the standard's two registries, the tables xk_records / cf_records)
KINDS = ("xk", "cf")
KIND_NAMES = {"xk": "行政许可", "cf": "行政处罚"}  # in sentences and titles
KIND_LABELS = {"xk": "许可", "cf": "处罚"}  # in table cells and filters

# 来源渠道: where a record was read
CHANNELS = ("site", "portal")
CHANNEL_NAMES = {"site": "部门网站", "portal": "信用网站"}

# 指标: the scheme weights each; a rule belongs to one (order = the order scores are shown in)
INDICATORS = {"timeliness": "及时性", "completeness": "完整性", "accuracy": "准确性", "compliance": "合规性"}

# 问题严重程度: how heavily a rule's finding weighs (Rule.severity; the scheme's [defaults.<severity>])
SEVERITIES = {"high": "严重", "medium": "一般", "low": "轻微"}
# 处罚情节: how grave a penalty is, which sets how long it may stay published (the keys of
# data/policy/publication_periods.toml). Not a finding's severity, though the words are alike.
PENALTY_GRAVITY = {"light": "轻微", "general": "一般", "serious": "严重"}

# 可用性问题: what the crawler records in table ``availability`` (column ``problem``)
AVAILABILITY = {"unreachable": "无法访问", "column_missing": "专栏缺失", "dead_link": "链接失效",
                "blocked": "访问被拦截", "runaway_paging": "分页异常", "bad_attachment": "附件过大或损坏"}
# the rule that turns each problem into a department-level finding; runaway_paging has none (the crawl's
# own limit, reported to the operator: the site's pages are not shown to be wrong)
AVAILABILITY_RULES = {"unreachable": "site_unreachable", "column_missing": "column_missing",
                      "dead_link": "dead_link", "blocked": "site_blocked", "bad_attachment": "bad_attachment"}

# 抓取状态 (table crawls.status)
CRAWL_STATUSES = {"running": "进行中", "done": "完成", "failed": "失败"}
# one source in one crawl (table source_runs.status)
RUN_STATUSES = {"ok": "正常", "degraded": "部分失败", "failed": "失败"}
# how a source went in the crawler (crawlers.report.SourceStatus.status) → what source_runs stores
SOURCE_OUTCOMES = {"ok": "ok", "partial": "degraded", "unavailable": "failed", "failed": "failed"}

# 问题处理状态 (findings.status: 'open' when found, then each step of the correction loop, metrics.corrections)
FINDING_STATUSES = {"open": "待处理", "confirmed": "已确认", "fixed": "已报整改（待复核）", "objected": "异议待审",
                    "waived": "已豁免", "closed": "已整改（复核通过）"}

# 排名状态 (table scores.standing)
RANKED = "ranked"
STANDINGS = {RANKED: "参加排名", "no_records": "本期无公示记录", "insufficient_evidence": "证据不足"}

# 等级颜色: by position in the scheme's grades (best first), so renaming or adding a grade needs no code
GRADE_PALETTE = ("#2e7d32", "#1976d2", "#f9a825", "#c62828")
UNGRADED = "未评级"
UNGRADED_COLOR = "#9e9e9e"


def grade_colors(grades: Sequence[str]) -> dict[str, str]:
    """Each grade's colour, from its place in the scheme's order (best first): the best is always green and
    the worst always red; with more grades than colours the middle ones share the nearest colour."""
    last = len(GRADE_PALETTE) - 1
    n = len(grades)
    return {g: GRADE_PALETTE[round(i * last / (n - 1)) if n > 1 else 0] for i, g in enumerate(grades)}
