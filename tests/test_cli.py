"""The command line: every command has help, bad input gets a clear error and leaves nothing half-written."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from typer.testing import CliRunner

from sgs.cli import app

runner = CliRunner()


def _scores(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM scores ORDER BY period, dept_id").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("command", ["demo", "crawl", "score", "serve"])
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.stdout.strip()) > 40


@pytest.mark.parametrize("period", ["2026Q5", "2026-13", "third quarter"])
def test_unknown_period_is_refused_and_nothing_changes(demo_run, period):
    before = _scores(demo_run.paths.db)
    result = runner.invoke(app, ["score", "--period", period, "--db", str(demo_run.paths.db)])
    assert result.exit_code == 2
    assert "无法识别的评估期间" in result.stderr and "2026Q3" in result.stderr
    assert _scores(demo_run.paths.db) == before


def test_period_without_records_is_an_error(demo_run):
    before = _scores(demo_run.paths.db)
    result = runner.invoke(app, ["score", "--period", "2025Q1", "--db", str(demo_run.paths.db)])
    assert result.exit_code == 1
    assert "2025Q1" in result.stderr
    assert _scores(demo_run.paths.db) == before


def test_missing_database_is_explained(tmp_path):
    result = runner.invoke(app, ["score", "--period", "2026Q3", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1 and "sgs crawl" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_missing_config_file(tmp_path):
    result = runner.invoke(app, ["crawl", "--config", str(tmp_path / "nope.toml"), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2 and "nope.toml" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Broken(BaseHTTPRequestHandler):
    """A portal whose API answers with a truncated JSON body."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = b'{"success": true, "data": {"total": 3, "list": [{"entity": {"cf_wsh": '
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _config(tmp_path, demo_base: str, extra: str) -> str:
    path = tmp_path / "city.toml"
    path.write_text(f"""
[city]
name = "测试市"

[[departments]]
id = "d1"
name = "测试市某局"
county = "市本级"

[[sources]]
id = "portal-cf"
channel = "portal"
kind = "cf"
start_url = "{demo_base}/portal/api/cf?page=1&pageSize=50"
paging = {{ style = "json" }}
{extra}
""", encoding="utf-8")
    return str(path)


def test_dead_and_malformed_sources_are_named_and_the_rest_is_kept(tmp_path, demo_server, broken_portal):
    _city, server = demo_server
    dead = f"http://127.0.0.1:{_free_port()}/d/x/cf/list?page=1"
    extra = f"""
[[sources]]
id = "dead-site"
channel = "site"
kind = "cf"
dept = "d1"
start_url = "{dead}"
paging = {{ style = "query", param = "page" }}

[[sources]]
id = "broken-portal"
channel = "portal"
kind = "xk"
start_url = "{broken_portal}/api/xk?page=1&pageSize=50"
paging = {{ style = "json" }}
"""
    db = tmp_path / "sgs.duckdb"
    result = runner.invoke(app, ["crawl", "--quiet", "--config", _config(tmp_path, server.base_url, extra), "--db", str(db)])
    assert result.exit_code == 1
    assert "dead-site" in result.stderr and "broken-portal" in result.stderr
    assert dead in result.stderr and broken_portal in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    kept = con.execute("SELECT count(*) FROM cf_records WHERE channel = 'portal'").fetchone()[0]
    errors = con.execute("SELECT count(*) FROM fetches WHERE error IS NOT NULL").fetchone()[0]
    con.close()
    assert kept > 0 and errors >= 2


def test_demo_command_without_dashboard(tmp_path):
    db = tmp_path / "demo" / "sgs.duckdb"
    result = runner.invoke(app, ["demo", "--no-dashboard", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "2026Q3" in result.stdout and ("优秀" in result.stdout or "良好" in result.stdout)
    truth = json.loads((db.parent / "ground_truth.json").read_text("utf-8"))
    con = duckdb.connect(str(db), read_only=True)
    periods = {r[0] for r in con.execute("SELECT DISTINCT period FROM scores").fetchall()}
    con.close()
    assert {"2026Q2", "2026Q3", "2026-07", "2026-09"} <= periods
    assert len(truth["departments"]) >= 12
    for dept in truth["departments"]:  # every department's login is printed with its name, not only a pattern
        assert f"{dept['id']} / {dept['id']}-demo  {dept['name']}联络员" in result.stdout
    assert "leader / leader-demo  示范市领导" in result.stdout


def test_demo_refuses_to_overwrite_a_real_database(tmp_path):
    db = tmp_path / "sgs.duckdb"
    duckdb.connect(str(db)).close()
    result = runner.invoke(app, ["demo", "--no-dashboard", "--db", str(db)])
    assert result.exit_code == 2 and "不会覆盖" in result.stderr
