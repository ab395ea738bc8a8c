"""Score the generated province (bench/gen_province.py) and measure wall time and peak memory.

    .venv/bin/python bench/score_bench.py --db bench/data/sgs.duckdb [--period 2026Q3] [--per-rule] [--rules a,b]

The scoring runs in a child process (``--child``) so its peak resident memory is measured alone
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``); the wall time is the child's ``score_period`` call: every
rule, findings, deductions, department and county scores, ranks, written in one transaction. DuckDB gets the
machine's two threads and a memory limit (``--memory-limit``, default 3 GB, also the child's
``SGS_MEMORY_LIMIT``, which ``score_period`` applies) so it spills rather than grows. ``--statements N`` also
lists the statements that raised the child's peak resident memory (``peak_raised_by``).
``--per-rule`` also times each rule alone (its ``prepare`` and a count of its record and department rows) to
find a slow rule; ``--rules a,b`` scores with those rules only (the pandas comparison's rule set).
``--incremental clustered|spread [--verify]``: a full rescore, then ~1 % of the period's site records changed
(in 5 % of the departments, or in every one), then the default incremental rescore, step by step
(docs/bench-score.md, "Incremental rescoring").
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AS_OF = date(2026, 11, 30)


def memory_mb() -> tuple[int, int]:
    """(VmHWM, VmRSS) of this process in MB: its peak resident memory so far, and now (Linux's /proc)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS"))  # type: ignore[return-value]


class Timed:
    """A connection whose every ``execute`` is timed (wall and this process's CPU, both DuckDB threads) and
    weighed (the process's peak resident memory before and after, and what it holds after): where a
    scoring's time goes, statement by statement (``--statements N``: the N costliest by CPU), and which
    statements raised the peak (``--statements N`` lists those too, largest rise first)."""

    def __init__(self, con) -> None:
        self.con, self.log, self.peaks = con, [], []

    def execute(self, sql, *args, **kw):
        t, cpu, (hwm, _) = time.perf_counter(), time.process_time(), memory_mb()
        result = self.con.execute(sql, *args, **kw)
        text = " ".join(sql.split())[:120]
        self.log.append((round(time.process_time() - cpu, 2), round(time.perf_counter() - t, 2), text))
        after, rss = memory_mb()
        if after > hwm:  # (peak MB after, rise MB, resident MB after, statement)
            self.peaks.append((after, after - hwm, rss, text))
        return result

    def __getattr__(self, name):
        return getattr(self.con, name)


def child(db: Path, period_text: str, memory_limit: str, per_rule: bool, rules: list[str] | None,
          statements: int = 0) -> dict:
    import duckdb

    from core import codes, privacy, store
    from metrics.checks import Context, all_checks
    from core.periods import parse_period
    from metrics.scheme import load_scheme, scheme_path
    from metrics.scoring import assessed_table, score_period, stage_assessed
    from core.workdays import default_calendar

    con = duckdb.connect(str(db), config={"threads": 2, "memory_limit": memory_limit})
    store.migrate(con)  # a dataset generated before a schema change gets the new columns
    prehash(con)
    period = parse_period(period_text)
    checks = tuple(c for c in all_checks() if rules is None or c.rule.id in rules)
    timed = Timed(con) if statements else None
    t, cpu = time.perf_counter(), time.process_time()
    rows = score_period(timed or con, period, as_of=AS_OF, checks=checks)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    counts = dict(con.execute("SELECT rule_id, count(*) FROM findings WHERE period = ? GROUP BY ALL",
                              [period.label]).fetchall())
    n_records = con.execute("SELECT sum(n_records) FROM scores WHERE period = ?", [period.label]).fetchall()[0][0]
    result = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "departments": len(rows), "records": int(n_records),
              "findings": sum(counts.values()), "by_rule": counts,
              "code": sys.modules[score_period.__module__].__file__}  # which checkout was measured
    if timed:
        result["statements"] = sorted(timed.log, reverse=True)[:statements]  # (CPU s, wall s, statement)
        # (peak MB after, rise MB, resident MB after, statement): the statements that raised the peak
        result["peak_raised_by"] = sorted(timed.peaks, key=lambda p: -p[1])[:statements]
        result["memory_limit"] = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
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


