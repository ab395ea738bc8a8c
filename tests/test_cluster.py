"""A province on a real local Ray cluster (1 head + 3 worker nodes, loopback): demo cities crawled and scored as
Ray tasks with a worker process killed mid-task each time, compared row by row with each city done alone, and
the province's roll-up compared with one computed by hand in pandas. The store is also written to and rolled up
from an S3 server (moto's, on 127.0.0.1) when moto is installed.

Four cities here, to keep the suite's time (a city's crawl is ~5 s on a busy core); bench/cluster_bench.py runs
twenty. Skipped only where Ray cannot be installed."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from collections.abc import Callable

import duckdb
import pandas as pd
import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"
# Loopback only: Ray rewrites 127.0.0.1 in a cluster address to the machine's own address (``ray._private.
# services.resolve_ip_for_localhost``), so ``node_ip_address="127.0.0.1"`` alone leaves the driver dialling the
# machine's address where nothing listens. Ray's switch for single-machine clusters (the Windows/macOS default)
# makes every node, the GCS and the driver use 127.0.0.1; set before Ray is imported (it is read then) and
# inherited by every Ray process the fixture starts.
LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
os.environ[LOOPBACK] = "0"
try:  # the test extra installs Ray; a developer machine where it cannot install skips, CI fails
    import ray
except ImportError:  # pragma: no cover - depends on the machine
    if ON_CI:
        raise
    pytest.skip("Ray 无法在此平台安装（pip install 'sgs[cluster]'）：集群测试跳过", allow_module_level=True)

from core import store  # noqa: E402
from s3_bucket import s3_bucket  # noqa: E402
from core.periods import parse_period  # noqa: E402
from core.settings import REPO_ROOT, resolve_paths  # noqa: E402
from core.vocab import INDICATORS  # noqa: E402
from metrics.rollup import export_city, read_kind, read_rollup, rollup  # noqa: E402
from metrics.scheme import load_scheme, scheme_path  # noqa: E402
from sgs.cluster import crawl_province, score_province  # noqa: E402

SEEDS = (11, 12, 13, 14)
PERIODS = ("2026Q2", "2026Q3")
AS_OF = date.today()  # one day for every scoring in this module, as score_province decides it once
# per crawl / run (row_hash: a hash of the whole stored record, first_seen and fetch_id included)
VOLATILE = {"first_seen", "last_seen", "fetch_id", "crawl_id", "ref_fetch_id", "computed_at", "row_hash"}
RESULTS = ("findings", "scores", "county_scores", "deductions", "unverified")


class Killer(threading.Thread):
    """Kills (SIGKILL) the first worker process running ``title`` once it has run ``after`` seconds and
    ``ready()`` says the work is under way: the title is what Ray shows for a task in progress
    (``ray::score_city``), read from /proc."""

    def __init__(self, title: str, after: float, ready: Callable[[], bool] = lambda: True) -> None:
        super().__init__(daemon=True)
        self.title, self.after, self.ready, self.killed = title.encode(), after, ready, []
        self.stop = threading.Event()

    def run(self) -> None:
        seen: dict[int, float] = {}
        while not self.stop.is_set() and not self.killed:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if cmdline.startswith(self.title):
                    pid = int(entry)
                    if time.monotonic() - seen.setdefault(pid, time.monotonic()) >= self.after and self.ready():
                        os.kill(pid, signal.SIGKILL)
                        self.killed.append(pid)
                        break
            time.sleep(0.05)

    def __enter__(self) -> "Killer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()


@pytest.fixture(scope="module")
def cluster(one_ray_at_a_time):
    """1 head (no CPUs: it only coordinates) + 3 worker nodes of 1 CPU each, shut down whatever happens."""
    from ray.cluster_utils import Cluster

    from ray._private import ray_constants

    # Ray was imported with the loopback switch unless another test module imported it first: then say so
    assert not ray_constants.ENABLE_RAY_CLUSTER, f"Ray 已在设置 {LOOPBACK}=0 之前导入：请单独运行本测试模块"
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), saved) if p)  # workers import this checkout
    nodes = None
    try:
        nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        for _ in range(3):
            nodes.add_node(num_cpus=1)
        ray.init(address=nodes.address, logging_level="WARNING", log_to_driver=False)
        assert nodes.address.startswith("127.0.0.1:")
        assert [n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]] == ["127.0.0.1"] * 4  # loopback only
        yield nodes
    finally:
        ray.shutdown()
        if nodes is not None:
            nodes.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """Each demo city (its own seed) served on loopback, written twice: ``prov/`` (the cluster's) and
    ``alone/`` (each city by itself)."""
    from democity import DemoServer, build, write_city

    root = tmp_path_factory.mktemp("province")
    with ExitStack() as stack:
        for seed in SEEDS:
            city = build(seed)
            server = stack.enter_context(DemoServer(city))
            for side in ("prov", "alone"):
                write_city(city, server.base_url, root / side / f"city{seed}")
        yield root, stack


def _rows(con: duckdb.DuckDBPyConnection, table: str, where: str = "", skip: set[str] = VOLATILE) -> pd.DataFrame:
    """Every row of ``table`` (``where``) in one order, without the columns in ``skip``."""
    cols = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall() if c not in skip]
    frame = con.execute(f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY ALL").df()
    return frame.reset_index(drop=True)


def _plain(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of plain values (NULL, NaN and pandas' NA all None), sorted: Parquet and DuckDB agree."""
    return sorted((tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)),
                  key=repr)


