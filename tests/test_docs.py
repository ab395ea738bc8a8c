"""The documentation stays true: its examples load, and every command it names exists."""
from __future__ import annotations

import re

from core.cityconfig import load_city
from sgs.cli import app
from core.settings import REPO_ROOT


def test_configuration_example_loads(tmp_path):
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text("utf-8")
    example = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    path = tmp_path / "city.toml"
    path.write_text(example, encoding="utf-8")
    city = load_city(path)
    assert city.name == "示范市" and city.departments[0].catalogue
    assert {s.channel for s in city.sources} == {"site", "portal"}
    assert city.sources[0].delay == 1.0 and city.sources[0].concurrency == 2


def test_readme_commands_exist():
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    named = set(re.findall(r"`sgs (\w+)", readme))
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    groups = {g.name for g in app.registered_groups}
    assert named and named <= commands | groups


def test_every_rule_is_in_the_architecture_doc():
    from metrics.checks import all_rules

    doc = (REPO_ROOT / "ARCHITECTURE.md").read_text("utf-8")
    assert all(f"`{r.id}`" in doc and r.name in doc for r in all_rules())
