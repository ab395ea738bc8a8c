"""``sgs validate`` against a clerk's pandas script, side by side in one run, on the same penalty CSV.

    python bench/validate_bench.py [--rows 100000] [--runs 3] [--million] [--keep DIR]

Writes the file (bench/validate_data.py: 23 standard columns, about 8 % of rows with an error), then runs, in
turn and each in a fresh process, ``sgs validate FILE --kind cf`` (text output, as a clerk runs it) and
``bench/pandas_validate.py FILE`` (the same checks written with pandas), ``--runs`` times each. Every run is
measured from outside by a small probe process: CPU (user + system, ``getrusage(RUSAGE_CHILDREN)``), wall and
peak RSS of the command. The two finding sets — (row, field, rule) — must be equal, or the bench stops.
It prints each run's figures and the ratios pandas ÷ sgs (CPU and wall), their median and spread. With
``--million`` it also writes a file ten times larger and times ``sgs validate`` on it (the 10× / 1 GB target).
Results and the machine go in docs/scoring.md ("The pre-publication checker").

What is compared: both sides as a clerk runs them, each a fresh process, so both include their interpreter's
start-up and imports (pandas ≈ 0.45 s; Python, DuckDB, sgs and the SQL's fixed costs ≈ 0.45 s — a plain
``sgs validate FILE --kind K`` is parsed by typer, which imports pydantic) and their output.
Then ``--runs`` pairs on a one-record file with the same header (the start-up and fixed costs of each side)
give a second figure: the ratio of what the file's records cost, (100k − one record) for each side.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.validate_data import write  # noqa: E402

PROBE = textwrap.dedent("""
    import json, resource, subprocess, sys, time
    started = time.perf_counter()
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        done = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"exit": done.returncode, "cpu": r.ru_utime + r.ru_stime, "wall": wall,
                      "rss_mb": r.ru_maxrss / 1024}))
""")


def measure(command: list[str], out: Path) -> dict[str, float]:
    """One run of ``command`` in a fresh process, its stdout to ``out``: exit, cpu, wall, rss_mb."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *command], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True)
    return json.loads(done.stdout)


def sgs_findings(out: Path) -> set[tuple[int, str, str]]:
    """(row, field, rule) of ``sgs validate``'s text report: the lines after 问题明细."""
    lines = out.read_text(encoding="utf-8").splitlines()
    details = lines[lines.index("问题明细：") + 1:] if "问题明细：" in lines else []
    found = set()
    for line in details:
        where, field, rule, _ = line.split("\t", 3)
        found.add((int(where.removeprefix("第 ").removesuffix(" 行")), field, rule))
    return found


def pandas_findings(out: Path) -> set[tuple[int, str, str]]:
    return {(int(r), f, rule) for r, f, rule in (line.split("\t") for line in out.read_text("utf-8").splitlines())}


def commands(path: Path, folder: Path) -> dict[str, tuple[list[str], Path]]:
    return {"sgs": ([sys.executable, "-m", "sgs.cli", "validate", str(path), "--kind", "cf"], folder / "sgs.txt"),
            "pandas": ([sys.executable, str(ROOT / "bench" / "pandas_validate.py"), str(path), "--out",
                        str(folder / "pandas.tsv")], folder / "pandas.out")}


def side_by_side(path: Path, folder: Path, runs: int) -> list[dict[str, dict[str, float]]]:
    """``runs`` pairs (sgs then pandas), findings compared on each."""
    results = []
    for n in range(runs):
        pair = {}
        for name, (command, out) in commands(path, folder).items():
            pair[name] = measure(command, out)
        a, b = sgs_findings(folder / "sgs.txt"), pandas_findings(folder / "pandas.tsv")
        if a != b:
            raise SystemExit(f"findings differ: {len(a - b)} only in sgs, {len(b - a)} only in pandas "
                             f"({sorted(a - b)[:3]} / {sorted(b - a)[:3]})")
        print(f"run {n + 1}: " + "; ".join(f"{k} cpu {v['cpu']:.2f} s, wall {v['wall']:.2f} s, "
                                            f"{v['rss_mb']:.0f} MB, exit {v['exit']}" for k, v in pair.items())
              + f"; {len(a)} findings, equal")
        results.append(pair)
    return results


def summary(results: list[dict[str, dict[str, float]]]) -> None:
    for figure in ("cpu", "wall"):
        ratios = [r["pandas"][figure] / r["sgs"][figure] for r in results]
        print(f"pandas ÷ sgs, {figure}: median {statistics.median(ratios):.2f}×, "
              f"min {min(ratios):.2f}×, max {max(ratios):.2f}×")


def start_up(path: Path, folder: Path, runs: int, results: list[dict[str, dict[str, float]]]) -> None:
    """``runs`` pairs on the file's header and first record: each side's fixed cost, and the ratio of the rest."""
    one = folder / "one-record.csv"
    with path.open(encoding="utf-8") as fh:
        one.write_text(fh.readline() + fh.readline(), encoding="utf-8")
    fixed: dict[str, list[float]] = {"sgs": [], "pandas": []}
    for _ in range(runs):
        for name, (command, out) in commands(one, folder).items():
            fixed[name].append(measure(command, out)["cpu"])
    base = {k: statistics.median(v) for k, v in fixed.items()}
    work = {k: statistics.median(r[k]["cpu"] for r in results) - base[k] for k in base}
    print(f"one record: sgs cpu {base['sgs']:.2f} s, pandas cpu {base['pandas']:.2f} s (medians of {runs}); "
          f"the records alone: sgs {work['sgs']:.2f} s, pandas {work['pandas']:.2f} s, "
          f"pandas ÷ sgs {work['pandas'] / work['sgs']:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--million", action="store_true", help="also time sgs validate on ten times the rows")
    parser.add_argument("--keep", type=Path, help="write the files here instead of a temporary folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sgs-validate-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cf-{args.rows}.csv"
    if not path.exists():
        write(path, args.rows)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB), {os.cpu_count()} CPUs")
    results = side_by_side(path, folder, args.runs)
    summary(results)
    start_up(path, folder, args.runs, results)
    if args.million:
        big = folder / f"cf-{args.rows * 10}.csv"
        if not big.exists():
            write(big, args.rows * 10)
        command, out = commands(big, folder)["sgs"]
        run = measure(command, out)
        base = statistics.median(r["sgs"]["wall"] for r in results)
        print(f"{big.name} ({big.stat().st_size / 1e6:.0f} MB): sgs cpu {run['cpu']:.2f} s, wall {run['wall']:.2f} s "
              f"({run['wall'] / base:.1f}× the {args.rows:,}-row wall), {run['rss_mb']:.0f} MB, exit {run['exit']}")


if __name__ == "__main__":
    main()
