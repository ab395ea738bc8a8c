"""``sgs crawl`` on the command line: the summary, ``--quiet`` for cron, ``--daily`` (值班读网)."""
from __future__ import annotations

from datetime import date

import duckdb
from typer.testing import CliRunner

from democity import write_city
from sgs.cli import app, daily_periods

runner = CliRunner()


def test_daily_periods_are_this_and_last_month_and_quarter():
    assert daily_periods(date(2026, 10, 15)) == ["2026-10", "2026Q4", "2026-09", "2026Q3"]
    assert daily_periods(date(2026, 1, 5)) == ["2026-01", "2026Q1", "2025-12", "2025Q4"]


def test_daily_crawl_scores_the_periods_with_records(demo_server, tmp_path):
    city, server = demo_server
    config = write_city(city, server.base_url, tmp_path)
    db = tmp_path / "sgs.duckdb"
    result = runner.invoke(app, ["crawl", "--config", str(config), "--db", str(db), "--daily",
                                 "--as-of", "2026-10-15"])
    assert result.exit_code == 0, result.output
    assert "完成" in result.stderr and "条记录" in result.stderr  # the summary line
    assert "本次抓取是它们的基线" in result.stdout and "未能核验" in result.stdout  # a city's first crawl says so
    assert "2026Q4：没有决定日期在该期间的记录" in result.stderr and "2026Q3：已为 16 个部门评分" in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    periods = {r[0] for r in con.execute("SELECT DISTINCT period FROM scores").fetchall()}
    con.close()
    assert periods == {"2026-09", "2026Q3"}  # the demo's decisions end in September


def test_quiet_crawl_prints_only_the_problems(demo_server, tmp_path):
    city, server = demo_server
    config = write_city(city, server.base_url, tmp_path)
    result = runner.invoke(app, ["crawl", "--quiet", "--config", str(config), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    from democity.shapes import BROKEN

    assert len(lines) == len(BROKEN)  # one line per availability problem of the demo
    assert all(server.base_url in line for line in lines)


def test_bad_as_of_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[city]\nname = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["crawl", "--config", str(cfg), "--db", str(tmp_path / "s.duckdb"), "--daily",
                                 "--as-of", "昨天"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.stderr
