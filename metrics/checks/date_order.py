"""日期逻辑错误: dates that contradict each other or the calendar.

* 有效期自 later than 有效期至 (licences; reported on 有效期至);
* 处罚有效期 earlier than 处罚决定日期 (penalties; reported on 处罚有效期): a penalty cannot stop being
  published before it was decided;
* the stated publication date (``FBRQ``) before the decision date (reported on ``FBRQ``);
* a decision date after the assessment's as-of date — a decision cannot be in the future.
Unparseable dates are date_invalid's, so every comparison here is between real dates.
"""
from __future__ import annotations

from core import standard
from metrics.checks import Context, Rule
from metrics.checks._fold import Test, tests_sql
from metrics.checks._sql import as_date, label, lit

RULE = Rule(
    id="date_order",
    name="日期逻辑错误",
    indicator="accuracy",
    clause="《双公示数据标准》（发改办财金〔2018〕790号）：有效期自不晚于有效期至，处罚有效期不早于处罚决定日期，"
           "决定日期不晚于当前日期",
    severity="medium",
)
FBRQ = next(f for f in standard.page_fields() if f.code == "FBRQ")


def _validity(ctx: Context) -> Test | None:
    """有效期自 > 有效期至, for kinds whose standard has the pair."""
    start, end = ctx.get(ctx.std.prefixed("YXQZ")), ctx.get(ctx.std.prefixed("YXQZI"))
    if start is None or end is None:
        return None
    a, b = as_date(start.code), as_date(end.code)
    message = (f"{lit(label(start) + '为')} || CAST({a} AS VARCHAR) || {lit('，晚于' + label(end))} "
               f"|| CAST({b} AS VARCHAR)")
    return Test(end.code, end.code, message, f"{a} > {b}")


def _penalty_validity(ctx: Context) -> Test | None:
    """处罚有效期 < 处罚决定日期, for kinds whose standard has a single validity date (penalties)."""
    yxq = ctx.get(ctx.std.prefixed("YXQ"))
    if yxq is None:
        return None
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    end = as_date(yxq.code)
    message = (f"{lit(label(yxq) + '为')} || CAST({end} AS VARCHAR) || {lit('，早于' + label(jdrq))} "
               f"|| CAST(_jdrq AS VARCHAR)")
    return Test(yxq.code, yxq.code, message, f"{end} < _jdrq")


def _published_before_decision(ctx: Context) -> Test:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    message = (f"{lit(label(FBRQ) + '为')} || CAST(_fbrq AS VARCHAR) || {lit('，早于' + label(jdrq))} "
               f"|| CAST(_jdrq AS VARCHAR)")
    return Test(FBRQ.code, FBRQ.code, message, "_fbrq < _jdrq")


def _future_decision(ctx: Context) -> Test:
    jdrq = ctx.std.get(ctx.std.prefixed("JDRQ"))
    as_of = ctx.as_of.isoformat()
    message = f"{lit(label(jdrq) + '为')} || CAST(_jdrq AS VARCHAR) || {lit(f'，晚于评估基准日 {as_of}')}"
    return Test(jdrq.code, jdrq.code, message, f"_jdrq > DATE {lit(as_of)}")


def record_tests(ctx: Context) -> list[Test]:
    return [t for t in (_validity(ctx), _penalty_validity(ctx), _published_before_decision(ctx),
                        _future_decision(ctx)) if t]


def findings_sql(ctx: Context) -> str | None:
    return tests_sql(ctx.source, record_tests(ctx))
