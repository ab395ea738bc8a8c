"""``sgs run --config city.toml``: the daily run a timer starts — crawl, score, verify, publish, digests.

One run at a time: a lock (``fcntl.flock`` on ``<database>.run.lock`` beside the database, held for the whole
run) makes a second run refuse at once with a Chinese message and exit code 1, instead of waiting on
DuckDB's lock half-way. A run killed at any point leaves the last published snapshot in place: every step
publishes only by ``core.store.publish`` (a copy, then an atomic pointer swap), the crawl resumes where it
was killed (``crawlers.crawl``: resume is the default), scoring and verification are repeatable (the
correction store is the truth of every status, applied again at each scoring), and a day's digests are
written again whole. So the next run simply completes what the killed one began (docs/operations.md).
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Optional

import typer

from core.errors import InputError, SgsError
from core.settings import Paths, resolve_paths
from sgs.common import DbOption, option_date


class RunLocked(SgsError):
    """Another ``sgs run`` (or ``sgs verify``) holds the lock: this one did nothing (exit 1)."""


def lock_path(paths: Paths) -> Path:
    return paths.root / f"{paths.db.name}.run.lock"


def run_lock(paths: Paths) -> Any:
    """Hold the city's run lock for the block, or raise RunLocked at once (``hold_lock``)."""
    return hold_lock(lock_path(paths))


@contextmanager
def hold_lock(path: Path) -> Iterator[None]:
    """Hold the lock file ``path`` for the block, or raise RunLocked at once. The lock dies with its process
    (the kernel releases a flock when the last descriptor closes), so a killed run never leaves a stale one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "未知"
            raise RunLocked(f"另一个 sgs run 正在运行（进程 {holder}，锁文件 {path}）：本次未执行。"
                            "请等它结束后再运行；定时任务会在下一次按时运行。") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def daily_run(config: Path, paths: Paths, today: date, *, quiet: bool = False,
              say: Callable[[str], None] = lambda _: None) -> list[str]:
    """The whole daily run under the lock; returns the crawl's error lines (masked). Raises SgsError when a
    source could not be crawled (after everything else was done with the data that came in)."""
    from core.cityconfig import load_city

    city = load_city(config)
    with run_lock(paths):
        summary, _ = daily_cycle(city, paths, today, quiet=quiet, say=say)
    if summary.failed_sources:
        raise SgsError(sources_failed(summary.failed_sources))
    return summary.error_lines()


def sources_failed(failed: list[str]) -> str:
    return f"{len(failed)} 个来源无法抓取：{', '.join(failed)}；其余来源的数据已评分、复核并发布。"


def daily_cycle(city: Any, paths: Paths, today: date, *, quiet: bool = False,
                say: Callable[[str], None] = lambda _: None) -> tuple[Any, list[str]]:
    """One city's day, the caller holding its run lock: crawl → score → verify → publish → digests. Returns
    the crawl's summary and the periods scored (a province's run exports those to its store)."""
    from core import store
    from crawlers.crawl import run_crawl
    from metrics.verify import pending_periods
    from sgs.scores import score_daily
    from sgs.verify import outcome_lines, verify_now

    summary = run_crawl(city, paths, quiet=quiet)
    con = store.connect(paths)
    try:
        scored = score_daily(con, paths, today, extra=pending_periods(paths), say=say)
        outcomes = verify_now(con, paths, today)
        store.publish(con, paths)
    finally:
        con.close()
    for line in outcome_lines(outcomes):
        say(line)
    send_digests(city, paths, today, [p for p in scored if "Q" in p], say)
    return summary, scored


def send_digests(city, paths: Paths, today: date, periods: list[str], say: Callable[[str], None]) -> None:
    """Write the day's digests from the published snapshot, then mail them when ``[mail]`` names a server."""
    from core import store
    from reports.digest import build_digests, mark_listed, write_digests
    from reports.mail import recipients
    from reports.mail import send_digests as send

    con = store.open_snapshot(paths)
    try:
        day = build_digests(con, paths, today, periods)
        folder = write_digests(paths, today, day.digests)
        say(f"每日摘要：{len(day.digests)} 份，在 {folder}")
        addresses = recipients(con, city.mail)
        sent = send(city.mail, day.digests, addresses)
        mark_listed(con, paths, today, periods, day.last_step)
    finally:
        con.close()
    if sent.sent:
        say(f"已发送邮件 {len(sent.sent)} 封。")
    for note in sent.notes:
        say(note)


def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="城市配置文件（TOML，见 docs/configuration.md）。"),
    db: Optional[Path] = DbOption,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="以哪一天为“今天”（YYYY-MM-DD，默认今天）。"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="只报告错误（供定时任务使用）。"),
    cities: Optional[Path] = typer.Option(None, "--cities", help="全省模式：城市文件夹（每个城市一个子文件夹，含 city.toml；全国：每个省一个子文件夹，其中每个城市一个子文件夹）；每个城市各自每日运行，再生成排名。"),
    out: Optional[str] = typer.Option(None, "--out", help="全省模式：全省数据存储（文件夹，或 s3://桶/前缀?endpoint_override=…）。"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="全省模式：在 Ray 集群上运行（地址 主机:端口，或 local）；不指定则逐个城市在本机运行。"),
) -> None:
    """每日运行：抓取 → 评分（本月、本季度）→ 整改复核 → 发布 → 每日摘要（写入文件；配置了邮件服务器时发送邮件）。
    同一时间只能运行一个；中断后再次运行即续做。--cities：全省每个城市各做一遍，再汇总全省排名。"""
    today = option_date(as_of, "--as-of") or date.today()
    say: Callable[[str], None] = (lambda _: None) if quiet else (lambda m: typer.echo(m, err=True))
    if cities is not None or out is not None or cluster is not None:
        from sgs.province import daily_cities

        daily_cities(cities, out, cluster, today, quiet=quiet, single_only={"--config": config, "--db": db})
        return
    if config is None:
        raise InputError("请用 --config 指定城市配置文件（全省模式用 --cities 城市文件夹 --out 存储）。")
    for message in daily_run(config, resolve_paths(db), today, quiet=quiet, say=say):
        typer.echo(f"  {message}", err=True)
