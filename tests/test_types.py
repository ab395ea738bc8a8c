"""The annotations are a contract that something checks: mypy passes on the product packages.

mypy runs from this interpreter with the configuration in pyproject.toml ([tool.mypy]: strict for the
foundation, crawlers and metrics, the presentation layers relaxed), so the README's test command and CI run it
like any test. Its cache (.mypy_cache, not committed) makes a second run take a few seconds instead of ~20.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_mypy_passes() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, f"mypy found type errors (fix them; config: pyproject.toml [tool.mypy]):\n" \
                                 f"{done.stdout}{done.stderr}"


def test_mypy_checks_every_product_package() -> None:
    """A new package or top-level module is type-checked from its first commit, not forgotten."""
    project = _pyproject()
    setuptools = project["tool"]["setuptools"]
    product = {p.split(".")[0] for p in setuptools["packages"]} - {"sgs_data"}  # sgs_data: the data/ folder
    product |= {f"{m}.py" for m in setuptools["py-modules"]}
    assert product <= set(project["tool"]["mypy"]["files"])
