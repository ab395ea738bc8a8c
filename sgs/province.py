"""``sgs crawl --config 城市文件夹/`` and ``sgs score --cities 城市文件夹/ --out 存储``: a province's cities, one task
each, on Ray (``--cluster``) or in turn on this machine; then the province's ranking (``metrics.rollup``).

The work itself is in ``sgs/cluster.py``; here are the commands' checks and what they print."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from core.errors import InputError, SgsError


def _refuse(single_only: dict[str, Any], mode: str) -> None:
    given = [name for name, value in single_only.items() if value]
    if given:
        raise InputError(f"{'、'.join(given)} 只用于单个城市，不能与{mode}同时使用：全省模式下每个城市的数据库在其子文件夹中。")


def crawl_cities(config: Path, cluster: str | None, *, fresh: bool, quiet: bool, single_only: dict[str, Any]) -> None:
    """Crawl every city under ``config`` (a folder); one line per city, failures named together."""
    from sgs.cluster import crawl_province

    if not config.is_dir():
        raise InputError(f"--cluster 需要城市文件夹（每个城市一个子文件夹，含 city.toml），而 {config} 不是文件夹。")
    _refuse(single_only, "城市文件夹")
    reports = crawl_province(config, cluster=cluster, fresh=fresh)
    failed = []
    for r in reports:
        if not quiet:
            typer.echo(f"{r['city']}：{r['records']} 条记录，用时 {r['wall_seconds']:.1f} 秒")
        for message in r["errors"]:
            typer.echo(f"  {r['city']}：{message}", err=True)
        failed += [f"{r['city']}/{s}" for s in r["failed"]]
    if failed:
        raise SgsError(f"{len(failed)} 个来源无法抓取：{', '.join(failed)}；其余来源的数据已保存。")


def score_cities(cities: Path | None, out: str | None, cluster: str | None, period: str, *, scheme: Path | None,
                 as_json: bool, single_only: dict[str, Any]) -> None:
    """Score every city under ``cities``, write the store ``out``, print the province's city ranking."""
    from sgs.cluster import score_province

    if cities is None or out is None:
        raise InputError("全省评分需要同时指定 --cities（城市文件夹）和 --out（全省数据存储）。")
    _refuse(single_only, " --cities")
    reports, rollups = score_province(cities, [period], out, cluster=cluster, scheme=scheme)
    result = rollups[0]
    missing = sorted(r["city"] for r in reports if r["scored"].get(result.period) is None)
    if as_json:
        typer.echo(json.dumps({"period": result.period, "cities": result.cities.to_dict("records"),
                               "counties": result.counties.to_dict("records"), "not_scored": missing},
                              ensure_ascii=False, indent=2, default=str))
        return
    print_rollup(result)
    if missing:
        typer.echo(f"没有该期间记录、未评分的城市：{'、'.join(missing)}", err=True)
    level = result.level
    typer.echo(f"{level}数据存储：{out.split('?')[0]}（cities/ 各城市的得分、问题清单和记录，rollup/ {level}排名）")


def print_rollup(result: Any) -> None:
    """The province's city ranking as a table (rich: Chinese headers aligned, as ``sgs score`` prints)."""
    import typer
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from core.vocab import INDICATORS
    from metrics.rollup import NATION
    from sgs.scores import WIDE

    frame = result.cities
    nation = result.level == NATION
    typer.echo(f"{result.period}  {result.level}城市排名（各城市参加排名部门得分的平均）")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    heads = ("全国排名", "省内排名", "省份", "城市") if nation else ("排名", "城市")
    for head in (*heads, "总分", "等级", *INDICATORS.values(), "部门", "记录", "较上期"):
        table.add_column(head, justify="left" if head in ("省份", "城市", "等级") else "right", no_wrap=True)
    for r in frame.to_dict("records"):
        subs = ["—" if r[i] != r[i] or r[i] is None else f"{r[i]:.2f}" for i in INDICATORS]
        prev = r.get("prev_total")
        change = "—" if prev is None or prev != prev else f"{r['total'] - prev:+.2f}"
        names = (str(r["rank"]), str(r["province_rank"]), str(r["province"]), r["city"]) if nation else (
            str(r["rank"]), r["city"])
        table.add_row(*names, f"{r['total']:.2f}", r["grade"], *subs, str(r["n_departments"]), str(r["n_records"]),
                      change)
    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = WIDE
    console.print(table)