@pytest.fixture(scope="module")
def crawled(cluster, province):
    """The cities crawled alone (run_crawl, one after another) and on the cluster with a crawl's worker
    killed once the crawls archive pages (its task resumes from the city's archive on a new worker)."""
    from core.cityconfig import load_city
    from crawlers.crawl import run_crawl

    root, _ = province
    for folder in sorted((root / "alone").iterdir()):
        run_crawl(load_city(folder / "city.toml"), resolve_paths(folder / "sgs.duckdb"), quiet=True)
    def archiving() -> bool:  # the crawls are fetching: some city's archive has a WARC record
        return any(p.is_file() and p.stat().st_size > 0 for p in (root / "prov").glob("*/archive/**/*.warc.gz"))

    with Killer("ray::crawl_city", after=0.5, ready=archiving) as killer:
        reports = crawl_province(root / "prov", cluster=cluster.address)
    return root, reports, killer.killed


def test_crawl_on_cluster_equals_each_city_alone(crawled):
    root, reports, killed = crawled
    assert killed, "no crawl was running long enough to be killed"
    assert killed[0] not in {r["pid"] for r in reports}  # the killed task finished on another worker
    assert sorted(r["city"] for r in reports) == [f"city{s}" for s in SEEDS]
    assert all(not r["failed"] for r in reports)
    for seed in SEEDS:
        cons = [duckdb.connect(str(root / side / f"city{seed}" / "sgs.duckdb"), read_only=True)
                for side in ("prov", "alone")]
        try:
            for table in ("xk_records", "cf_records"):
                ours, alone = (_rows(c, table) for c in cons)
                assert len(alone) > 100
                pd.testing.assert_frame_equal(ours, alone)
        finally:
            for c in cons:
                c.close()


@pytest.fixture(scope="module")
def scored(crawled, cluster, tmp_path_factory):
    """Each city's crawled database copied before scoring: the copies scored alone (score_period, publish,
    export as one machine does), the originals on the cluster with a scoring worker killed after 0.3 s."""
    from democity.ledgers import load_ledgers
    from metrics.scoring import score_period

    root, _, _ = crawled
    for folder in sorted((root / "prov").iterdir()):
        con = store.connect(resolve_paths(folder / "sgs.duckdb"))
        try:
            load_ledgers(con, folder)  # the departments' ledgers, written beside city.toml
        finally:
            con.close()
        shutil.copytree(folder, root / "copies" / folder.name)
    alone_store = tmp_path_factory.mktemp("alone-store")
    for folder in sorted((root / "copies").iterdir()):
        paths = resolve_paths(folder / "sgs.duckdb")
        con = store.connect(paths)
        try:
            for p in PERIODS:
                score_period(con, parse_period(p), as_of=AS_OF)
            store.publish(con, paths)
            export_city(con, folder.name, [parse_period(p) for p in PERIODS], alone_store)
        finally:
            con.close()
    ours = tmp_path_factory.mktemp("store")
    with Killer("ray::score_city", after=0.3) as killer:
        reports, rollups = score_province(root / "prov", PERIODS, str(ours), cluster=cluster.address, as_of=AS_OF)
    return root, ours, alone_store, reports, rollups, killer.killed


