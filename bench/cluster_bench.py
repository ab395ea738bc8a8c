"""A province of synthetic cities scored on a local Ray cluster with 1, 2 and 4 worker nodes (docs/scale.md).

    .venv/bin/python bench/cluster_bench.py --out /tmp/cluster-bench [--cities 20] [--records 100000]
                                            [--departments 50] [--workers 1,2,4]

One city's working database is made with bench/gen_province.py (its records, departments and the context every
rule reads) and copied into each city folder: every city is the same work, so what is measured is how the work
splits, not how cities differ. For each worker count a ``ray.cluster_utils.Cluster`` (a head with no CPUs and
N worker nodes of one CPU each, DuckDB one thread per task) scores every city's 2026Q3 through
``sgs.cluster.score_province`` — the code ``sgs score --cluster`` runs — and rolls the province up. Printed as
JSON: wall time, the tasks' CPU-seconds and wall seconds per city, the overhead per task (the run's wall time
less the tasks' own time spread over the workers), the roll-up's time and each worker process's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen_province  # noqa: E402

PERIOD = "2026Q3"
AS_OF = date(2026, 11, 30)


def make_cities(out: Path, cities: int, records: int, departments: int) -> Path:
    """One generated city copied ``cities`` times under ``out/cities``; returns that folder."""
    template = out / "template"
    if not (template / "sgs.duckdb").exists():
        gen_province.generate(template, records, departments)
        gen_province.load(template)
    folder = out / "cities"
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(cities):
        (folder / f"city{i:03d}").mkdir(parents=True)
        shutil.copyfile(template / "sgs.duckdb", folder / f"city{i:03d}" / "sgs.duckdb")
    return folder


def run(folder: Path, store: Path, workers: int) -> dict:
    """Score every city on a fresh local cluster of ``workers`` one-CPU nodes; the measurements."""
    import ray
    from ray.cluster_utils import Cluster

    from metrics.rollup import rollup
    from core.periods import parse_period
    from sgs.cluster import run_cities, score_city

    shutil.rmtree(store, ignore_errors=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        for _ in range(workers):
            nodes.add_node(num_cpus=1)
        ray.init(address=nodes.address, logging_level="WARNING", log_to_driver=False)
        jobs = [(str(f), [PERIOD], str(store), AS_OF, None, 1) for f in sorted(folder.iterdir())]
        ray.get(ray.remote(lambda: None).remote())  # the first task starts a worker: not the province's cost
        started = time.perf_counter()
        reports = run_cities(score_city, jobs, nodes.address)
        scored = time.perf_counter() - started
        t = time.perf_counter()
        result = rollup(store, parse_period(PERIOD))
        rolled = time.perf_counter() - t
    finally:
        ray.shutdown()
        nodes.shutdown()
    task_wall = sum(r["wall_seconds"] for r in reports)
    peaks: dict[int, float] = {}
    for r in reports:
        peaks[r["pid"]] = max(peaks.get(r["pid"], 0.0), r["peak_rss_mb"])
    return {"workers": workers, "cities": len(reports), "wall_s": round(scored, 2), "rollup_s": round(rolled, 3),
            "cpu_s_per_city": round(statistics.mean(r["cpu_seconds"] for r in reports), 3),
            "task_wall_s_per_city": round(task_wall / len(reports), 3),
            "overhead_s_per_task": round(max(0.0, scored - task_wall / workers) / len(reports) * workers, 3),
            "peak_rss_mb_per_worker": sorted(round(v) for v in peaks.values()),
            "ranked_cities": len(result.cities)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/cluster-bench"))
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--records", type=int, default=100_000, help="site records per city (both kinds)")
    parser.add_argument("--departments", type=int, default=50, help="departments per city")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    t = time.perf_counter()
    folder = make_cities(args.out, args.cities, args.records, args.departments)
    print(f"{args.cities} cities × {args.records:,} records ready in {time.perf_counter() - t:.1f} s", flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        print(json.dumps(run(folder, args.out / "store", workers), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
