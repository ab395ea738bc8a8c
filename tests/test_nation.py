"""The nation: several provinces' cities in one store (docs/scale.md, "The nation").

A nation's cities folder has one sub-folder per province, each holding its cities' folders
(``全国/省甲/city11/``); every city's scores carry that province into the store, and the roll-up ranks cities and
counties nationally (``rank``) and within their province (``province_rank``). Two small provinces — 省甲 with
demo cities 11 and 12, 省乙 with 14 — each city served on loopback, run by ``sgs run --cities`` (crawl,
score, publish, partitions, roll-up: ``run_city``'s path), then scored by ``sgs score --cities`` for 2026Q2 and
2026Q3 (``score_city``'s path) into the store the dashboard reads, in turn in this process (no Ray: the same
task functions). A province's own store (no province folders) is tests/test_province.py's.
"""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from s3_bucket import ON_CI
from typer.testing import CliRunner

from core.vocab import INDICATORS
from dashboard.auth import write_users
from metrics.rollup import read_kind, read_rollup
from sgs.cli import app
from tests.dashboard_city import app as app_test, run

PROVINCES = {"省甲": (11, 12), "省乙": (14,)}  # three cities: a CI of 2 cores crawls each
PERIOD = "2026Q3"
AS_OF = "2026-10-10"
USERS = [("nation-leader", "leader", None), ("c14-office", "assessor", "city14")]


@pytest.fixture(scope="module")
def nation(tmp_path_factory):
    from democity import DemoServer, build, write_city

    root = tmp_path_factory.mktemp("nation")
    with ExitStack() as stack:
        for province, seeds in PROVINCES.items():
            for seed in seeds:
                city = build(seed)
                write_city(city, stack.enter_context(DemoServer(city)).base_url, root / "全国" / province / f"city{seed}")
        ran = CliRunner().invoke(app, ["run", "--cities", str(root / "全国"), "--out", str(root / "run-store"),
                                       "--as-of", AS_OF])
    outputs = []
    for period in ("2026Q2", PERIOD):
        scored = CliRunner().invoke(app, ["score", "--cities", str(root / "全国"), "--out", str(root / "store"),
                                          "--period", period])
        assert scored.exit_code == 0, scored.output
        outputs.append(scored.output)
    write_users(root / "dashboard" / "users.toml", [{"username": u, "name": u, "role": r, "city": c, "dept_id": None,
                                                     "password": f"{u}-pw"} for u, r, c in USERS])
    return root, ran, outputs


def _province(city: str) -> str:
    return next(p for p, seeds in PROVINCES.items() if city in {f"city{s}" for s in seeds})


def _ranks(frame: pd.DataFrame, by: list[str]) -> tuple[list[int], list[int]]:
    """National and in-province ranks restated in pandas (ties share the best rank)."""
    national = frame["total"].rank(method="min", ascending=False).astype(int).tolist()
    within = frame.groupby("province")["total"].rank(method="min", ascending=False).astype(int).tolist()
    return national, within


def test_run_and_score_carry_each_citys_province(nation):
    root, ran, outputs = nation
    assert ran.exit_code == 0, ran.output
    for store in ("run-store", "store"):
        rolled = read_rollup(root / store, PERIOD)
        assert sorted(rolled.cities["city"]) == [f"city{s}" for seeds in PROVINCES.values() for s in seeds]
        assert [_province(c) for c in rolled.cities["city"]] == rolled.cities["province"].tolist()
        assert [_province(c) for c in rolled.counties["city"]] == rolled.counties["province"].tolist()
        for city in rolled.cities["city"]:
            for kind in ("scores", "county_scores"):
                assert set(read_kind(root / store, kind, PERIOD, [city])["province"]) == {_province(city)}
    assert "全国城市排名" in ran.output and "全国城市排名" in outputs[1] and "省内排名" in outputs[1]
    assert "全国数据存储" in ran.output and "全国数据存储" in outputs[1] and "全省数据存储" not in outputs[1]


def test_cities_and_counties_ranked_nationally_and_in_their_province(nation):
    root, _, _ = nation
    rolled, before = read_rollup(root / "store", PERIOD), read_rollup(root / "store", "2026Q2")
    for now, then, keys in ((rolled.cities, before.cities, ["city"]),
                            (rolled.counties, before.counties, ["city", "county"])):
        national, within = _ranks(now, keys)
        assert now["rank"].tolist() == national
        assert now["province_rank"].tolist() == within
        assert len(set(now["province_rank"])) > 1 and now["province_rank"].tolist() != national
        prev = now[keys].merge(then[[*keys, "rank", "province_rank"]], on=keys, how="left")
        assert now["prev_rank"].tolist() == prev["rank"].tolist()
        assert now["prev_province_rank"].tolist() == prev["province_rank"].tolist()
    # a county's place in its city is the city's own county rank, whatever the province
    for city, group in rolled.counties.groupby("city"):
        own = read_kind(root / "store", "county_scores", PERIOD, [city]).set_index("county")["rank"]
        assert group["city_rank"].tolist() == [own[c] for c in group["county"]]


def test_two_provinces_may_not_share_a_city_name(tmp_path):
    for province in ("省甲", "省乙"):
        (tmp_path / province / "同名市").mkdir(parents=True)
        (tmp_path / province / "同名市" / "sgs.duckdb").write_bytes(b"")
    result = CliRunner().invoke(app, ["score", "--cities", str(tmp_path), "--out", str(tmp_path / "s"),
                                      "--period", PERIOD])
    assert result.exit_code == 2, result.output
    assert "同名市（省乙/同名市 和 省甲/同名市）" in result.output  # in folder order (乙 U+4E59 before 甲) and not (tmp_path / "s").exists()