def daily_cities(cities: Path | None, out: str | None, cluster: str | None, today: Any, *, quiet: bool,
               single_only: dict[str, Any]) -> None:
    """``sgs run --cities 城市文件夹 --out 存储``: every city's daily run under the province's lock (a second
    province run refuses at once; a killed one is simply run again: each city resumes), then the roll-up.
    One line per city; a city that failed is named with why, the others are done and ranked; exit 1 then."""
    from metrics.rollup import PROVINCE
    from sgs.cluster import run_province
    from sgs.run import hold_lock

    if cities is None or out is None:
        raise InputError("全省每日运行需要同时指定 --cities（城市文件夹）和 --out（全省数据存储）。")
    _refuse(single_only, " --cities")
    if not cities.is_dir():
        raise InputError(f"{cities} 不是文件夹：全省模式需要一个文件夹，其中每个城市一个子文件夹（含 city.toml）。")
    with hold_lock(cities / ".province.run.lock"):
        reports, rollups, skipped = run_province(cities, out, today, cluster=cluster)
    bad = []
    for r in reports:
        if r["error"]:
            bad.append(f"{r['city']}：{r['error']}")
            continue
        if r["failed"]:
            named = "、".join(r["failed"][:5]) + ("等" if len(r["failed"]) > 5 else "")
            rest = "其余来源的数据已评分、发布并汇总" if r["scored"] else "没有可评分的记录，本市未参加汇总"
            bad.append(f"{r['city']}：{len(r['failed'])} 个来源无法抓取（{named}），{rest}；请检查这些网站能否访问")
        if not quiet:
            scored = "、".join(r["scored"]) or "无（没有决定日期在这些期间的记录）"
            typer.echo(f"{r['city']}：本次抓取 {r.get('records', 0)} 条记录，评分 {scored}，用时 {r['wall_seconds']:.1f} 秒")
    for result in rollups:
        if not quiet:
            print_rollup(result)
    for line in skipped:
        typer.echo(f"未能汇总 {line}", err=True)
    if not quiet:
        typer.echo(f"{rollups[-1].level if rollups else PROVINCE}数据存储：{out.split('?')[0]}")
    if bad or skipped:
        raise SgsError(f"{len(bad)} 个城市未能全部完成（其余城市已完成并汇总）：\n" + "\n".join(bad)
                       if bad else "部分期间未能汇总（见上）。")


def report_province(store: str, period: str, out: Path | None, report_date: Any, pdf: bool, *,
                    single_only: dict[str, Any]) -> None:
    """``sgs report --province STORE``: the province's report from its roll-up, as .docx (and PDF with ``--pdf``)."""
    from datetime import date

    from reports import brief
    from reports.province import build, load, title

    given = [name for name, value in single_only.items() if value]
    if given:
        raise InputError(f"{'、'.join(given)} 只用于单个城市的报告，不能与 --province 同时使用：全省报告只读全省数据存储的汇总排名。")
    roll, before = load(store, period)
    name = title(roll)
    target = out or Path(".")  # --out 报告.docx, or a folder it is written in
    if target.suffix.lower() != ".docx":
        target = target / f"{name}.docx"
    docx = build(roll, before, report_date or date.today())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(docx)
    typer.echo(f"{name}：{target}")
    if pdf:
        target.with_suffix(".pdf").write_bytes(brief.to_pdf(docx, "report"))
        typer.echo(f"PDF 版：{target.with_suffix('.pdf')}")
