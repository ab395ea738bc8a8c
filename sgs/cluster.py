"""A province's cities crawled and scored as Ray tasks (``--cluster ADDRESS``), or one after another without Ray.

A province is a folder of cities, each city a deployment folder of its own (``core.settings.Paths``): its
``city.toml``, working database ``sgs.duckdb``, archive and published snapshots. The unit of work is a city:
the policy assesses cities, each has its own portal and calendar of work, and its hosts belong to it alone — so
one task per city keeps every host's politeness inside one process (``crawlers.fetch``'s per-host limits hold
as they do on one machine; ``check_hosts`` refuses a province where two cities name the same host).

A task is exactly what one city on one machine does (``crawlers.crawl.run_crawl``; ``metrics.scoring.
score_period`` on its DuckDB, then ``core.store.publish``), plus writing the city's partitions of the
province's store (``metrics.rollup.export_city``). Tasks are idempotent: a crawl resumes from its city's archive
and database, a scoring replaces the period's rows in one transaction and the partitions' files by name. So
when a worker dies (a node lost, a process killed) Ray runs the task again (``max_retries``) and the result is
the same. The roll-up then runs in this process, on the store alone (no Ray).

Ray is imported only when ``--cluster`` is given (``pip install 'sgs[cluster]'``); without it the cities are
done one after another in this process, the same functions, the same results.
"""
from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import InputError, SgsError

CITY_DB = "sgs.duckdb"
CITY_CONFIG = "city.toml"
RETRIES = 3  # a task whose worker died is run again this many times (Ray's max_retries)
LOCAL = "local"  # --cluster local: a Ray instance on this machine, started and stopped by the command


def city_folders(root: Path, need: str) -> list[Path]:
    """The cities under ``root``: its sub-folders holding ``need`` (city.toml or sgs.duckdb) — a province — and,
    in a nation's layout, the sub-folders of a sub-folder that holds none itself: ``全国/山西/太原/``, the
    middle folder being the city's province (``province_of``). Sorted by province, then city. A city's folder
    name is its name in the store, so two provinces' cities may not share one (refused, naming both)."""
    if not root.is_dir():
        raise InputError(f"{root} 不是文件夹：全省模式需要一个文件夹，其中每个城市一个子文件夹（含 {need}）。")
    found: list[Path] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (sub / need).is_file():
            found.append(sub)
        else:  # a province's folder (or an unrelated one, which holds no city)
            found.extend(sorted(p for p in sub.iterdir() if p.is_dir() and (p / need).is_file()))
    if not found:
        raise InputError(f"{root} 下没有含 {need} 的城市子文件夹：每个城市一个子文件夹，例如 {root / '城市甲' / need}"
                         f"（全国：每个省一个子文件夹，其中每个城市一个子文件夹，例如 {root / '省甲' / '城市甲' / need}）。")
    seen: dict[str, Path] = {}
    twice = [f"{f.name}（{seen[f.name].relative_to(root)} 和 {f.relative_to(root)}）"
             for f in found if seen.setdefault(f.name, f) != f]
    if twice:
        raise InputError("城市文件夹名就是城市在数据存储中的名称，不能重复：" + "；".join(twice)
                         + "。请给其中一个城市的文件夹改名（例如加上省名）。")
    return found


def province_of(root: Path, folder: Path) -> str | None:
    """The province of a city folder ``city_folders`` found: the folder between ``root`` and the city's
    (a nation's layout), None for a city directly under ``root`` (a province's own layout)."""
    return None if folder.parent == root else folder.parent.name


def check_hosts(configs: Sequence[Path]) -> None:
    """Refuse a province where one host appears in two cities: its politeness limits would be kept by two
    processes at once. Every city's file is checked (all problems at once)."""
    from core.cityconfig import load_city

    owner: dict[str, str] = {}
    clashes = []
    for config in configs:
        city = config.parent.name
        try:
            hosts = load_city(config).hosts()
        except InputError:  # a city whose file is wrong fails in its own task, named; the others go on
            continue
        for host in sorted(hosts):
            if owner.setdefault(host, city) != city:
                clashes.append(f"{host}（{owner[host]} 和 {city}）")
    if clashes:
        raise InputError("同一网站出现在两个城市的配置中，无法保证对它的访问频率限制：" + "；".join(clashes)
                         + "。请把该网站的来源只放在一个城市的 city.toml 中。")


# --- the tasks (plain functions: Ray runs them on a worker, or this process calls them) ------------------

