"""``sgs serve``: the dashboard (Streamlit) as a child process, reading the latest published snapshot."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from core.errors import SgsError
from core.settings import Paths, resolve_paths
from sgs.common import DbOption


def serve(
    port: int = typer.Option(8501, "--port", help="看板端口。"),
    db: Optional[Path] = DbOption,
    users: Optional[Path] = typer.Option(None, "--users", help="看板用户文件（默认数据库旁的 users.toml，或环境变量 SGS_USERS）。"),
    open_demo: bool = typer.Option(False, "--open", help="开放演示模式：无需登录，以只读领导视图访问（个人信息仍遮蔽）。"),
    province: Optional[str] = typer.Option(None, "--province", help="全省数据存储（文件夹或 s3://…，sgs score --cities … --out 生成）：看板增加“全省排名”页。"),
    cities: Optional[Path] = typer.Option(None, "--cities", help="与 --province 同用：各城市的文件夹（sgs run --cities 所用的），问题详情从该城市的快照和存档读取记录字段和存档页面。"),
) -> None:
    """打开看板（Streamlit），只读最新发布的数据快照；需登录（见 docs/dashboard.md）。"""
    run_dashboard(resolve_paths(db), port, users=users, open_demo=open_demo, province=province, cities=cities)


def run_dashboard(paths: Paths, port: int, *, users: Path | None = None, open_demo: bool = False,
                  province: str | None = None, cities: Path | None = None) -> None:
    env = {**os.environ, "SGS_DB": str(paths.db)}
    if cities is not None:
        env["SGS_CITIES"] = str(cities.expanduser().resolve())
    if province is not None:  # a folder made absolute (the child's working directory may differ), or a URL
        env["SGS_PROVINCE"] = province if "://" in province else str(Path(province).expanduser().resolve())
    if users is not None:
        env["SGS_USERS"] = str(users.expanduser().resolve())
    if open_demo:
        env["SGS_OPEN_DEMO"] = "1"
    # streamlit_server.py wraps streamlit_app.py with dashboard.server's guard (download links die with
    # their session; no /_stcore/metrics).
    cmd = [sys.executable, "-m", "streamlit", "run", _dashboard_script(),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.runOnSave", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal", "--client.showErrorDetails", "none",
           "--client.showErrorLinks", "false", "--server.maxUploadSize", "10"]  # as .streamlit/config.toml
    typer.echo(f"看板地址：http://127.0.0.1:{port}  （Ctrl+C 退出）" + ("  开放演示模式：无需登录" if open_demo else ""))
    # Streamlit runs as a child; a SIGTERM to sgs (a service manager, a test) is passed on, so stopping
    # `sgs serve` never leaves a dashboard running without it. Ctrl+C reaches both through the terminal.
    proc = subprocess.Popen(cmd, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=15)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dashboard_script() -> str:
    """``streamlit_server.py`` (which serves ``streamlit_app.py`` beside it): the checkout's, or the installed
    top-level modules (beside ``dashboard/``)."""
    spec = importlib.util.find_spec("streamlit_server")
    if spec is None or spec.origin is None:
        raise SgsError("找不到看板入口 streamlit_server.py：请在源码目录运行，或重新安装 sgs（pipx install .）。")
    return spec.origin
