"""Time all documents of a period (report, workbook, one notice per department) on a province-like dataset, and
their peak memory.

    .venv/bin/python bench/report_bench.py [--data bench/data/report] [--records 60000] [--departments 200]
                                           [--parts]

The dataset is ``bench/gen_province.py``'s (200 departments; the record count is chosen so that scoring 2026Q3
yields about 100,000 findings), generated, loaded, scored and published once into ``--data`` and reused by
later runs. The documents are written by ``reports.build.write_all`` in a child process (``--child``) so its
peak resident memory is measured alone (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``); the wall time is
the whole call: reading the period, three charts, the report, the workbook and every notice, renamed into
place. ``--parts`` also times each step on its own (read, report, workbook, notices).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PERIOD = "2026Q3"
AS_OF = date(2026, 11, 30)
REPORT_DATE = date(2026, 10, 12)


def prepare(data: Path, records: int, departments: int) -> Path:
    """The scored, published dataset (made once; delete the folder to make it again)."""
    from bench import gen_province
    from core import store
    from core.periods import parse_period
    from metrics.scoring import score_period
    from core.settings import Paths

    paths = Paths(data / "sgs.duckdb")
    if store.current_snapshot(paths) is not None:
        return paths.db
    t = time.perf_counter()
    gen_province.generate(data, records, departments)
    gen_province.load(data)
    con = store.connect(paths)
    try:
        score_period(con, parse_period(PERIOD), as_of=AS_OF)
        store.publish(con, paths)
    finally:
        con.close()
    print(f"dataset generated, scored and published in {time.perf_counter() - t:.1f} s", flush=True)
    return paths.db


def child(db: Path, parts: bool) -> dict:
    from core import store
    from reports import assessment, build, notice, workbook
    from reports.data import load
    from core.settings import Paths

    con = store.open_snapshot(Paths(db))
    try:
        n_findings = con.execute("SELECT count(*) FROM findings WHERE period = ?", [PERIOD]).fetchone()[0]
        with tempfile.TemporaryDirectory(dir=db.parent) as out:
            t = time.perf_counter()
            written = build.write_all(con, PERIOD, Path(out), report_date=REPORT_DATE)
            wall = time.perf_counter() - t
            sizes = {"report_mb": written.report.stat().st_size / 1e6, "workbook_mb": written.workbook.stat().st_size / 1e6,
                     "notices_mb": sum(p.stat().st_size for p in written.notices.values()) / 1e6}
        result = {"wall_s": round(wall, 2), "findings": n_findings, "notices": len(written.notices),
                  **{k: round(v, 1) for k, v in sizes.items()}}
        if parts:
            timing = {}
            t = time.perf_counter()
            data = load(con, PERIOD)
            timing["read"] = time.perf_counter() - t
            scheme, day, due = build.settings(PERIOD, report_date=REPORT_DATE)
            t = time.perf_counter()
            assessment.build(data, scheme, day, due)
            timing["report"] = time.perf_counter() - t
            with tempfile.TemporaryDirectory(dir=db.parent) as out:
                t = time.perf_counter()
                workbook.write(data, scheme, day, due, Path(out) / "w.xlsx")
                timing["workbook"] = time.perf_counter() - t
            t = time.perf_counter()
            for dept in data.explained:
                notice.build(data, dept, scheme, day, due)
            timing["notices"] = time.perf_counter() - t
            result["parts_s"] = {k: round(v, 2) for k, v in timing.items()}
        return result
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent / "data" / "report")
    parser.add_argument("--records", type=int, default=88_000, help="site records generated (both kinds)")
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--parts", action="store_true", help="also time each document kind on its own")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.parts)))
        return
    db = prepare(args.data, args.records, args.departments)
    cmd = [sys.executable, __file__, "--child", str(db)] + (["--parts"] if args.parts else [])
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(run.stderr)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