def _usage(started: float, cpu: float) -> dict[str, Any]:
    """What a task cost: wall and CPU seconds (DuckDB's threads included) and the worker's peak memory."""
    return {"pid": os.getpid(), "wall_seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def score_city(folder: str, periods: Sequence[str], store: str, as_of: date, scheme: str | None = None,
               threads: int | None = None, province: str | None = None) -> dict[str, Any]:
    """Score one city's periods as ``sgs score`` does, publish its snapshot, write its partitions to ``store``
    (the scored periods, and the previous periods' stored scores so the roll-up can show changes).
    A period the city has no records for is reported (None), not an error: a province's cities differ."""
    from core import store as db_store
    from core.periods import parse_period
    from core.settings import resolve_paths
    from core.workdays import default_calendar
    from metrics.rollup import export_city, has_scores
    from metrics.scoring import ScoringError, score_period
    from metrics.verify import remember

    started, cpu = time.perf_counter(), time.process_time()
    paths = resolve_paths(Path(folder) / CITY_DB)
    con = db_store.connect(paths)
    scored: dict[str, int | None] = {}
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        remember(con, paths)
        calendar = default_calendar()
        for label in periods:
            try:
                scored[label] = len(score_period(con, parse_period(label), scheme_path=scheme, calendar=calendar,
                                                 as_of=as_of))
            except ScoringError:
                scored[label] = None
        db_store.publish(con, paths)
        export_scored(con, paths.root.name, [p for p, n in scored.items() if n is not None], store, province)
    finally:
        con.close()
    return {"city": paths.root.name, "scored": scored, **_usage(started, cpu)}


def export_scored(con: Any, city: str, labels: Sequence[str], store: str, province: str | None = None) -> None:
    """Write the city's partitions of the scored periods, and the previous periods' stored scores (the
    roll-up's changes) when they were not scored now; ``province`` in a nation's store."""
    from core.periods import parse_period
    from metrics.rollup import export_city, has_scores

    done = [parse_period(p) for p in labels]
    before = [p.previous() for p in done if p.previous().label not in labels and has_scores(con, p.previous())]
    export_city(con, city, [*done, *before], store, province)


