"""事项目录未公开: a department with a 双公示 column of a kind has no catalogue (事项目录) of that kind.

The catalogue is what the department published as its list of licensing or penalty items; sgs knows it from
the city configuration (``catalogue_items``, imported from the published catalogue). Fails for a department
that has a configured site column of the kind and no catalogue item of the kind; passes when at least one
item is catalogued. Evidence: the department's column as last archived.
"""
from __future__ import annotations

from core.vocab import KIND_NAMES
from metrics.checks import Context, Rule
from metrics.checks._sql import column_evidence, department_rows, lit

RULE = Rule(
    id="catalogue_missing",
    name="事项目录未公开",
    indicator="completeness",
    clause="长治市实施意见（二）、上街区方案四（一）：编制并在本部门网站和信用网站公开“双公示”事项目录",
    severity="medium",
    needs=("catalogue", "crawl"),
)


def department_sql(ctx: Context) -> str | None:
    kind = lit(ctx.kind)
    source = f"""(SELECT DISTINCT s.dept_id, e.url, e.fetch_id FROM sources s
        LEFT JOIN {column_evidence(ctx)} e USING (dept_id)
        WHERE s.channel = 'site' AND s.kind = {kind} AND s.dept_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM catalogue_items c WHERE c.dept_id = s.dept_id AND c.kind = {kind})) t"""
    what = KIND_NAMES[ctx.kind]
    return department_rows("t.dept_id", "CATALOGUE", "NULL", lit(f"设有{what}公示栏目，但未公开{what}事项目录"),
                           "t.url", "t.fetch_id", source)
