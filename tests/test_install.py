"""`pip install .` (not only `-e`) gives a working `sgs` from any directory.

A wheel is built from the checkout and installed into a fresh virtual environment whose dependencies come from
the test's own environment (a ``.pth`` line, so no network and no second copy of streamlit). The installed
`sgs` then runs from an empty folder, away from the checkout and without ``PYTHONPATH``: its data files
(field registry, scheme, policy, migrations) must come from the installed package, the dashboard entry
must be found beside the installed ``dashboard/``, and the default database must not be inside the package.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from core import standard
from core.settings import REPO_ROOT

PROBE = """
import json, sys
from datetime import date
import core.settings as s
from core.store import migrations
from core.workdays import default_calendar
from metrics.checks._policy import load_policy
from metrics.scheme import load_scheme
from sgs.serve import _dashboard_script
print(json.dumps({
    "data": str(s.DATA_DIR), "from_checkout": s.FROM_CHECKOUT, "db": str(s.resolve_paths().db),
    "prefix": sys.prefix, "migrations": len(migrations()), "serious": len(load_policy().serious_categories),
    "scheme": load_scheme().version, "workday": default_calendar().is_workday(date(2026, 10, 8)),
    "dashboard": _dashboard_script(),
}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel of this checkout installed in it; returns its ``bin`` folder."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # built from a copy: an in-tree build would leave build/ in the checkout
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "tests", "bench", "demo", "archive", "published",
        "*.duckdb", "*.duckdb.wal"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                            "-w", str(tmp / "wheel")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(next((tmp / "wheel").glob("sgs-*.whl")))],
                          capture_output=True, text=True, env=_clean_env())
    assert inst.returncode == 0, inst.stderr
    # then the dependencies: this environment's site-packages, after the new one's (its own sgs wins)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True, env=_clean_env()).stdout.strip()
    (Path(purelib) / "_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", "utf-8")
    return env_dir / "bin"


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would point the installed sgs back at the checkout or its database."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SGS_DB", "SGS_USERS")}
    return {**env, **extra}


def _run(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_clean_env(XDG_DATA_HOME=str(cwd / "xdg")), capture_output=True,
                          text=True, timeout=120)


def test_installed_sgs_reads_its_data_from_the_package(installed: Path, tmp_path: Path) -> None:
    proc = _run(installed, [str(installed / "python"), "-c", PROBE], tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    prefix = Path(got["prefix"])
    assert not got["from_checkout"]
    assert Path(got["data"]).is_relative_to(prefix) and Path(got["data"]).name == "sgs_data"
    assert got["migrations"] >= 1 and got["serious"] >= 1 and got["scheme"] and got["workday"] is True
    dashboard = Path(got["dashboard"])
    assert dashboard.is_relative_to(prefix) and (dashboard.parent / "dashboard" / "views" / "overview.py").is_file()
    # the default database: the user's data folder, never inside the installed package
    assert Path(got["db"]) == tmp_path / "xdg" / "sgs" / "sgs.duckdb"


def test_installed_sgs_runs_from_any_directory(installed: Path, tmp_path: Path) -> None:
    sgs = str(installed / "sgs")
    assert _run(installed, [sgs, "--help"], tmp_path).returncode == 0
    fields = [f.code for f in standard.load("cf").fields]
    with (tmp_path / "cf.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([fields, ["x"] * len(fields)])
    proc = _run(installed, [sgs, "validate", "cf.csv", "--kind", "cf", "--format", "json"], tmp_path)
    assert proc.returncode == 1, proc.stderr  # problems found, judged with the installed registry
    rules = {s["rule"] for s in json.loads(proc.stdout)["summary"]}
    assert {"enum_invalid", "credit_code_invalid"} <= rules


def test_every_package_in_the_tree_is_installed() -> None:
    """A new subpackage missing from pyproject.toml would work from the checkout and break an installed sgs."""
    setup = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    listed = set(setup["packages"])
    product = [p for p in REPO_ROOT.iterdir() if p.name not in ("tests", "bench", "data", "build") and
               (p / "__init__.py").is_file()]
    on_disk = {".".join(i.parent.relative_to(REPO_ROOT).parts) for p in product for i in p.glob("**/__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert setup["package-dir"]["sgs_data"] == "data"
