"""The demo city as a deployment would describe it: ``city.toml`` (sgs.cityconfig's format) and the
ground-truth manifest ``ground_truth.json`` beside it.

The URLs depend on the port the server got, so the files are written after the server starts.
"""
from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from democity.generate import DemoCity
from democity.ledgers import write_ledgers
from democity.pages import PORTAL_MAX_SIZE, column_path

CONCURRENCY = 4
PORTAL_PAGE_SIZE = min(50, PORTAL_MAX_SIZE)


def city_document(city: DemoCity, base_url: str) -> dict:
    """The TOML document: departments with their catalogues, one site source per column, two portal sources."""
    base = base_url.rstrip("/")
    departments, sources = [], []
    for d in city.departments:
        home = f"{base}/d/{d.id}/"
        departments.append({
            "id": d.id, "name": d.name, "county": d.county, "credit_code": d.credit_code,
            "website": home, "column_url": f"{home}sgs/", "liaison": d.liaison, "liaison_phone": d.liaison_phone,
            "catalogue": [{"code": c.code, "kind": c.kind, "name": c.name, "basis": c.basis} for c in d.catalogue],
        })
        paging = {"style": "query", "param": "page"} if d.paging == "query" else {"style": "next_link"}
        sources += [{"id": f"{d.id}-{kind}", "channel": "site", "kind": kind, "dept": d.id,
                     "start_url": home + column_path(d, kind), "paging": paging, "concurrency": CONCURRENCY}
                    for kind in d.kinds]
    for kind in ("xk", "cf"):
        sources.append({
            "id": f"portal-{kind}", "channel": "portal", "kind": kind, "start_url": f"{base}/portal/api/{kind}",
            "paging": {"style": "json", "page_param": "page", "size_param": "pageSize", "size": PORTAL_PAGE_SIZE,
                       "total_path": "data.total", "list_path": "data.list", "entity_key": "entity"},
            "concurrency": CONCURRENCY,
        })
    return {"city": {"name": city.name}, "departments": departments, "sources": sources}


def write_city(city: DemoCity, base_url: str, out_dir: Path) -> Path:
    """Write ``out_dir/city.toml`` and ``out_dir/ground_truth.json``; return the TOML's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "city.toml"
    path.write_text(tomli_w.dumps(city_document(city, base_url)), encoding="utf-8")
    (out_dir / "ground_truth.json").write_text(
        json.dumps(city.manifest(), ensure_ascii=False, indent=1), encoding="utf-8")
    write_ledgers(city, out_dir)  # the departments' decision ledgers (democity.ledgers)
    return path
