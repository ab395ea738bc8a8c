"""The snapshot cache keys a viewer by its scope only (``dashboard.queries.shared._cached``), so no cached query
may depend on anything else of the viewer: its role, name or rights are checked outside the cache."""
from __future__ import annotations

import ast
from pathlib import Path

from core.settings import REPO_ROOT
from dashboard.auth import Viewer
from dashboard.queries.shared import _viewer_key

QUERIES = REPO_ROOT / "dashboard" / "queries"


def _cached_functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", None) == "_cached" for d in node.decorator_list):
            yield node


def test_cached_queries_read_only_the_viewers_scope() -> None:
    uses = {}
    checked = 0
    for path in sorted(QUERIES.glob("*.py")):
        for fn in _cached_functions(path):
            checked += 1
            for node in ast.walk(fn):
                if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) in ("viewer", "who"):
                    if node.attr != "scope":
                        uses[f"{path.name}:{fn.name}"] = node.attr
    assert checked > 20  # the walk found the cached queries
    assert uses == {}


def test_viewers_with_one_scope_share_a_key() -> None:
    leader, assessor = Viewer("a", "甲", "leader"), Viewer("b", "乙", "assessor")
    clerk, other = Viewer("c", "丙", "department", "d1"), Viewer("d", "丁", "department", "d2")
    assert _viewer_key(leader) == _viewer_key(assessor)
    assert _viewer_key(clerk) == _viewer_key(Viewer("e", "戊", "department", "d1"))
    assert len({_viewer_key(leader), _viewer_key(clerk), _viewer_key(other)}) == 3


def test_a_city_user_has_a_key_of_its_own() -> None:
    """A province's city office (``city``) is cut to its city by the cached province queries (through helpers
    that read ``viewer.city``): it must never share an entry with a province leader, either way round."""
    leader, office = Viewer("a", "甲", "leader"), Viewer("b", "乙", "assessor", None, "city12")
    other = Viewer("c", "丙", "assessor", None, "city11")
    assert len({_viewer_key(leader), _viewer_key(office), _viewer_key(other)}) == 3
    assert _viewer_key(office) == _viewer_key(Viewer("d", "丁", "leader", None, "city12"))