def test_scoring_on_cluster_equals_each_city_alone(scored):
    root, ours, _, reports, _, killed = scored
    assert killed and killed[0] not in {r["pid"] for r in reports}
    assert all(r["scored"] == {p: 16 for p in PERIODS} for r in reports), reports
    for seed in SEEDS:
        city = f"city{seed}"
        snap = store.open_snapshot(resolve_paths(root / "prov" / city / "sgs.duckdb"))  # what the task published
        alone = duckdb.connect(str(root / "copies" / city / "sgs.duckdb"), read_only=True)
        try:
            for table in RESULTS:
                for p in PERIODS:
                    where = f"WHERE period = '{p}'"  # the same database scored twice: only the clock differs
                    mine, theirs = _rows(snap, table, where, {"computed_at"}), _rows(alone, table, where, {"computed_at"})
                    pd.testing.assert_frame_equal(mine, theirs)
                    if table in ("findings", "scores"):
                        assert len(theirs) > 0
                    stored = read_kind(ours, table, p, [city]).drop(columns=["city"])  # the store = the database
                    stored = stored[[c for c in stored.columns if c != "computed_at"]]
                    assert _plain(stored) == _plain(mine)
        finally:
            snap.close()
            alone.close()


def _mean(values: pd.Series) -> float:
    """The exact mean of cent figures, rounded half up to the cent (as DuckDB's round, which the city's county
    scores use): Decimal arithmetic, so no float decides a cent."""
    cents = [Decimal(str(v)) for v in values if not pd.isna(v)]
    if not cents:
        return float("nan")
    return float((sum(cents) / len(cents)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _by_hand(alone_store: Path, period: str, keys: list[str]) -> pd.DataFrame:
    """The roll-up restated in pandas from the cities' own scores (docs/scale.md): means of ranked
    departments, the scheme's grade lines, ranks with ties sharing, changes from the previous period."""
    scheme = load_scheme(scheme_path(parse_period(period)))

    def level(p: str) -> pd.DataFrame:
        frames = []
        for city in sorted(os.listdir(alone_store / "cities")):
            path = alone_store / "cities" / city / "kind=scores" / f"period={p}" / "part-0.parquet"
            if path.exists():
                frame = pd.read_parquet(path)
                frame.insert(0, "city", city.removeprefix("city="))
                frames.append(frame)
        scores = pd.concat(frames)
        ranked = scores[scores["standing"] == "ranked"]
        out = ranked.groupby(keys).agg(n_departments=("dept_id", "size"), n_records=("n_records", "sum"),
                                       **{i: (i, _mean) for i in [*INDICATORS, "total"]}).reset_index()
        out["grade"] = [next((g for g, low in scheme.grades if t >= low), scheme.grades[-1][0]) for t in out["total"]]
        out["rank"] = out["total"].rank(method="min", ascending=False).astype(int)
        return out

    now, before = level(period), level(parse_period(period).previous().label)
    prev = before[[*keys, "total", "rank"]].rename(columns={"total": "prev_total", "rank": "prev_rank"})
    return now.merge(prev, on=keys, how="left").sort_values(["rank", *keys]).reset_index(drop=True)


def test_rollup_equals_a_hand_rollup(scored):
    root, ours, alone_store, _, rollups, _ = scored
    q3 = rollups[PERIODS.index("2026Q3")]
    for level, keys in ((q3.cities, ["city"]), (q3.counties, ["city", "county"])):
        hand = _by_hand(Path(alone_store), "2026Q3", keys)
        assert len(hand) == len(level) > 0
        for col in [*keys, "n_departments", "n_records", *INDICATORS, "total", "grade", "rank", "prev_total", "prev_rank"]:
            mine = level[col].tolist()
            theirs = hand[col].tolist()
            if col in (*INDICATORS, "total", "prev_total"):
                assert mine == pytest.approx(theirs, abs=1e-9, nan_ok=True), col
            else:
                assert [None if x != x else int(x) if isinstance(x, float) else x for x in mine] == \
                       [None if x != x else int(x) if isinstance(x, float) else x for x in theirs], col
    # a county's total and rank inside its city are the city's own county scores
    for row in q3.counties.to_dict("records"):
        con = duckdb.connect(str(root / "copies" / row["city"] / "sgs.duckdb"), read_only=True)
        try:
            total, rank = con.execute("SELECT total, rank FROM county_scores WHERE period = '2026Q3' AND county = ?",
                                      [row["county"]]).fetchall()[0]
        finally:
            con.close()
        assert (row["total"], row["city_rank"]) == (total, rank)
    back = read_rollup(ours, "2026Q3")
    pd.testing.assert_frame_equal(back.cities, q3.cities, check_dtype=False)
    pd.testing.assert_frame_equal(back.counties, q3.counties, check_dtype=False)


def test_store_on_s3(scored, tmp_path):
    """The same partitions and roll-up through an S3 server (moto's, 127.0.0.1) as through a local folder."""
    root, ours, _, _, rollups, _ = scored
    with s3_bucket("province") as url:
        for folder in sorted((root / "prov").iterdir()):
            con = store.open_snapshot(resolve_paths(folder / "sgs.duckdb"))
            try:
                export_city(con, folder.name, [parse_period(p) for p in PERIODS], url)
            finally:
                con.close()
        result = rollup(url, parse_period("2026Q3"))
        pd.testing.assert_frame_equal(result.cities, rollups[1].cities)
        pd.testing.assert_frame_equal(result.counties, rollups[1].counties)
        pd.testing.assert_frame_equal(read_kind(url, "findings", "2026Q3"), read_kind(ours, "findings", "2026Q3"))


def test_without_cluster_ray_is_not_imported(scored, tmp_path):
    """The same command without --cluster: cities in turn in this process, Ray never imported, same ranking."""
    root, _, _, _, rollups, _ = scored
    code = ("import sys, json; from typer.testing import CliRunner; from sgs.cli import app; "
            f"r = CliRunner().invoke(app, ['score', '--cities', {str(root / 'copies')!r}, '--out', "
            f"{str(tmp_path / 'seq')!r}, '--period', '2026Q3', '--json']); "
            "print(json.dumps({'code': r.exit_code, 'ray': 'ray' in sys.modules, 'out': r.output}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
    import json
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0 and result["ray"] is False, result
    ranking = json.loads(result["out"])
    assert [(c["city"], c["total"], c["rank"]) for c in ranking["cities"]] == \
           [(c["city"], c["total"], c["rank"]) for c in rollups[1].cities.to_dict("records")]


def test_cluster_needs_a_folder(tmp_path):
    from typer.testing import CliRunner
    from sgs.cli import app

    result = CliRunner().invoke(app, ["score", "--cluster", "local", "--period", "2026Q3"])
    assert result.exit_code == 2 and "--cities" in result.output
    result = CliRunner().invoke(app, ["score", "--cities", str(tmp_path), "--out", str(tmp_path / "s"),
                                      "--period", "2026Q3"])
    assert result.exit_code == 2 and "sgs.duckdb" in result.output


def test_crawl_refuses_a_host_in_two_cities(tmp_path):
    """Two cities naming the same host: its politeness could not be kept by one process, so nothing is crawled."""
    from typer.testing import CliRunner
    from democity import build, write_city
    from sgs.cli import app

    city = build(11)
    for name in ("甲市", "乙市"):
        write_city(city, "http://127.0.0.1:9", tmp_path / "cities" / name)
    result = CliRunner().invoke(app, ["crawl", "--config", str(tmp_path / "cities")])
    assert result.exit_code == 2, result.output
    assert "127.0.0.1:9（乙市 和 甲市）" in result.output  # folders in sorted order
    assert not any((tmp_path / "cities").glob("*/sgs.duckdb"))
    result = CliRunner().invoke(app, ["crawl", "--config", str(tmp_path / "cities"), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2 and "--db" in result.output
