"""The ``sgs`` command: wires the pipeline steps together and turns their errors into clear messages.

Each command is thin: it resolves paths once (``--db`` / ``SGS_DB``) and calls one step. A step's error derives
from ``core.errors.SgsError`` and carries its exit code (1 = the run failed, 2 = the input was wrong);
``sgs.common.SgsCommands`` turns it into the Chinese message and the code, once for every command. ``serve`` and
``demo`` live in ``sgs/serve.py`` and ``sgs/demo.py``, the scoring and its table in ``sgs/scores.py``.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from core.errors import InputError, SgsError
from core.settings import resolve_paths
from sgs.common import DbOption, SgsCommands, option_date, require_db
from sgs.catalogue import catalogue_app, departments_app, inspection_app
from sgs.demo import demo
from sgs.objections import register as register_objections
from sgs.issue import issue
from sgs.scores import daily_periods, daily_scores, print_scores, score_periods  # noqa: F401 (daily_periods: re-exported)
from sgs.run import run
from sgs.serve import serve
from sgs.verify import verify_command

ClusterOption = typer.Option(None, "--cluster", help="在 Ray 集群上运行（地址 主机:端口，或 local 在本机启动）；需 pip install 'sgs[cluster]'，且须与城市文件夹一起使用。")

app = typer.Typer(add_completion=False, no_args_is_help=True, cls=SgsCommands,
                  help="sgs：双公示监测与评估（抓取、评分、看板）。")


@app.command()
def crawl(
    config: Path = typer.Option(..., "--config", "-c", help="城市配置文件（TOML，见 docs/configuration.md）；或全省的城市文件夹（每个城市一个子文件夹，含 city.toml，数据库等存在该子文件夹中；全国：每个省一个子文件夹，其中每个城市一个子文件夹）。"),
    db: Optional[Path] = DbOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度条和过程信息，只报告错误（供 cron 使用）。"),
    daily: bool = typer.Option(False, "--daily", help="值班读网：抓取后为本月、本季度及上月、上季度评分并发布（见 docs/crawling.md）。"),
    fresh: bool = typer.Option(False, "--fresh", help="不续抓上次中断的抓取，从头开始。"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="--daily 以哪一天为“今天”（YYYY-MM-DD，默认今天）。"),
    reextract: Optional[str] = typer.Option(None, "--reextract", help="不联网：按存档重新提取某次抓取（抓取编号）。"),
    source: Optional[list[str]] = typer.Option(None, "--source", help="只抓取这个来源（可重复；如信用网站每天抓、部门网站每周抓）。"),
    cluster: Optional[str] = ClusterOption,
) -> None:
    """抓取配置中的各部门双公示专栏和信用网站，存档并入库（中断后再次运行即续抓）。"""
    from core.cityconfig import load_city
    from crawlers.crawl import run_crawl

    if config.is_dir() or cluster:
        from sgs.province import crawl_cities
        crawl_cities(config, cluster, fresh=fresh, quiet=quiet,
                     single_only={"--db": db, "--daily": daily, "--as-of": as_of, "--reextract": reextract,
                                  "--source": source})
        return
    today = option_date(as_of, "--as-of") or date.today()
    city = load_city(config)
    paths = resolve_paths(db)
    summary = run_crawl(city, paths, quiet=quiet, resume=not fresh, reextract=reextract, only=source or None)
    for message in summary.error_lines():  # masked: cron mails this
        typer.echo(f"  {message}", err=True)
    if not quiet and (note := summary.baseline_message()):  # once per column: it explains every 未能核验
        typer.echo(note)
    if daily:
        daily_scores(paths, today, quiet)
    if summary.failed_sources:
        raise SgsError(f"{len(summary.failed_sources)} 个来源无法抓取：{summary.failed_names()}；"
                       "其余来源的数据已保存。")


@app.command()
def score(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07。"),
    db: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出本期得分。"),
    scheme: Optional[Path] = typer.Option(None, "--scheme", help="评分方案文件（TOML；默认按期间年度取 data/schemes/<年>.toml）。"),
    calendar: list[Path] = typer.Option([], "--calendar", help="额外的节假日安排文件夹（可多次指定）。"),
    cluster: Optional[str] = ClusterOption,
    cities: Optional[Path] = typer.Option(None, "--cities", help="全省模式：城市文件夹（每个城市一个子文件夹，含 sgs.duckdb；全国：每个省一个子文件夹，其中每个城市一个子文件夹）；逐个城市评分后生成城市和县区排名（全国：另有省内排名）。"),
    out: Optional[str] = typer.Option(None, "--out", "-o", help="全省模式：全省数据存储（本地文件夹，或 s3://桶/前缀?endpoint_override=主机:端口），按城市/类别/期间写 Parquet。"),
    full: bool = typer.Option(False, "--full", help="完整重算所有部门（默认只重算输入有变化的部门，结果相同）。"),
) -> None:
    """按评分方案计算一个期间的问题清单、得分、等级和排名（--cities：全省各城市评分并汇总排名）。"""
    if cities is not None or cluster or out:
        from sgs.province import score_cities
        score_cities(cities, out, cluster, period, scheme=scheme, as_json=as_json,
                     single_only={"--db": db, "--calendar": calendar})
        return
    rows = score_periods(resolve_paths(db), [period], scheme, tuple(calendar), full=full)[0]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        print_scores(rows)


@app.command()
def explain(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07。"),
    dept: str = typer.Option(..., "--dept", "-d", help="部门编号（dept_id）。"),
    db: Optional[Path] = DbOption,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。"),
) -> None:
    """说明一个部门在某期间的得分：逐项扣分及其背后的每条问题（读取最新发布的数据）。"""
    from core import store
    from core.periods import parse_period
    from core.privacy import mask_text
    from metrics.explain import explain as explain_score
    from metrics.explain import format_text

    label = parse_period(period).label
    con = store.open_snapshot(resolve_paths(db))
    try:
        result = explain_score(con, label, dept)
    finally:
        con.close()
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str) if as_json else format_text(result)
    typer.echo(mask_text(text))  # page URLs may name a subject's ID or mobile number


@app.command()
def validate(
    file: Path = typer.Argument(..., help="部门自己的 CSV 或 XLSX 文件（国家标准模板的列，中文表头或字段代码）。"),
    kind: str = typer.Option(..., "--kind", "-k", help="xk（行政许可）或 cf（行政处罚）。"),
    output: str = typer.Option("text", "--format", "-f", help="text（未识别的列、问题汇总，再每行一个问题）或 json（同样内容）。"),
) -> None:
    """公示前自查：用评分所用的同一套规则检查部门的数据文件；先列出未识别的列和按字段的问题汇总，再逐行列出问题。
    有问题退出码 1，无法读取退出码 2。"""
    from metrics.validate import check_file, text_lines

    if output not in ("text", "json"):
        raise InputError(f"未知的输出格式 {output!r}：应为 text 或 json。")
    report = check_file(file, kind)
    problems = report.problems
    if output == "json":
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        if lines := text_lines(report):  # one write: an echo per line cost 25 ms for 8,000 problems
            typer.echo("\n".join(lines))
        rows = len({(p.sheet, p.row) for p in problems})
        typer.echo(f"{file}：发现 {len(problems)} 个问题（涉及 {rows} 行）。" if problems else f"{file}：未发现问题。",
                   err=True)
    if problems:
        raise typer.Exit(1)


@app.command()
def report(
    period: str = typer.Option(..., "--period", "-p", help="评估期间：季度 2026Q3 或月份 2026-07（须已评分）。"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="输出文件夹（不存在则创建）；与 --province 一起时：以 .docx 结尾为报告文件，否则为存放报告的文件夹（默认当前文件夹）。"),
    province: Optional[str] = typer.Option(None, "--province", help="全省（或全国）数据存储（文件夹或 s3://…）：按其汇总排名生成全省评估报告（Word），不读城市数据库。"),
    db: Optional[Path] = DbOption,
    on: Optional[str] = typer.Option(None, "--date", help="报告日期（YYYY-MM-DD，默认今天）：落款日期，整改期限由此起算。"),
    scheme: Optional[Path] = typer.Option(None, "--scheme", help="取 [report] 设置的评分方案文件（默认按期间年度）。"),
    version: Optional[int] = typer.Option(None, "--version", help="生成已签发的第几版（sgs issue）；不指定则按最新评分结果生成（已签发过的期间注明“修订稿，未签发”）。"),
    pdf: bool = typer.Option(False, "--pdf", help="另存一份 PDF 版简报（需要 LibreOffice）。"),
) -> None:
    """生成评估报告（Word）、评估工作簿（Excel）、各部门整改通知书（Word）和一页简报，读取最新发布的数据或已签发的版本；
    --province：由全省数据存储的汇总排名生成全省（全国）评估报告。"""
    from core import store
    from core.periods import parse_period
    from metrics.versions import open_version
    from reports.build import write_all

    parse_period(period)
    report_date = option_date(on, "--date")
    if province is not None:
        from sgs.province import report_province

        report_province(province, period, out, report_date, pdf, single_only={"--db": db, "--scheme": scheme,
                                                                              "--version": version})
        return
    if out is None:
        raise InputError("请用 --out 指定输出文件夹。")
    if version is not None and report_date is not None:
        raise InputError("--version 生成的是已签发版本，落款日期和整改期限以该版本为准，不能同时指定 --date。")
    paths = resolve_paths(db)
    con = store.open_snapshot(paths) if version is None else open_version(paths, period, version)
    try:
        written = write_all(con, period, out, report_date=report_date, scheme_file=scheme, paths=paths, pdf=pdf)
    finally:
        con.close()
    typer.echo(f"评估报告：{written.report}\n评估工作簿：{written.workbook}\n"
               f"整改通知书：{len(written.notices)} 份，在 {written.report.parent}\n"
               f"简报：{written.brief_pdf or written.brief}")


ledger_app = typer.Typer(no_args_is_help=True, help="办件台账（服务大厅或部门导出的 CSV/XLSX）。")
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("import")
def ledger_import(
    file: Path = typer.Argument(..., help="台账文件（CSV 或 XLSX；中文表头或标准代码）。"),
    dept: str = typer.Option(..., "--dept", help="部门编号（城市配置中的 id）。"),
    kind: str = typer.Option(..., "--kind", help="xk（行政许可）或 cf（行政处罚）。"),
    db: Optional[Path] = DbOption,
) -> None:
    """导入一个部门的办件台账，用于核对未公示、已撤销仍公示等问题（同名文件重复导入则替换）。"""
    from core import store
    from metrics.ledger import import_ledger

    paths = resolve_paths(db)
    require_db(paths)
    con = store.connect(paths)  # locked by a crawl or a score: the same message and code as theirs
    try:
        result = import_ledger(con, file, dept, kind)
    finally:
        con.close()
    if not result.changed:
        typer.echo(f"{file}：与上次导入的文件相同，无变化。")
        return
    typer.echo(f"已导入 {file}：{result.rows} 条办件（部门 {dept}，{'行政许可' if kind == 'xk' else '行政处罚'}）")


app.command()(serve)
app.command()(demo)
register_objections(app)
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(departments_app, name="departments")
app.add_typer(inspection_app, name="inspection")
app.command()(issue)
app.command("verify")(verify_command)
app.command()(run)


if __name__ == "__main__":  # pragma: no cover
    app()
