"""``sgs verify``: the re-crawl verification on its own (``sgs run`` does it after every daily crawl).

It rescores the periods of the findings reported fixed (so the findings reflect the latest crawl), judges
each on the evidence newer than its report (``metrics.verify``), gives the decided findings their new status
and publishes. One line per finding, Chinese, masked: decided ones and the ones still waiting, with why.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Optional

import duckdb
import typer

from core.privacy import mask_text
from core.settings import Paths, resolve_paths
from sgs.common import DbOption, option_date, require_db

ACTION_WORDS = {"verified": "复核通过，已关闭", "verify_failed": "复核未通过，重新打开", None: "等待复核"}


def verify_now(con: duckdb.DuckDBPyConnection, paths: Paths, today: date) -> list:
    """Verify on the open working database and give the decided findings their status (no publish)."""
    from metrics.verify import apply_outcomes, verify

    outcomes = verify(con, paths, as_of=today)
    apply_outcomes(con, outcomes)
    return outcomes


def outcome_lines(outcomes: Sequence) -> list[str]:
    """One masked line per outcome, decided ones first, and a count."""
    lines = [mask_text(f"{ACTION_WORDS[o.action]}：{o.dept_id} {o.rule_id} 问题 {o.finding_id[:8]} — {o.reason}")
             for o in outcomes]
    decided = sum(1 for o in outcomes if o.action)
    return [*lines, f"整改复核：{decided} 个已判定，{len(outcomes) - decided} 个等待新的抓取。"]


def verify_command(
    db: Optional[Path] = DbOption,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="复核日期（YYYY-MM-DD，默认今天），写入复核说明。"),
) -> None:
    """整改复核：对各部门报告已整改的问题，按最近一次抓取的新证据判定通过（关闭）或未通过（重新打开），并发布。"""
    from core import store
    from metrics.verify import pending_periods
    from sgs.run import run_lock
    from sgs.scores import score_labels

    paths = resolve_paths(db)
    require_db(paths)
    today = option_date(as_of, "--as-of") or date.today()
    say: Callable[[str], None] = lambda m: typer.echo(m, err=True)
    with run_lock(paths):
        con = store.connect(paths)
        try:
            score_labels(con, paths, pending_periods(paths), today, say)
            outcomes = verify_now(con, paths, today)
            store.publish(con, paths)
        finally:
            con.close()
    for line in outcome_lines(outcomes):
        typer.echo(line)
