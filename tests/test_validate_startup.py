"""What keeps ``sgs validate`` fast stays true: its start-up loads neither pandas nor pyarrow (a third of a second
of a clerk's command) nor lxml (the general path's reader) nor rich (only ``sgs score``'s table needs it: 0.06 s),
the rules it runs are found without importing the others, and the cheaper SQL forms of the rules' building blocks (``present``, the enumeration tests) give exactly what the forms they replace gave."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core import standard
from metrics.checks import _sql, all_checks, all_rules, record_checks, rule_ids

ROOT = Path(__file__).resolve().parents[1]


def test_validate_starts_without_pandas_pyarrow_or_rich(tmp_path):
    from tests.test_validate_files import REGULATOR, regulator_row

    path = tmp_path / "one.csv"
    path.write_text(",".join(REGULATOR) + "\n" + ",".join(regulator_row(1)) + "\n", "utf-8")
    code = ("import sys\nfrom sgs.cli import app\n"
            f"try:\n    app(['validate', {str(path)!r}, '--kind', 'cf'])\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print('loaded:', sorted(m for m in ('pandas', 'pyarrow', 'metrics.corrections', 'lxml', 'rich') "
            "if m in sys.modules), "
            "'exit:', code, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert "loaded: [] exit: 0" in done.stderr, done.stderr[-2000:]


def test_record_checks_are_the_rules_needing_nothing_else():
    assert [c.rule.id for c in record_checks()] == [c.rule.id for c in all_checks() if not c.rule.needs]
    assert len(record_checks()) >= 10


def test_rule_ids_are_every_rule():
    assert rule_ids() == [r.id for r in all_rules()]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_present_is_the_trim_test_for_every_first_character(con):
    """Every code point first (alone, and before a letter), and the edge values: the byte-comparison shortcut
    never says "present" where trim() leaves nothing, nor "absent" where it leaves something."""
    con.execute("CREATE OR REPLACE TEMP TABLE cp AS SELECT chr(range::INTEGER) AS c FROM range(1, 1114112) "
                "WHERE range < 55296 OR range > 57343")
    con.execute("CREATE OR REPLACE TEMP TABLE v AS SELECT c AS x FROM cp UNION ALL SELECT c || 'a' FROM cp "
                "UNION ALL SELECT c || c FROM cp UNION ALL SELECT unnest(['', ' ', '\u3000 ', ' \u3000a', NULL, "
                "'!', '\u007f', '\u0080', '\u3000', '\u3001', '\u00a0无'])")
    wrong = con.execute(f"SELECT count(*), list(x)[:5] FROM v WHERE ({_sql.present('x')}) IS DISTINCT FROM "
                        "(nullif(trim(x), '') IS NOT NULL)").fetchall()[0]
    assert wrong[0] == 0, wrong


# the forms the enumeration tests had before (one list lambda per row), the reference for the new ones
def _old_parts(enum: standard.Enum, expr: str) -> str:
    if enum.separator:
        return f"list_transform(string_split({expr}, {_sql.lit(enum.separator)}), lambda p: trim(p))"
    return f"[trim({expr})]"


def _old_canonical(enum: standard.Enum, expr: str) -> str:
    if not enum.aliases:
        return expr
    whens = " ".join(f"WHEN {_sql.lit(k)} THEN {_sql.lit(v)}" for k, v in enum.aliases.items())
    return f"(CASE {expr} {whens} ELSE {expr} END)"


def _old_enum_ok(enum: standard.Enum, expr: str) -> str:
    return f"list_bool_and(list_transform({_old_parts(enum, expr)}, lambda q: {_sql.item_ok(enum, 'q')}))"


def _old_enum_has_any(enum: standard.Enum, expr: str, wanted: list[str]) -> str:
    items = f"list_transform({_old_parts(enum, expr)}, lambda q: {_old_canonical(enum, 'q')})"
    return f"list_has_any({items}, {_sql.lit_list(wanted)})"


def _values(enum: standard.Enum) -> list[str | None]:
    sep = enum.separator or ";"
    plain = [*enum.values, *enum.aliases]
    out: list[str | None] = [None, "", " ", "\u3000", "其他-责令整改", "其他-", "其他", "企业", "罚款、责令改正", "警告，罚款"]
    out += plain + [f" {v} " for v in plain] + [f"\u3000{v}" for v in plain] + [v + "x" for v in plain]
    out += [sep.join(plain[i:i + 2]) for i in range(len(plain))] + [f"{a} {sep} {b}" for a, b in zip(plain, plain[1:])]
    out += [sep.join([plain[0], "其他-某事"]), plain[0] + sep, sep + plain[0], sep.join([plain[0], "乱写"])]
    return out


@pytest.mark.parametrize("key", sorted(standard.enums()))
def test_enum_tests_give_what_the_list_lambdas_gave(con, key):
    enum = standard.enums()[key]
    values = _values(enum)
    con.execute("CREATE OR REPLACE TEMP TABLE e AS SELECT unnest($v::VARCHAR[]) AS x", {"v": values})
    pairs = [(_sql.enum_ok(enum, "x"), _old_enum_ok(enum, "x"))]
    for wanted in ([enum.values[0]], list(enum.values[1:3]), [*set(enum.aliases.values())][:2]):
        if wanted:
            pairs.append((_sql.enum_has_any(enum, "x", wanted), _old_enum_has_any(enum, "x", wanted)))
    pairs.append((_sql.canonical(enum, "trim(x)"), _old_canonical(enum, "trim(x)")))
    for new, old in pairs:
        wrong = con.execute(f"SELECT list(x) FROM e WHERE ({new}) IS DISTINCT FROM ({old})").fetchall()[0][0]
        assert not wrong, (key, new[:80], wrong[:5])
