"""A scoring's memory: DuckDB's budget for the run, and each kind's rule tables dropped once its findings are in.

Why: DuckDB takes up to 80 % of the machine's memory unless told otherwise, and keeps what it read as long as
it may. A plain ``sgs score`` of a province's 10 M records held 12 GB at its peak, while the same scoring
under a 2.5 GB ``memory_limit`` finishes in about the same time (docs/bench-score.md, "Full rescore, round 5"):
most of the 12 GB was buffers DuckDB could have evicted or spilled. So a scoring runs under
``core.settings.memory_limit()`` (``SGS_MEMORY_LIMIT``, default 2.5 GB: with Python and the libraries on top,
the whole process stays under 3 GiB); beyond it DuckDB spills to its
temporary folder, which for a database file is ``<database>.tmp`` beside it (DuckDB's default, kept).

The rules' ``prepare`` steps materialise temp tables per kind (the late-publication verdicts, the portal's
文书号 and dates, the portal joins' rows: millions of rows at a province's size). Once a kind's findings are
written nothing reads them again, so they are dropped then (``kind_tables``): the licences' tables no longer
sit beside the penalties' while those are scored.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from core.errors import SgsError
from core.settings import memory_limit
from metrics.checks._sql import lit


class BudgetError(SgsError, ValueError):
    """``SGS_MEMORY_LIMIT`` is not a size DuckDB understands (said in Chinese, with the fix)."""


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    return str(con.execute(f"SELECT current_setting({lit(name)})").fetchall()[0][0])


@contextmanager
def memory_budget(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB's ``memory_limit`` at the budget inside, the connection's own after. ``sgs score`` holds it over
    the scoring *and* the publishing after it: the snapshot's copy of 10 M records took 9 GB without it.
    Raises BudgetError for an unreadable budget."""
    before, limit = _setting(con, "memory_limit"), memory_limit()
    try:
        con.execute(f"SET memory_limit = {lit(limit)}")
    except duckdb.Error as exc:
        raise BudgetError(f"环境变量 SGS_MEMORY_LIMIT 的值 {limit!r} 不是可识别的内存大小：请写成 3GB 或 800MB "
                          "这样的数字加单位，或删去该变量（默认 2.5GB）。") from exc
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = {lit(before)}")


@contextmanager
def scoring_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Score under the memory budget without insertion order; the connection's own settings come back after
    (a caller goes on to publish or serve with them), the optimizers too: metrics.incremental._planned_lightly
    turns one off for its part and cannot SET it back after a failed statement (an aborted transaction takes no
    SET until the ROLLBACK, which happens inside). Raises BudgetError for an unreadable budget."""
    ordered, optimizers = _setting(con, "preserve_insertion_order"), _setting(con, "disabled_optimizers")
    with memory_budget(con):
        # findings need no insertion order (every reader sorts): without it DuckDB writes millions of rows
        # without buffering them in order, which keeps a province's run inside the budget (docs/bench-score.md)
        con.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            con.execute(f"SET preserve_insertion_order = {ordered.lower()}; "
                        f"SET disabled_optimizers = {lit(optimizers)}")


def temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The connection's temporary tables (views aside: they hold no rows)."""
    return {str(r[0]) for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}


@contextmanager
def kind_tables(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Drop, on leaving, the temp tables made inside: a kind's rule tables once its findings are written.
    Tables that were there before (the incremental run's part, the fingerprints) stay. Not on an error:
    the transaction's rollback takes them anyway."""
    before = temp_tables(con)
    yield
    for name in sorted(temp_tables(con) - before):
        con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
