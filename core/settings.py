"""Where sgs keeps its files, decided once.

Two kinds of files. The data sgs ships (field registry, schemes, policy, calendars: the repository's
``data/`` folder) is read from the source checkout when sgs runs from one (tests, ``pip install -e .``), and
otherwise through ``importlib.resources`` from the package ``sgs_data``, which is that same folder installed
as package data (pyproject.toml maps ``sgs_data`` to ``data/``), so ``pip install .`` works from any directory.

A deployment's own files live beside the working database: the WARC archive, the published read-only
snapshots and (for the demo) the generated city. Moving the database (``--db`` or ``SGS_DB``) moves them all,
so one path is the whole configuration of a deployment's storage. Its default is ``data/sgs.duckdb`` of the
checkout when running from one (as always), else ``sgs.duckdb`` in the user's data directory
(``$XDG_DATA_HOME/sgs``, by default ``~/.local/share/sgs``; ``%LOCALAPPDATA%\\sgs`` on Windows) — never inside
the installed package.
"""
from __future__ import annotations

import atexit
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # the source checkout (for an installed sgs: site-packages)
_CHECKOUT_DATA = REPO_ROOT / "data"
FROM_CHECKOUT = (_CHECKOUT_DATA / "standard").is_dir()  # an installed sgs has no data/ beside its packages
_RESOURCES = ExitStack()  # keeps an extracted copy alive for the process (only if the package were zipped)
atexit.register(_RESOURCES.close)


def _shipped_data() -> Path:
    """The folder of shipped data files: the checkout's ``data/``, else the installed ``sgs_data``."""
    if FROM_CHECKOUT:
        return _CHECKOUT_DATA
    return Path(_RESOURCES.enter_context(resources.as_file(resources.files("sgs_data"))))


def _user_data_dir() -> Path:
    """Where an installed sgs keeps its working files by default (the platform's per-user data folder)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "sgs"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "sgs"


DATA_DIR = _shipped_data()
STANDARD_DIR = DATA_DIR / "standard"
SCHEMES_DIR = DATA_DIR / "schemes"
CALENDARS_DIR = DATA_DIR / "calendars"
POLICY_DIR = DATA_DIR / "policy"
WORK_DIR = _CHECKOUT_DATA if FROM_CHECKOUT else _user_data_dir()  # the default home of working databases
USER_AGENT = "sgs-monitor/0.1 (shuang-gongshi disclosure monitor run by a local credit office)"
MEMORY_LIMIT = "2.5GB"  # DuckDB's budget for a scoring: the whole process then peaks under 3 GiB at 10 M (bench-score.md)


def memory_limit() -> str:
    """DuckDB's ``memory_limit`` for a scoring: ``SGS_MEMORY_LIMIT`` (e.g. ``3GB``, ``800MB``), else 2.5 GB.

    Why a budget at all: without one DuckDB may take 80 % of the machine's memory, and a plain ``sgs score``
    of a province's 10 M records held 12 GB, most of it buffers it could have spilled (docs/bench-score.md).
    A value DuckDB cannot read stops the scoring with a Chinese message naming the variable (metrics.budget)."""
    return os.environ.get("SGS_MEMORY_LIMIT", "").strip() or MEMORY_LIMIT


def calendar_dirs() -> tuple[Path, ...]:
    """The deployment's own holiday-schedule folders: ``SGS_CALENDARS`` (folders joined by ``os.pathsep``).

    Why a setting and not only ``sgs score --calendar``: a deadline is counted in scoring, on 部门自查, in the
    notices and the objection replies alike, and a schedule the office drops in when the State Council
    publishes next year's must reach all of them, not the one command that was given the option."""
    raw = os.environ.get("SGS_CALENDARS", "")
    return tuple(Path(part) for part in raw.split(os.pathsep) if part.strip())


@dataclass(frozen=True)
class Paths:
    """The files of one deployment, all derived from the working database's path."""

    db: Path

    @property
    def root(self) -> Path:
        return self.db.parent

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def published(self) -> Path:
        return self.root / "published"


def resolve_paths(db: str | Path | None = None) -> Paths:
    """Pick the database from the option, else ``SGS_DB``, else ``sgs.duckdb`` in ``WORK_DIR``."""
    chosen = db or os.environ.get("SGS_DB") or WORK_DIR / "sgs.duckdb"
    return Paths(Path(chosen).expanduser().resolve())
