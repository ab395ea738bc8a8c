"""The command line's contracts: one error base mapped once to a Chinese message and an exit code, option dates
read by the one date parser, the ranking table aligned under its Chinese headers."""
from __future__ import annotations

import ast
import shutil
from datetime import date
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from core.cityconfig import ConfigError
from core.errors import InputError, SgsError
from core.periods import PeriodError
from core.store import StoreError
from core.workdays import CalendarError
from crawlers.fetch_process import FetchProcessDied
from dashboard.auth import UsersError
from dashboard.workbench import WorkbenchError
from metrics.checks._policy import PolicyError
from metrics.explain import ExplainError
from metrics.ledger import LedgerError
from metrics.scheme import SchemeError
from metrics.scoring import ScoringError
from metrics.validate import FileProblem
from reports.data import ReportError
from sgs.cli import app
from sgs.common import option_date

runner = CliRunner()
SGS = Path(__file__).resolve().parent.parent / "sgs"

# 2 = the input was wrong, 1 = the run failed (the codes the CLI tests assert, command by command)
CODES = {ConfigError: 2, PeriodError: 2, LedgerError: 2, FileProblem: 2, UsersError: 2, WorkbenchError: 2,
         StoreError: 1, ScoringError: 1, SchemeError: 1, CalendarError: 1, ExplainError: 1, ReportError: 1,
         PolicyError: 1, FetchProcessDied: 1}


@pytest.mark.parametrize("error", list(CODES), ids=[e.__name__ for e in CODES])
def test_every_project_error_has_the_one_base_and_its_code(error):
    assert issubclass(error, SgsError) and error.exit_code == CODES[error]
    assert issubclass(error, InputError) == (CODES[error] == 2)


def test_errors_callers_catch_as_builtins_still_are():
    for error in (ConfigError, PeriodError, LedgerError, FileProblem, SchemeError, CalendarError, ReportError):
        assert issubclass(error, ValueError), error
    assert issubclass(StoreError, RuntimeError) and issubclass(ExplainError, LookupError)


def test_the_cli_maps_errors_in_one_place():
    """No command catches a step's error itself: the only handlers in sgs/ are the group's (SgsError), the
    daily scoring's (a period without records is a note), the run lock's (a lock held elsewhere becomes
    RunLocked) and serve's (Ctrl+C)."""
    allowed = {("common.py", "SgsError"), ("scores.py", "ScoringError"), ("run.py", "BlockingIOError"),
               ("serve.py", "KeyboardInterrupt"),
               # a province: one city's error is that city's line in the summary, the other cities go on
               ("cluster.py", "SgsError"), ("cluster.py", "ScoringError"),
               # Ray's own failures (not installed, no cluster at the address, a task that died) said in Chinese
               ("cluster.py", "ImportError"), ("cluster.py", "ConnectionError"), ("cluster.py", "RuntimeError"),
               ("cluster.py", "ValueError"), ("cluster.py", "RayTaskError"),
               # sgs run --cities: a city with a broken file is skipped by the host check (its own task names
               # it), any error of one city's daily run is that city's line, a period nobody ranks is skipped
               ("cluster.py", "InputError"), ("cluster.py", "Exception"), ("cluster.py", "StoreError")}
    found = set()
    for path in SGS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler):
                names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                found |= {(path.name, ast.unparse(n).split(".")[-1]) for n in names}
    assert found == allowed


@pytest.mark.parametrize("text", ["2026-W05-1", "2026W051", "0026-01-05", "9999-12-31", "2026-02-30", "昨天"])
def test_an_implausible_as_of_is_refused(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[city]\nname = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["crawl", "--config", str(cfg), "--db", str(tmp_path / "s.duckdb"), "--daily",
                                 "--as-of", text])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "--as-of" in result.stderr and "YYYY-MM-DD" in result.stderr and repr(text) in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "s.duckdb").exists()


@pytest.mark.parametrize("text", ["2026-W05-1", "0001-01-01"])
def test_an_implausible_report_date_is_refused_before_anything_is_written(tmp_path, text):
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", "--period", "2026Q3", "--out", str(out), "--db",
                                 str(tmp_path / "none.duckdb"), "--date", text])
    assert result.exit_code == 2 and "--date" in result.stderr and "1949-10-01" in result.stderr
    assert not out.exists() and not (tmp_path / "none.duckdb").exists()


def test_option_dates_are_read_as_pages_are():
    assert option_date(None, "--as-of") is None
    assert option_date("2026-09-30", "--as-of") == date(2026, 9, 30)
    assert option_date("2026年9月30日", "--date") == date(2026, 9, 30)  # the one parser's spellings
    with pytest.raises(InputError, match="--date"):
        option_date("2026-W40-3", "--date")


def test_error_messages_are_masked(tmp_path):
    """An error may quote a path, URL or cell holding an ID number; it is masked like every other output."""
    config = tmp_path / "110101199003071234.toml"
    result = runner.invoke(app, ["crawl", "--config", str(config), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2 and "错误" in result.stderr
    assert "110101199003071234" not in result.stderr and "110101********1234" in result.stderr


def test_the_score_table_lines_up_under_chinese_headers(demo_run, tmp_path):
    db = tmp_path / "sgs.duckdb"
    shutil.copy(demo_run.paths.db, db)  # scoring publishes: leave the session's database alone
    result = runner.invoke(app, ["score", "--period", "2026Q3", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if "总分" in line)
    rows = [line for line in lines[head + 2:] if line.strip()]
    assert rows and all("（" in row for row in rows)

    def right_edges(line: str) -> list[int]:  # display column where each cell ends
        edges, col = [], 0
        for i, ch in enumerate(line):
            col += cell_len(ch)
            if ch != " " and (i + 1 == len(line) or line[i + 1] == " "):
                edges.append(col)
        return edges

    header = right_edges(lines[head])
    for row in rows:
        assert right_edges(row)[:2] == header[:2], (lines[head], row)  # 排名 and 总分, right-aligned