def run_city(folder: str, store: str, today: date, province: str | None = None) -> dict[str, Any]:
    """One city's daily run as ``sgs run --config`` does it (under the city's own run lock: crawl, score,
    verify, publish, digests), then its partitions written from the snapshot just published. Whatever goes
    wrong in this city is reported (``error``), never raised: one bad city must not stop a province's run.
    A killed worker is not an error here: Ray runs the task again and the city's run resumes."""
    from core import store as db_store
    from core.cityconfig import load_city
    from core.privacy import mask_text
    from core.settings import resolve_paths
    from sgs.run import daily_cycle, run_lock

    started, cpu = time.perf_counter(), time.process_time()
    paths = resolve_paths(Path(folder) / CITY_DB)
    said: list[str] = []
    report: dict[str, Any] = {"city": paths.root.name, "scored": [], "failed": [], "errors": [], "error": None}
    try:
        city = load_city(Path(folder) / CITY_CONFIG)
        with run_lock(paths):
            summary, scored = daily_cycle(city, paths, today, quiet=True, say=said.append)
            report.update(scored=scored, failed=list(summary.failed_sources), errors=summary.error_lines(),
                          records=summary.records)
            snap = db_store.open_snapshot(paths)
            try:
                export_scored(snap, paths.root.name, scored, store, province)
            finally:
                snap.close()
    except SgsError as exc:
        report["error"] = mask_text(str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug or a broken file in one city: named, the others go on
        report["error"] = mask_text(f"意外错误（{type(exc).__name__}：{exc}），请把此行报告给维护人员。")
    return {**report, "lines": said, **_usage(started, cpu)}


def crawl_city(folder: str, fresh: bool = False) -> dict[str, Any]:
    """Crawl one city as ``sgs crawl`` does (resuming an interrupted crawl from its archive and database)."""
    from core.cityconfig import load_city
    from core.settings import resolve_paths
    from crawlers.crawl import run_crawl

    started, cpu = time.perf_counter(), time.process_time()
    paths = resolve_paths(Path(folder) / CITY_DB)
    summary = run_crawl(load_city(Path(folder) / CITY_CONFIG), paths, quiet=True, resume=not fresh)
    return {"city": paths.root.name, "records": summary.records, "failed": list(summary.failed_sources),
            "errors": summary.error_lines(), **_usage(started, cpu)}


# --- running them ------------------------------------------------------------------------------------

def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise InputError("--cluster 需要 Ray：请安装 pip install 'sgs[cluster]'（或不加 --cluster，逐个城市在本机运行）。") from exc
    return ray


@contextmanager
def connected(address: str) -> Iterator[Any]:
    """Ray, connected to the cluster at ``address`` (``local``: a Ray started here for this command). A
    connection the caller made already (tests, a notebook) is used as it is and left open."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        if address == LOCAL:
            ray.init(include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        else:
            ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SgsError(f"无法连接 Ray 集群 {address}（{exc}）：请确认各节点已 ray start，地址为 主机:端口，"
                       "或用 --cluster local 在本机运行。") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def run_cities(task: Callable[..., dict[str, Any]], jobs: Sequence[tuple[Any, ...]], cluster: str | None, *,
               cpus: float = 1, retries: int = RETRIES) -> list[dict[str, Any]]:
    """Run ``task(*job)`` for every city: as Ray tasks on ``cluster`` (a dead worker's task is run again), or
    in turn in this process when ``cluster`` is None. Every city is run even when one fails; then the failures
    are raised together as one SgsError naming each city."""
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    if cluster is None:
        for job in jobs:
            try:
                results.append(task(*job))
            except SgsError as exc:
                failures.append(f"{Path(job[0]).name}：{exc}")
    else:
        with connected(cluster) as ray:
            remote = ray.remote(task).options(num_cpus=cpus, max_retries=retries, retry_exceptions=False)
            refs = [remote.remote(*job) for job in jobs]
            for job, ref in zip(jobs, refs):
                try:
                    results.append(ray.get(ref))
                except ray.exceptions.RayTaskError as exc:
                    if not isinstance(exc.cause, SgsError):
                        raise
                    failures.append(f"{Path(job[0]).name}：{exc.cause}")
    if failures:
        raise SgsError(f"{len(failures)} 个城市未能完成（其余城市的结果已保存）：\n" + "\n".join(failures))
    return results


def score_province(cities: Path, periods: Sequence[str], store: str, *, cluster: str | None = None,
                   as_of: date | None = None, scheme: Path | None = None, cpus: float = 1,
                   retries: int = RETRIES) -> tuple[list[dict[str, Any]], list[Any]]:
    """Score every city of ``cities`` for ``periods`` (one task each), then roll the province up per period.
    All cities are judged on the same day (``as_of``, default today, decided once here). Returns the tasks'
    reports and the roll-ups (``metrics.rollup.Rollup``)."""
    from core.periods import parse_period
    from metrics.rollup import filesystem, rollup

    labels = [parse_period(p).label for p in periods]
    filesystem(store)  # a bad store URL is refused before any city is scored
    day = as_of or date.today()
    threads = max(1, int(cpus)) if cluster is not None else None
    jobs = [(str(f), labels, store, day, str(scheme) if scheme else None, threads, province_of(cities, f))
            for f in city_folders(cities, CITY_DB)]
    reports = run_cities(score_city, jobs, cluster, cpus=cpus, retries=retries)
    return reports, [rollup(store, parse_period(p), scheme) for p in labels]


def run_province(cities: Path, store: str, today: date, *, cluster: str | None = None,
                 retries: int = RETRIES) -> tuple[list[dict[str, Any]], list[Any], list[str]]:
    """``sgs run --cities``: every city's daily run (one task each, a bad one reported, not raised), then the
    province rolled up for every period some city scored. Returns the cities' reports, the roll-ups and the
    periods that could not be rolled up (with why)."""
    from metrics.rollup import filesystem, rollup
    from metrics.scoring import ScoringError
    from core.periods import parse_period
    from core.store import StoreError

    filesystem(store)  # a bad store URL is refused before any city runs
    folders = city_folders(cities, CITY_CONFIG)
    check_hosts([f / CITY_CONFIG for f in folders])
    reports = run_cities(run_city, [(str(f), store, today, province_of(cities, f)) for f in folders], cluster,
                         retries=retries)
    rollups, skipped = [], []
    labels = sorted({p for r in reports for p in r["scored"]}, key=lambda p: (parse_period(p).end, "Q" in p))
    for label in labels:
        try:
            rollups.append(rollup(store, parse_period(label)))
        except (ScoringError, StoreError) as exc:
            skipped.append(f"{label}：{exc}")
        except InputError:  # no city has ranked departments in it: nothing to rank
            continue
    return reports, rollups, skipped


def crawl_province(cities: Path, *, cluster: str | None = None, fresh: bool = False,
                   retries: int = RETRIES) -> list[dict[str, Any]]:
    """Crawl every city of ``cities`` (one task each; hosts checked to belong to one city each)."""
    folders = city_folders(cities, CITY_CONFIG)
    check_hosts([f / CITY_CONFIG for f in folders])
    return run_cities(crawl_city, [(str(f), fresh) for f in folders], cluster, retries=retries)