def prehash(con) -> None:
    """The stored record hashes a crawl leaves (core.store.upsert_records), filled before anything is timed:
    the generator loads its Parquet without them."""
    from core import store

    for kind in ("xk", "cf"):
        store.hash_records(con, kind)


STEPS = (("metrics.incremental", "stage_fingerprints"), ("metrics.incremental", "_stage_part"),
         ("metrics.incremental", "_extra"),
         ("metrics.incremental", "_forget"), ("metrics.incremental", "context_key"),
         ("metrics.incremental", "_why_full"), ("metrics.incremental", "_changed"), ("metrics.incremental", "_walks"),
         ("metrics.scoring", "stage_assessed"), ("metrics.scoring", "stage_findings"),
         ("metrics.corrections", "apply_to_findings"), ("metrics.scoring", "stage_deductions"),
         ("metrics.scoring", "stage_scores"), ("metrics.scoring", "_write"))
CHANGES = {  # which site records of the period a simulated crawl changed: ~1 % of them either way
    "clustered": "hash(dept_id) % 20 = 0 AND hash(record_key) % 5 = 0",  # 5 % of departments, a fifth of theirs
    "spread": "hash(record_key) % 100 = 0",  # 1 % of every department's records: every department changed
}


def timed_steps() -> dict[str, float]:
    """Wrap the scoring's steps so each call adds its wall time to the returned dict (step name → seconds)."""
    import importlib

    spent: dict[str, float] = {}
    for module_name, name in STEPS:
        module = importlib.import_module(module_name)
        inner = getattr(module, name)

        def wrapper(*args, _inner=inner, _name=name, **kw):
            t = time.perf_counter()
            try:
                return _inner(*args, **kw)
            finally:
                spent[_name] = round(spent.get(_name, 0.0) + time.perf_counter() - t, 2)
        setattr(module, name, wrapper)
    return spent


def results_hash(con, period: str) -> list:
    """One hash per result table of the period (computed_at aside): equal hashes, equal rows."""
    out = []
    for table in ("findings", "unverified", "deductions", "scores", "county_scores"):
        cols = "* EXCLUDE (computed_at)" if table in ("scores", "county_scores") else "*"
        out.append(con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM (SELECT {cols} FROM {table} "
                               f"WHERE period = ?) t", [period]).fetchall()[0])
    return out


