"""事项目录外记录: a published record matches no item of its department's catalogue (事项目录) of its kind.

Matching: a record belongs to a catalogue item when the item's name (spaces removed) occurs in the record's
description of what was decided — for penalties 违法行为类型 (``CF_WFXW``) or 违法事实 (``CF_SY``), for
licences the decision document's name (``XK_XKWS``) or 许可内容 (``XK_NR``). Two fields, so a record missing
one of them (a required_missing finding) is still matched by the other. Only judged for departments that
published a catalogue of the kind (catalogue_missing covers those that did not), and only for records whose
detail page was read (``_sql.page_read``): without it the fields that name the item are unknown.
"""
from __future__ import annotations

from metrics.checks import Context, Rule
from metrics.checks._sql import finding, lit, page_read

RULE = Rule(
    id="catalogue_unmatched",
    name="事项目录外记录",
    indicator="completeness",
    clause="长治市实施意见（二）、上街区方案四（一）：按事项目录公示，目录应及时更新、全覆盖",
    severity="low",
    needs=("catalogue",),
)
MATCH_FIELDS = {"cf": ("CF_WFXW", "CF_SY"), "xk": ("XK_XKWS", "XK_NR")}


def findings_sql(ctx: Context) -> str:
    fields = MATCH_FIELDS[ctx.kind]
    text = " || '|' || ".join(f"replace(coalesce(a.{f}, ''), ' ', '')" for f in fields)
    items = f"(SELECT dept_id, replace(name, ' ', '') AS name FROM catalogue_items WHERE kind = {lit(ctx.kind)})"
    message = lit("记录未能对应到本部门事项目录中的任何事项（按" + "、".join(fields) + "中的事项名称匹配）")
    # an anti join on the department (the name test as its residual condition), not a correlated NOT EXISTS:
    # that one took 16 s on a province (docs/bench-score.md)
    source = f"{ctx.source} a ANTI JOIN {items} c ON c.dept_id = a.dept_id AND contains({text}, c.name)"
    return finding(source, fields[0], f"a.{fields[0]}", message,
                   f"a.dept_id IN (SELECT dept_id FROM catalogue_items WHERE kind = {lit(ctx.kind)}) "
                   f"AND {page_read('a')}",
                   key="a.record_key")