# --- the dashboard: 全国排名 -------------------------------------------------------------------------

@pytest.fixture
def dashboard(nation, monkeypatch):
    root, _, _ = nation
    monkeypatch.setenv("SGS_DB", str(root / "dashboard" / "sgs.duckdb"))
    monkeypatch.setenv("SGS_USERS", str(root / "dashboard" / "users.toml"))
    monkeypatch.setenv("SGS_PROVINCE", str(root / "store"))
    monkeypatch.setenv("SGS_CITIES", str(root / "全国"))
    monkeypatch.delenv("SGS_OPEN_DEMO", raising=False)
    return root / "store"


def login(username: str):
    at = app_test()
    run(at)
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(f"{username}-pw")
    at.button[0].click()
    return run(at)


def test_leader_sees_the_nation_and_one_province(dashboard):
    from dashboard.queries import province

    at = login("nation-leader")
    assert at.title[0].value == "全国排名" and province.title() == "全国排名"
    rolled = read_rollup(dashboard, PERIOD).cities
    shown = at.get_by_key("province_cities").dataframe[0].value
    assert list(shown.columns[:4]) == ["全国排名", "省内排名", "城市", "省份"]
    assert [(int(r["全国排名"]), int(r["省内排名"]), r["城市"], r["省份"], r["总分"]) for r in shown.to_dict("records")] == \
           [(r["rank"], r["province_rank"], r["city"], r["province"], r["total"]) for r in rolled.to_dict("records")]
    at.selectbox(key="province_province").set_value("省乙")
    run(at)
    shown = at.get_by_key("province_cities").dataframe[0].value
    ours = rolled[rolled["province"] == "省乙"].sort_values(["province_rank", "city"])
    assert shown["城市"].tolist() == ours["city"].tolist() and shown["省内排名"].tolist() == ours["province_rank"].tolist()
    # a finding of a city in 省乙 opens from that city's own folder (全国/省乙/city…)
    at.selectbox(key="province_city").set_value(ours["city"].iloc[0])
    run(at)
    counties = at.get_by_key("province_counties").dataframe[0].value
    assert {"全国排名", "省内排名", "市内排名"} <= set(counties.columns)
    findings = read_kind(dashboard, "findings", PERIOD, [ours["city"].iloc[0]])
    at.selectbox(key="province_dept").set_value(findings.dropna(subset=["fetch_id"])["dept_id"].value_counts().index[0])
    run(at)
    listed = at.get_by_key("province_findings").dataframe[0].value
    at.selectbox(key="province_finding").set_value(listed.dropna(subset=["存档"])["问题编号"].iloc[0])
    run(at)
    assert at.get_by_key("archived_text").code[0].value.strip()
    assert not at.error


def test_city_office_sees_its_row_with_both_ranks(dashboard):
    at = login("c14-office")
    shown = at.get_by_key("province_cities").dataframe[0].value
    rolled = read_rollup(dashboard, PERIOD).cities.set_index("city")
    assert shown["城市"].tolist() == ["city14"]
    assert (int(shown["全国排名"].iloc[0]), int(shown["省内排名"].iloc[0])) == (
        rolled.loc["city14", "rank"], rolled.loc["city14", "province_rank"])
    with pytest.raises(KeyError):  # no choice of province: its city is all it sees
        at.selectbox(key="province_province")


# --- sgs run --cities … --cluster local, end to end ------------------------------------------------

def test_run_with_a_local_ray_equals_the_run_in_turn(nation, tmp_path, one_ray_at_a_time):
    """``sgs run --cities 全国 --out STORE --cluster local`` as an operator types it (a subprocess): it starts a
    Ray of its own on this machine (loopback only: ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, docs/scale.md; its
    session under a temporary folder of this test, so no other Ray on the machine is joined), runs each city
    as a Ray task and rolls up. One city of each province, served afresh: each city's figures equal the same
    city's in the run done in turn (the fixture's, same day), and both are ranked in their province."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    from core.settings import REPO_ROOT
    from democity import DemoServer, build, write_city

    if not ON_CI:  # the test extra installs Ray: on CI its absence is a failure, not a skip
        pytest.importorskip("ray", reason="Ray 未安装（pip install 'sgs[cluster]'）：--cluster 测试跳过")
    root, _, _ = nation
    chosen = {"省甲": 11, "省乙": 14}
    ray_tmp = tempfile.mkdtemp(prefix="sgsray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_TMPDIR": ray_tmp}
    env.pop("RAY_ADDRESS", None)
    try:
        with ExitStack() as stack:
            for province, seed in chosen.items():
                city = build(seed)
                write_city(city, stack.enter_context(DemoServer(city)).base_url, tmp_path / "全国" / province / f"city{seed}")
            done = subprocess.run([sys.executable, "-m", "sgs.cli", "run", "--cities", str(tmp_path / "全国"),
                                   "--out", str(tmp_path / "store"), "--cluster", "local", "--as-of", AS_OF, "--quiet"],
                                  cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert list(Path(ray_tmp).glob("ray/session_*/logs")), "the command did not start a Ray of its own"
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    ours = read_rollup(tmp_path / "store", PERIOD).cities.set_index("city")
    in_turn = read_rollup(root / "run-store", PERIOD).cities.set_index("city")
    same = ["province", "total", "grade", *INDICATORS, "n_departments", "n_records"]
    assert sorted(ours.index) == [f"city{s}" for s in chosen.values()]
    pd.testing.assert_frame_equal(ours[same].sort_index(), in_turn.loc[sorted(ours.index), same], check_dtype=False)
    assert ours["province_rank"].tolist() == [1, 1]
