"""Per-field tests of a record (``record_tests``), and every rule's tests folded into one pass per kind.

Most record rules are a test per field: ``required_missing`` alone is one per required field. Written as
one SELECT each, they made scoring scan a kind's assessed records ~45 times, every scan decompressing the
columns again and re-parsing the decision date of the period filter. A rule module may therefore give its
tests as data — ``record_tests(ctx) -> list[Test]``, each a field, a value, a message and a condition over
``ctx.source``'s columns — and ``findings_sql`` is then their UNION ALL (``tests_sql``: what ``sgs
validate`` runs). A scoring, full or incremental (its changed departments' part), instead folds the tests of
every such rule into one scan (``folded_sql``): each record's tests are evaluated once into bit masks, only the
records with a bit set are unnested into one row per hit, and a hit's value and message are built for that row
alone.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metrics.checks._sql import finding, lit, lit_list, union_all

BITS = 62  # tests per BIGINT mask (bit 63 left alone: shifts stay positive)


@dataclass(frozen=True)
class Test:
    """One field test of a record rule, as SQL over the assessed record's columns (no alias)."""

    field: str  # the standard code the finding is about
    value: str  # the finding's value (masked where it must be)
    message: str  # the finding's message
    where: str  # true when the record has the problem (NULL: it has not)
    guard: str | None = None  # a cheaper test every hit passes, shared by the rule's tests: checked once a record

    @property
    def condition(self) -> str:
        """The whole test: the guard and the condition."""
        return f"({self.guard}) AND ({self.where})" if self.guard else self.where


def tests_sql(source: str, tests: Sequence[Test]) -> str | None:
    """The tests as one SELECT each, UNION ALL: a rule's ``findings_sql`` (``None`` when it has none)."""
    return union_all(finding(source, t.field, t.value, t.message, t.condition) for t in tests)


def folded_sql(source: str, tests: Sequence[tuple[str, Test]], keep: Sequence[str] = ()) -> str | None:
    """(record_key, rule_id, field, value, message, ``keep``…) of every (rule id, test) over ``source`` in
    one scan; the same rows as each rule's ``tests_sql`` together.

    A test's guard and condition are WHENs of a CASE (DuckDB evaluates a WHEN as a filter: an AND stops at its
    first false part, so a costly check such as ``ric_ok`` runs only where the cheap parts held), and its
    value and message a THEN, evaluated only for the rows whose hit it is."""
    if not tests:
        return None
    masks = []
    for start in range(0, len(tests), BITS):
        groups: dict[str | None, list[str]] = {}  # the bits of the tests sharing a guard, added under it
        for i, (_, t) in enumerate(tests[start:start + BITS], start):
            groups.setdefault(t.guard, []).append(f"(CASE WHEN {t.where} THEN {1 << (i - start)} ELSE 0 END)::BIGINT")
        masks.append("(" + " + ".join(" + ".join(bits) if guard is None else
                                      f"(CASE WHEN {guard} THEN {' + '.join(bits)} ELSE 0 END)::BIGINT"
                                      for guard, bits in groups.items()) + ")")
    hit = "(_m[i // {b} + 1] >> (i % {b})) & 1 = 1".format(b=BITS)

    def by_hit(exprs: Sequence[str]) -> str:
        return "CASE _k " + " ".join(f"WHEN {i} THEN CAST({e} AS VARCHAR)" for i, e in enumerate(exprs)) + " END"
    kept = "".join(f", {c}" for c in keep)
    return f"""SELECT record_key, {lit_list(r for r, _ in tests)}[_k + 1] AS rule_id,
       {lit_list(t.field for _, t in tests)}[_k + 1] AS field, {by_hit([t.value for _, t in tests])} AS value,
       {by_hit([t.message for _, t in tests])} AS message{kept}
FROM (SELECT *, unnest(list_filter(range({len(tests)}), lambda i: {hit})) AS _k
      FROM (SELECT *, [{', '.join(masks)}] AS _m FROM {source}) WHERE list_max(_m) > 0)"""
