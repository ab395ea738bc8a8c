"""台账决定未公示: a decision in the department's imported ledger (办件台账), dated in the period, was never
published on its site: no stored site record of the department and kind has its 文书号.

Decisions the ledger marks revoked (撤销) are not expected online and are skipped. A department-level
finding per decision (its 文书号 as the value, the ledger file and row in the message), with the department's
column as last archived as evidence: what the column showed without the decision.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import column_evidence, day, department_rows, lit

RULE = Rule(
    id="ledger_unpublished",
    name="台账决定未公示",
    indicator="completeness",
    clause="长治市实施意见（五）：政务服务大厅办理结果推送公示，“全覆盖、无遗漏”（全面性）",
    severity="high",
    needs=("ledger",),
)


def department_sql(ctx: Context) -> str | None:
    if ctx.period is None:
        return None
    wsh = ctx.std.prefixed("WSH")
    source = f"""(SELECT l.*, f.file, e.url, e.fetch_id FROM ledger l JOIN ledger_files f USING (ledger_id)
        LEFT JOIN {column_evidence(ctx)} e ON e.dept_id = l.dept_id
        WHERE l.kind = {lit(ctx.kind)} AND l.status = '有效'
          AND l.jdrq BETWEEN {day(ctx.period.start)} AND {day(ctx.period.end)}
          AND NOT EXISTS (SELECT 1 FROM {ctx.records_table} r WHERE r.channel = 'site' AND r.dept_id = l.dept_id
                          AND trim(r.{wsh}) = l.wsh)) t"""
    message = ("'办件台账（' || t.file || ' 第' || CAST(t.row_no AS VARCHAR) || '行）中' || CAST(t.jdrq AS VARCHAR) "
               "|| '作出的决定“' || t.wsh || '”未在本部门网站公示'")
    return department_rows("t.dept_id", wsh, "t.wsh", message, "t.url", "t.fetch_id", source)
