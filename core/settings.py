"""Where sgs keeps its files, decided once.

Everything lives beside the working database: the WARC archive, the published read-only snapshots
and (for the demo) the generated city. Moving the database (``--db`` or ``SGS_DB``) moves them all,
so one path is the whole configuration of a deployment's storage.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
STANDARD_DIR = DATA_DIR / "standard"
SCHEMES_DIR = DATA_DIR / "schemes"
CALENDARS_DIR = DATA_DIR / "calendars"
USER_AGENT = "sgs-monitor/0.1 (shuang-gongshi disclosure monitor run by a local credit office)"


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
    """Pick the database from the option, else ``SGS_DB``, else ``data/sgs.duckdb``."""
    chosen = db or os.environ.get("SGS_DB") or DATA_DIR / "sgs.duckdb"
    return Paths(Path(chosen).expanduser().resolve())
