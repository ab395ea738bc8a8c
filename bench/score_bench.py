"""Score the generated province (bench/gen_province.py) and measure wall time and peak memory.

    .venv/bin/python bench/score_bench.py --db bench/data/sgs.duckdb [--period 2026Q3] [--per-rule] [--rules a,b]

The scoring runs in a child process (``--child``) so its peak resident memory is measured alone
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``); the wall time is the child's ``score_period`` call: every
rule, findings, deductions, department and county scores, ranks, written in one transaction. DuckDB gets the
machine's two threads and a memory limit (``--memory-limit``, default 3 GB) so it spills rather than grows.
``--per-rule`` also times each rule alone (its ``prepare`` and a count of its record and department rows) to
find a slow rule; ``--rules a,b`` scores with those rules only (the pandas comparison's rule set).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AS_OF = date(2026, 11, 30)


def child(db: Path, period_text: str, memory_limit: str, per_rule: bool, rules: list[str] | None) -> dict:
    import duckdb

    from core import codes, privacy, store
    from metrics.checks import Context, all_checks
    from core.periods import parse_period
    from metrics.scheme import load_scheme, scheme_path
    from metrics.scoring import assessed_table, score_period, stage_assessed
    from core.workdays import default_calendar

    con = duckdb.connect(str(db), config={"threads": 2, "memory_limit": memory_limit})
    store.migrate(con)  # a dataset generated before a schema change gets the new columns
    period = parse_period(period_text)
    checks = tuple(c for c in all_checks() if rules is None or c.rule.id in rules)
    t, cpu = time.perf_counter(), time.process_time()
    rows = score_period(con, period, as_of=AS_OF, checks=checks)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    counts = dict(con.execute("SELECT rule_id, count(*) FROM findings WHERE period = ? GROUP BY ALL",
                              [period.label]).fetchall())
    n_records = con.execute("SELECT sum(n_records) FROM scores WHERE period = ?", [period.label]).fetchall()[0][0]
    result = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "departments": len(rows), "records": int(n_records),
              "findings": sum(counts.values()), "by_rule": counts}
    if per_rule:
        stage_assessed(con, period)
        codes.register_macros(con)
        privacy.register_macros(con)
        scheme, calendar, timing = load_scheme(scheme_path(period)), default_calendar(), {}
        for check in checks:
            spent = 0.0
            for kind in ("xk", "cf"):
                ctx = Context(kind, assessed_table(kind), AS_OF, scheme.max_workdays, calendar, period,
                              scheme.rule_params)
                t = time.perf_counter()
                if check.prepare:
                    check.prepare(con, ctx)
                for build in (check.findings_sql, check.department_sql):
                    sql = build(ctx) if build else None
                    if sql:
                        con.execute(f"SELECT count(*) FROM ({sql})").fetchall()
                spent += time.perf_counter() - t
            timing[check.rule.id] = round(spent, 2)
        result["per_rule_s"] = timing
    con.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(__file__).resolve().parent / "data" / "sgs.duckdb")
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--per-rule", action="store_true")
    parser.add_argument("--rules", help="comma-separated rule ids to run (default: every rule)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        rules = args.rules.split(",") if args.rules else None
        print(json.dumps(child(args.db, args.period, args.memory_limit, args.per_rule, rules), ensure_ascii=False))
        return
    cmd = [sys.executable, __file__, "--child", "--db", str(args.db), "--period", args.period,
           "--memory-limit", args.memory_limit, *(["--per-rule"] if args.per_rule else []),
           *(["--rules", args.rules] if args.rules else [])]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"scoring child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    out = done.stdout
    process = time.perf_counter() - t
    result = json.loads(out.strip().splitlines()[-1])
    result["process_s"] = round(process, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
