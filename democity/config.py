"""The demo city as a deployment would describe it: ``city.toml`` (core.cityconfig's format) and the
ground-truth manifest ``ground_truth.json`` beside it.

The URLs depend on the port the server got, so the files are written after the server starts. Each
department's sources follow its page shape (``democity.shapes``), and a few extra sources point at the
demo's deliberate availability problems (``shapes.BROKEN``), recorded in the manifest under
``"availability"``: [{dept_id, source_id, problem, url}]. They add no record, so the record ground truth
is the generator's alone.
"""
from __future__ import annotations

import json
from pathlib import Path

import tomli_w

from democity.model import PAGE_SIZE, QUARTERS, DemoCity
from democity.ledgers import write_ledgers
from democity.pages import PORTAL_MAX_SIZE, column_path
from democity.shapes import BROKEN, shape_of
from core.vocab import AVAILABILITY_RULES

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
        sources += [{"id": f"{d.id}-{kind}", "channel": "site", "kind": kind, "dept": d.id,
                     "start_url": home + column_path(d, kind), **_profile(d), "concurrency": CONCURRENCY}
                    for kind in d.kinds]
    for b in BROKEN:
        if b.how not in ("dead", "bad"):  # those are links inside a department's own column
            sources.append({"id": broken_source_id(b), "channel": "site", "kind": b.kind, "dept": b.dept_id,
                            "start_url": f"{base}/d/{b.dept_id}/{b.path}", "paging": {"style": "none"},
                            "concurrency": CONCURRENCY})
    for kind in ("xk", "cf"):
        sources.append({
            "id": f"portal-{kind}", "channel": "portal", "kind": kind, "start_url": f"{base}/portal/api/{kind}",
            "paging": {"style": "json", "page_param": "page", "size_param": "pageSize", "size": PORTAL_PAGE_SIZE,
                       "total_path": "data.total", "list_path": "data.list", "entity_key": "entity"},
            "concurrency": CONCURRENCY,
        })
    return {"city": {"name": city.name}, "departments": departments, "sources": sources}


def province_document(city: DemoCity, base_urls: list[str], *, concurrency: int = 2,
                      columns: list[str] | None = None) -> dict:
    """A province of ``len(base_urls)`` sources, one per site (``DemoServer(hosts=N).base_urls``): source i is
    the demo's site source i (cycling, so 500 and 5,000 sources have the same pages per source; ``columns``:
    only these demo sources, e.g. ``["dc-wj-xk"]``) on host i, for a department of its own
    (``<demo id>-p<i>``: every record keyed apart). No portal and no broken column: the crawl benchmark's
    province (bench/crawl_bench.py --province), not a city to score."""
    demo = city_document(city, base_urls[0])
    depts = {d["id"]: d for d in demo["departments"]}
    wanted = _column_ids(city) if columns is None else set(columns)
    templates = [s for s in demo["sources"] if s["channel"] == "site" and s["id"] in wanted]
    if not templates:
        raise ValueError(f"示范城市没有这些栏目来源：{columns}")
    base0 = base_urls[0].rstrip("/")
    departments, sources = [], []
    for i, base in enumerate(base_urls):
        tmpl = templates[i % len(templates)]
        dept = depts[tmpl["dept"]]
        dept_id, base = f"{dept['id']}-p{i:04d}", base.rstrip("/")
        departments.append({**dept, "id": dept_id, "name": f"{dept['name']}（{i:04d}）",
                            "website": dept["website"].replace(base0, base, 1),
                            "column_url": dept["column_url"].replace(base0, base, 1)})
        sources.append({**tmpl, "id": f"{tmpl['id']}-p{i:04d}", "dept": dept_id, "concurrency": concurrency,
                        "start_url": tmpl["start_url"].replace(base0, base, 1)})
    return {"city": {"name": f"{city.name}（省级模拟，{len(sources)} 个来源）"}, "departments": departments,
            "sources": sources}


