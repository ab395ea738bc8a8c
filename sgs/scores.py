"""Scoring periods for ``sgs score``, ``sgs crawl --daily``, ``sgs run`` and ``sgs demo``, and the ranking table
they print. Before a period is rescored, the findings departments reported fixed are remembered
(``metrics.verify.remember``): a corrected record's finding disappears in the rescoring, and the verification
after the crawl still needs to know what it was."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import duckdb

import typer

from core.settings import Paths
from sgs.common import require_db

WIDE = 200  # columns of a table written to a file or a pipe (cron mail): never folded


def score_periods(paths: Paths, period_texts: list[str], scheme: Path | None,
                  calendars: tuple[Path, ...], full: bool = False) -> list[list[dict]]:
    """Score each period in turn on one connection, then publish one snapshot; one score list per period.
    Only the departments whose inputs changed are rescored unless ``full`` (metrics.incremental); which it
    was goes to stderr."""
    from core import store
    from core.periods import parse_period
    from core.workdays import default_calendar
    from metrics.budget import memory_budget
    from metrics.scoring import score_period
    from metrics.verify import remember

    periods = [parse_period(p) for p in period_texts]
    require_db(paths)
    con = store.connect(paths)
    try:
        calendar = default_calendar(calendars)
        with memory_budget(con):  # the scoring's budget, and the snapshot's (metrics.budget)
            remember(con, paths)
            results = []
            for p in periods:
                results.append(score_period(con, p, scheme_path=scheme, calendar=calendar, full=full))
                typer.echo(f"{p.label}：{how_scored(con, p)}", err=True)
            store.publish(con, paths)
        return results
    finally:
        con.close()


def how_scored(con: duckdb.DuckDBPyConnection, period) -> str:
    """How the period was just scored, in a clerk's words: in full and why, or which part was rescored."""
    from metrics.incremental import last_run

    run = last_run(con, period)
    if run is None:
        return "已评分"
    mode, why, n = run
    if mode == "full":
        return f"完整重算 {n} 个部门（{why}）"
    return f"增量评分：{why}，重算其记录类问题；其余部门沿用上次结果，部门层面问题和排名全部重算"


def daily_periods(today: date) -> list[str]:
    """The periods a daily run scores: this month and quarter, and the previous ones (late publications of
    last month still arrive, and a quarter's report is written in the month after it)."""
    from core.periods import parse_period

    month = parse_period(f"{today:%Y-%m}")
    quarter = parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}")
    return [p.label for p in (month, quarter, month.previous(), quarter.previous())]


def score_daily(con: duckdb.DuckDBPyConnection, paths: Paths, today: date, *, extra: Iterable[str] = (),
                say: Callable[[str], None] = lambda _: None) -> list[str]:
    """Score each daily period (and ``extra`` ones: those of findings awaiting verification) on the open
    working database; returns the periods scored."""
    return score_labels(con, paths, [*daily_periods(today), *extra], today, say)


def score_labels(con: duckdb.DuckDBPyConnection, paths: Paths, labels: Iterable[str], today: date,
                 say: Callable[[str], None] = lambda _: None) -> list[str]:
    """Score each period that has records (a period without any is noted, not an error), the reported-fixed
    findings remembered first; returns the periods scored."""
    from core.periods import parse_period
    from core.workdays import default_calendar
    from metrics.scoring import ScoringError, score_period
    from metrics.verify import remember

    remember(con, paths)
    calendar = default_calendar()
    scored = []
    for label in dict.fromkeys(labels):
        try:
            rows = score_period(con, parse_period(label), calendar=calendar, as_of=today)
        except ScoringError:
            say(f"{label}：没有决定日期在该期间的记录，未评分。")
            continue
        scored.append(label)
        say(f"{label}：已为 {len(rows)} 个部门评分（{how_scored(con, parse_period(label))}）。")
    return scored


def daily_scores(paths: Paths, today: date, quiet: bool) -> None:
    """``sgs crawl --daily``: score the daily periods and publish one snapshot."""
    from core import store

    con = store.connect(paths)
    try:
        score_daily(con, paths, today, say=(lambda _: None) if quiet else lambda m: typer.echo(m, err=True))
        store.publish(con, paths)
    finally:
        con.close()


def print_scores(rows: list[dict]) -> None:
    """The ranking as a table: rich measures Chinese characters as the two columns a terminal draws, so the
    Chinese headers line up with the figures. rich is imported here, not at the top: every command (``sgs
    validate`` above all, a clerk's check of one file) imports this module, and rich cost 0.06 s of their start-up."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from core.vocab import INDICATORS, STANDINGS

    if not rows:
        return
    typer.echo(f"{rows[0]['period']}  评分方案 {rows[0]['scheme_version']}")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for head in ("排名", "总分", "等级", *INDICATORS.values(), "记录", "未能核验", "较上期"):
        table.add_column(head, justify="left" if head == "等级" else "right", no_wrap=True)
    table.add_column("部门（县区）", no_wrap=True)
    for r in rows:
        subs = ["—" if r[i] is None else f"{r[i]:.2f}" for i in INDICATORS]
        change = "—" if r["prev_total"] is None else f"{r['total'] - r['prev_total']:+.2f}"
        note = "" if r["standing"] == "ranked" else f"  【{STANDINGS[r['standing']]}，不参加排名】"
        table.add_row("—" if r["rank"] is None else str(r["rank"]), f"{r['total']:.2f}", r["grade"] or "—", *subs,
                      str(r["n_records"]), str(r["n_unverified"]), change, f"{r['name']}（{r['county']}）{note}")
    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=False)  # names print as written
    if not console.is_terminal:
        console.width = WIDE
    console.print(table)
