"""The availability rules' one builder: a problem the crawler recorded (table ``availability``) becomes a
department-level finding.

The five rules (site_unreachable, column_missing, dead_link, site_blocked, bad_attachment) differ only in
the problem they read, their name, severity and message; which problem each reads is ``core.vocab``'s
``AVAILABILITY_RULES``. Each stays a file of its own (a file is a rule: its id, name, clause and severity are
where every other rule's are, and docs, tests and the demo name it by that file), and the file is its
``RULE`` header plus one call here.

What every availability rule does: a department-level finding per failing URL, with the ``fetch_id`` of the
failed fetch (or of the archived file) as evidence. It passes when the crawls that judge the period (those
run in it, else the first one after it) recorded no such problem for the department and kind; with no crawl
to judge the period, nothing is claimed. See metrics.checks._sql.availability_sql.
"""
from __future__ import annotations

from collections.abc import Callable

from core.vocab import AVAILABILITY_RULES
from metrics.checks import Context, Rule
from metrics.checks._sql import availability_sql

CLAUSE = "长治市实施意见（四）、上街区方案四（四）：设置“双公示”专栏；上街区方案五（二）：值班读网发现“不可用”"
_PROBLEM_OF = {rule_id: problem for problem, rule_id in AVAILABILITY_RULES.items()}


def availability_check(rule: Rule, what: str) -> Callable[[Context], str | None]:
    """The rule's ``department_sql``: its availability problem (``core.vocab.AVAILABILITY_RULES``) in the
    judging crawls, each row's message starting with ``what``."""
    if rule.id not in _PROBLEM_OF:
        raise ValueError(f"规则 {rule.id}：core/vocab.py 的 AVAILABILITY_RULES 中没有对应的可用性问题")
    problem = _PROBLEM_OF[rule.id]

    def department_sql(ctx: Context) -> str | None:
        return availability_sql(ctx, problem, what)
    return department_sql
