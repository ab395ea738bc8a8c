"""专栏未设置或无公示: a department with powers of a kind (catalogue items of the kind) publishes nothing
of that kind on its site — no site column of the kind is configured, or its column never showed a record.

Passes when the department has a site column of the kind holding at least one stored record. Evidence: the
department's 双公示 column as last archived (its other kind's column when this one does not exist).
"""
from __future__ import annotations

from core.vocab import KIND_NAMES
from metrics.checks import Context, Rule
from metrics.checks._sql import column_evidence, department_rows, lit

RULE = Rule(
    id="column_not_set",
    name="专栏未设置或无公示",
    indicator="completeness",
    clause="长治市实施意见（四）、上街区方案四（四）：有许可、处罚职能的部门在门户网站设立“双公示”专栏并公示",
    severity="high",
    needs=("catalogue", "crawl"),
)


def department_sql(ctx: Context) -> str | None:
    kind = lit(ctx.kind)
    what = KIND_NAMES[ctx.kind]
    source = f"""(SELECT DISTINCT c.dept_id, e.url, e.fetch_id,
            EXISTS (SELECT 1 FROM sources s WHERE s.dept_id = c.dept_id AND s.channel = 'site' AND s.kind = {kind})
            AS has_column
        FROM catalogue_items c LEFT JOIN {column_evidence(ctx)} e USING (dept_id)
        WHERE c.kind = {kind}
          AND NOT EXISTS (SELECT 1 FROM {ctx.records_table} r WHERE r.dept_id = c.dept_id AND r.channel = 'site')) t"""
    message = (f"CASE WHEN t.has_column THEN {lit(f'有{what}事项目录，{what}公示栏目中没有任何记录')} "
               f"ELSE {lit(f'有{what}事项目录，但网站未设置{what}公示栏目')} END")
    return department_rows("t.dept_id", "COLUMN", "NULL", message, "t.url", "t.fetch_id", source)