def compare(db: Path, other: Path, period: str) -> dict:
    """Every row of the period's result tables (``computed_at`` aside) in ``db`` against ``other``: the rows'
    hashes as multisets (a FULL JOIN of hash → count), so a row missing, added, changed or repeated differs.
    Both were scored from copies of the same data, one by a reference checkout (docs/bench-score.md)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True, config={"threads": 2, "memory_limit": "3GB"})
    con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
    out = {}
    for table in ("findings", "unverified", "deductions", "scores", "county_scores"):
        cols = "* EXCLUDE (computed_at)" if table in ("scores", "county_scores") else "*"
        rows = [f"SELECT hash(t) AS h, count(*) AS n FROM (SELECT {cols} FROM {db_}.{table} WHERE period = $p) t "
                "GROUP BY h" for db_ in ("main", "other")]
        n, diff = con.execute(f"""SELECT sum(coalesce(a.n, 0)), count(*) FILTER (WHERE a.n IS DISTINCT FROM b.n)
            FROM ({rows[0]}) a FULL JOIN ({rows[1]}) b USING (h)""", {"p": period}).fetchall()[0]
        out[table] = {"rows": int(n or 0), "differing_hashes": int(diff)}
    con.close()
    out["identical"] = all(v["differing_hashes"] == 0 for v in out.values() if isinstance(v, dict))
    return out


def incremental_child(db: Path, period_text: str, memory_limit: str, change: str, verify: bool) -> dict:
    """A full rescore, ~1 % of the period's site records changed (``CHANGES``), then the default (incremental)
    rescore: both timed step by step on the same connection and data; ``verify`` rescored in full once more
    and compared row for row (by hash) with the incremental result."""
    import duckdb

    from core import store, standard
    from core.periods import parse_period
    from metrics.incremental import last_run
    from metrics.scoring import score_period

    con = duckdb.connect(str(db), config={"threads": 2, "memory_limit": memory_limit})
    store.migrate(con)
    prehash(con)
    period = parse_period(period_text)
    result: dict = {}
    steps = timed_steps()
    for label, before in (("full", None), ("incremental", change)):
        if before:
            t = time.perf_counter()
            changed = 0
            for kind in ("xk", "cf"):
                name = standard.load(kind).prefixed("XDR_MC")
                changed += con.execute(f"UPDATE {kind}_records SET {name} = {name} || '（变更）', row_hash = NULL "
                                       f"WHERE channel = 'site' AND {CHANGES[before]}").fetchall()[0][0]
            prehash(con)  # a crawl saves through core.store.upsert_records, which hashes the rows it writes
            con.execute("CHECKPOINT")  # the crawl's own writing, not the scoring's
            result["changed_records"], result["change_s"] = changed, round(time.perf_counter() - t, 2)
        steps.clear()
        t, cpu = time.perf_counter(), time.process_time()
        score_period(con, period, as_of=AS_OF, full=label == "full")
        result[label] = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - cpu, 2),
                         "run": last_run(con, period), "steps": dict(steps)}
    result["ratio"] = round(result["incremental"]["wall_s"] / result["full"]["wall_s"], 3)
    result["cpu_ratio"] = round(result["incremental"]["cpu_s"] / result["full"]["cpu_s"], 3)
    result["code"] = str(Path(sys.modules["metrics.incremental"].__file__ or "").parent.parent)  # which checkout
    if verify:
        got = results_hash(con, period.label)
        score_period(con, period, as_of=AS_OF, full=True)
        result["identical_to_full"] = got == results_hash(con, period.label)
    con.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(__file__).resolve().parent / "data" / "sgs.duckdb")
    parser.add_argument("--period", default="2026Q3")
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--per-rule", action="store_true")
    parser.add_argument("--rules", help="comma-separated rule ids to run (default: every rule)")
    parser.add_argument("--incremental", choices=sorted(CHANGES),
                        help="full rescore, ~1 %% of records changed (clustered or spread), incremental rescore")
    parser.add_argument("--verify", action="store_true", help="with --incremental: compare with a full rescore")
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="also time every SQL statement of the scoring and list the N costliest (CPU)")
    parser.add_argument("--compare", type=Path, metavar="OTHER",
                        help="compare every result row of the period in --db with OTHER (no scoring)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        print(json.dumps(compare(args.db, args.compare, args.period), indent=2))
        return
    if args.child and args.incremental:
        result = incremental_child(args.db, args.period, args.memory_limit, args.incremental, args.verify)
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    if args.child:
        rules = args.rules.split(",") if args.rules else None
        print(json.dumps(child(args.db, args.period, args.memory_limit, args.per_rule, rules, args.statements),
                         ensure_ascii=False))
        return
    cmd = [sys.executable, __file__, "--child", "--db", str(args.db), "--period", args.period,
           "--memory-limit", args.memory_limit, *(["--per-rule"] if args.per_rule else []),
           *(["--rules", args.rules] if args.rules else []), "--statements", str(args.statements),
           *(["--incremental", args.incremental] if args.incremental else []), *(["--verify"] if args.verify else [])]
    t = time.perf_counter()
    # the scoring's budget (core.settings.memory_limit) as the connection's: the same limit for a checkout that
    # sets it in score_period and for one that does not
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SGS_MEMORY_LIMIT": args.memory_limit})
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