def _column_ids(city: DemoCity) -> set[str]:
    """The ids of the departments' own column sources (not the broken extras, not the portal)."""
    return {f"{d.id}-{kind}" for d in city.departments for kind in d.kinds}


def write_province(city: DemoCity, base_urls: list[str], out_dir: Path, *, concurrency: int = 2,
                   columns: list[str] | None = None) -> Path:
    """Write ``out_dir/city.toml`` for a province of ``len(base_urls)`` sources; return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "city.toml"
    doc = province_document(city, base_urls, concurrency=concurrency, columns=columns)
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def _profile(dept) -> dict:
    """The source profile settings a department's page shape needs (docs/configuration.md)."""
    shape = shape_of(dept)
    paging = {
        "query": {"style": "query", "param": "page"},
        "next_link": {"style": "next_link"},
        "trs": {"style": "trs"},
        "post": {"style": "post", "param": "pageNo", "form": {"pageSize": str(PAGE_SIZE)}},
        "json": {"style": "json", "page_param": "pageNo", "size_param": "pageSize", "size": PAGE_SIZE,
                 "total_path": "result.total", "list_path": "result.rows", "entity_key": ""},
        "attachments": {"style": "none"},
    }[shape.paging]
    out: dict = {"paging": paging}
    if shape.paging == "attachments":
        out["rows"] = {"links": r"/files/\d{8}\.(xlsx|xls|csv|docx)$"}
    elif shape.title_list:
        out["rows"] = {"links": r"/detail/[^/]+\.html$"}
    return out


def broken_source_id(b) -> str:
    """The extra source pointing at a deliberately broken column (``sj-hb-cf-old``)."""
    return f"{b.dept_id}-{b.kind}-{b.path.split('/')[0]}"


def availability_truth(base_url: str) -> list[dict]:
    """The availability problems a crawl of the demo must report, one per ``shapes.BROKEN`` entry."""
    base = base_url.rstrip("/")
    return [{"dept_id": b.dept_id, "source_id": f"{b.dept_id}-{b.kind}" if b.how in ("dead", "bad") else broken_source_id(b),
             "problem": b.problem, "url": f"{base}/d/{b.dept_id}/{b.path}"} for b in BROKEN]


# availability problem → the rule that turns it into a finding: vocabulary (core.vocab), not rule logic
AVAILABILITY_RULE = AVAILABILITY_RULES


def ground_truth(city: DemoCity, base_url: str) -> dict:
    """The whole ground truth: the city's own (records, defects) plus what only a crawl can see.

    Each deliberate availability problem is a department-level finding (field ``URL``, value the failing URL)
    in every assessed quarter: the demo's single crawl runs after both, so it judges both.
    """
    manifest = city.manifest()
    problems = availability_truth(base_url)
    kinds = {(b.dept_id, b.problem): b.kind for b in BROKEN}
    for a in problems:
        for q in QUARTERS:
            rule = AVAILABILITY_RULE[a["problem"]]
            manifest["defects"].append({"dept_id": a["dept_id"], "kind": kinds[(a["dept_id"], a["problem"])],
                                        "wsh": None, "xdr_mc": None, "rule_id": rule, "field": "URL",
                                        "period": q.label, "level": "department", "value": a["url"]})
            dept = next(d for d in manifest["departments"] if d["id"] == a["dept_id"])
            counts = dept["periods"].setdefault(q.label, {"records": 0, "defects": {}})["defects"]
            counts[rule] = counts.get(rule, 0) + 1
    return {**manifest, "availability": problems}


def write_city(city: DemoCity, base_url: str, out_dir: Path) -> Path:
    """Write ``out_dir/city.toml`` and ``out_dir/ground_truth.json``; return the TOML's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "city.toml"
    path.write_text(tomli_w.dumps(city_document(city, base_url)), encoding="utf-8")
    manifest = ground_truth(city, base_url)
    (out_dir / "ground_truth.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    write_ledgers(city, out_dir)  # the departments' decision ledgers (democity.ledgers)
    return path
