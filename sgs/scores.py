"""Scoring periods for ``sgs score``, ``sgs crawl --daily`` and ``sgs demo``, and the ranking table they print."""
from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from core.settings import Paths
from sgs.common import require_db

WIDE = 200  # columns of a table written to a file or a pipe (cron mail): never folded


def score_periods(paths: Paths, period_texts: list[str], scheme: Path | None,
                  calendars: tuple[Path, ...]) -> list[list[dict]]:
    """Score each period in turn on one connection, then publish one snapshot; one score list per period."""
    from core import store
    from core.periods import parse_period
    from core.workdays import default_calendar
    from metrics.scoring import score_period

    periods = [parse_period(p) for p in period_texts]
    require_db(paths)
    con = store.connect(paths)
    try:
        calendar = default_calendar(calendars)
        results = [score_period(con, p, scheme_path=scheme, calendar=calendar) for p in periods]
        store.publish(con, paths)
        return results
    finally:
        con.close()


def print_scores(rows: list[dict]) -> None:
    """The ranking as a table: rich measures Chinese characters as the two columns a terminal draws, so the
    Chinese headers line up with the figures."""
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
