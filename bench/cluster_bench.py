"""A province of synthetic cities scored on a local Ray cluster with 1, 2 and 4 worker nodes (docs/scale.md).

    .venv/bin/python bench/cluster_bench.py --out /tmp/cluster-bench [--cities 20] [--records 100000]
                                            [--departments 50] [--workers 1,2,4]
    .venv/bin/python bench/cluster_bench.py --out /tmp/cluster-demo --demo 20   # demo cities, end to end

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
import signal
import statistics
import sys
import threading
import time
from contextlib import ExitStack
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


FAULTS = {1: ("error500", 1), 2: ("reset", 1), 3: ("slow", 3)}  # city i % 4 → every path's first hits misbehave
VOLATILE = {"first_seen", "last_seen", "fetch_id", "crawl_id", "ref_fetch_id", "computed_at", "row_hash"}


def _kill_first(title: bytes, ready, stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first worker running ``title`` (its Ray process title in /proc) once ``ready()``."""
    while not stop.is_set() and not killed:
        if ready():
            for entry in (e for e in os.listdir("/proc") if e.isdigit()):
                try:
                    if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(title):
                        os.kill(int(entry), signal.SIGKILL)
                        killed.append(int(entry))
                        break
                except OSError:
                    continue
        time.sleep(0.05)


def _killing(title: str, ready):
    """Run a killer thread for ``title``; returns (stop, killed) for the caller to stop and read."""
    stop, killed = threading.Event(), []
    threading.Thread(target=_kill_first, args=(title.encode(), ready, stop, killed), daemon=True).start()
    return stop, killed


def _differences(a: Path, b: Path, table: str) -> int:
    """Rows of ``table`` in one database and not the other (both ways; the per-crawl columns left out)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        cols = ", ".join(c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE a.{table})").fetchall()
                         if c not in VOLATILE)
        return sum(con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} EXCEPT ALL "
                               f"SELECT {cols} FROM {y}.{table})").fetchall()[0][0] for x, y in (("a", "b"), ("b", "a")))
    finally:
        con.close()


def demo(out: Path, n: int, workers: int) -> dict:
    """``n`` demo cities (seeds 100…, every 4th path-faulty in three ways) served on loopback, crawled and scored
    on ``workers`` nodes with one worker killed in each phase, then each city crawled and scored alone and
    compared row by row."""
    import ray
    from ray.cluster_utils import Cluster

    from core import store
    from core.cityconfig import load_city
    from core.periods import parse_period
    from core.settings import resolve_paths
    from crawlers.crawl import run_crawl
    from democity import DemoServer, build, write_city
    from democity.faults import Fault, Faults
    from metrics.scoring import score_period
    from sgs.cluster import crawl_province, score_province

    shutil.rmtree(out, ignore_errors=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    report: dict = {"cities": n, "workers": workers}
    with ExitStack() as stack:
        for i in range(n):
            city = build(100 + i)
            kind, times = FAULTS.get(i % 4, (None, 0))
            faults = Faults({"/*": Fault(kind, times=times, seconds=0.2)}) if kind else None
            server = stack.enter_context(DemoServer(city, faults=faults))
            for side in ("prov", "alone"):
                write_city(city, server.base_url, out / side / f"city{i:03d}")
        nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        try:
            for _ in range(workers):
                nodes.add_node(num_cpus=1)
            ray.init(address=nodes.address, logging_level="WARNING", log_to_driver=False)
            stop, killed = _killing("ray::crawl_city", lambda: any((out / "prov").glob("*/archive/*.warc.gz")))
            t = time.perf_counter()
            crawls = crawl_province(out / "prov", cluster=nodes.address)
            report["crawl_wall_s"] = round(time.perf_counter() - t, 1)
            stop.set()
            report["crawl_killed"], report["records"] = killed, sum(r["records"] for r in crawls)
            report["failed_sources"] = [f"{r['city']}/{s}" for r in crawls for s in r["failed"]]
            for folder in sorted((out / "prov").iterdir()):
                shutil.copytree(folder, out / "copies" / folder.name)
            stop, killed = _killing("ray::score_city", lambda: True)
            t = time.perf_counter()
            _, rollups = score_province(out / "prov", ["2026Q2", "2026Q3"], str(out / "store"),
                                        cluster=nodes.address, as_of=AS_OF)
            report["score_and_rollup_wall_s"] = round(time.perf_counter() - t, 1)
            stop.set()
            report["score_killed"], report["ranked_cities"] = killed, len(rollups[-1].cities)
        finally:
            ray.shutdown()
            nodes.shutdown()
        t = time.perf_counter()
        for folder in sorted((out / "alone").iterdir()):
            run_crawl(load_city(folder / "city.toml"), resolve_paths(folder / "sgs.duckdb"), quiet=True)
        for folder in sorted((out / "copies").iterdir()):
            paths = resolve_paths(folder / "sgs.duckdb")
            con = store.connect(paths)
            try:
                for p in ("2026Q2", "2026Q3"):
                    score_period(con, parse_period(p), as_of=AS_OF)
            finally:
                con.close()
        report["alone_wall_s"] = round(time.perf_counter() - t, 1)
    diffs = {}
    for folder in sorted((out / "prov").iterdir()):
        name = folder.name
        for table in ("xk_records", "cf_records"):
            diffs[f"{name}/{table}"] = _differences(folder / "sgs.duckdb", out / "alone" / name / "sgs.duckdb", table)
        for table in ("findings", "scores", "county_scores", "deductions", "unverified"):
            diffs[f"{name}/{table}"] = _differences(folder / "sgs.duckdb", out / "copies" / name / "sgs.duckdb", table)
    report["rows_differing"] = sum(diffs.values())
    report["tables_compared"] = len(diffs)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/cluster-bench"))
    parser.add_argument("--cities", type=int, default=20)
    parser.add_argument("--records", type=int, default=100_000, help="site records per city (both kinds)")
    parser.add_argument("--departments", type=int, default=50, help="departments per city")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--demo", type=int, default=0, help="instead: this many demo cities end to end on 3 workers")
    args = parser.parse_args()
    if args.demo:
        print(json.dumps(demo(args.out, args.demo, 3), ensure_ascii=False), flush=True)
        return
    t = time.perf_counter()
    folder = make_cities(args.out, args.cities, args.records, args.departments)
    print(f"{args.cities} cities × {args.records:,} records ready in {time.perf_counter() - t:.1f} s", flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        print(json.dumps(run(folder, args.out / "store", workers), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
