"""The import graph is the architecture: every import goes down the stack ARCHITECTURE.md draws.

The stack, bottom to top: ``core`` (the foundation: settings, city file, registry, store, codes, masking,
periods, working days, normalisation, file reading) ← ``crawlers`` ← ``metrics`` ← ``reports`` and ``democity``
← ``dashboard`` ← ``sgs`` (the command line) and ``streamlit_app.py``. A package may import its own modules
and any package on a lower floor, never one on its own floor or above. Read from the source with ``ast``
(nothing is imported), so a cycle or an upward import fails here before it confuses a reader.

The package graph in ARCHITECTURE.md ("Import graph") is this test's output: when it changes, the test prints
the block to paste.
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS: dict[str, int] = {"core": 0, "crawlers": 1, "metrics": 2, "reports": 3, "democity": 3, "dashboard": 4,
                          "sgs": 5, "streamlit_app": 5,
                          "streamlit_server": 5}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in ("streamlit_app", "streamlit_server")}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else ():
            found[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> set[str]:
    """The project modules ``path`` imports (absolute imports only; the project uses no relative ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in FLOORS}


def package_edges() -> dict[tuple[str, str], set[str]]:
    """(importing package, imported package) → the module-level imports behind that arrow."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, path in _modules().items():
        for target in _imports(path):
            a, b = module.split(".")[0], target.split(".")[0]
            if a != b:
                edges[(a, b)].add(f"{module} → {target}")
    return edges


def graph_text() -> str:
    """The package graph as ARCHITECTURE.md shows it: each package, the floor it stands on and what it imports."""
    edges = package_edges()
    lines = []
    for package in sorted(FLOORS, key=lambda p: (FLOORS[p], p)):
        targets = sorted({b for a, b in edges if a == package}, key=lambda p: (FLOORS[p], p))
        lines.append(f"{FLOORS[package]}  {package:<16} → {', '.join(targets) if targets else '(nothing of the project)'}")
    return "\n".join(lines)


def test_every_import_goes_down_the_stack() -> None:
    upward = sorted(f"{line}（{a} 在第 {FLOORS[a]} 层，{b} 在第 {FLOORS[b]} 层）"
                    for (a, b), lines in package_edges().items() if FLOORS[b] >= FLOORS[a] for line in lines)
    assert not upward, "向上或同层的导入：\n" + "\n".join(upward)


def test_architecture_doc_shows_the_import_graph() -> None:
    doc = (ROOT / "ARCHITECTURE.md").read_text("utf-8")
    block = re.search(r"<!-- import-graph -->\n```\n(.*?)\n```", doc, re.S)
    assert block, "ARCHITECTURE.md has no import-graph block"
    assert block.group(1) == graph_text(), "ARCHITECTURE.md's import graph is out of date; paste:\n" + graph_text()


def test_no_module_is_over_the_size_limit() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


if __name__ == "__main__":
    print(graph_text())
