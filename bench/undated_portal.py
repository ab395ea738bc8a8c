"""Findings per rule on the demo city with an undated licence portal (issue 11's before/after table).

`python bench/undated_portal.py once`   — one crawl after the fact (a city's first crawl);
`python bench/undated_portal.py staged` — the demo's season of crawls (democity/staged.py).
Prints JSON: findings per rule, 未能核验 per rule, standings, and the ground truth per rule. The "before"
column of the table was this script run on commit 28bbd61 with that commit's democity/pages.py printing no
gsrq for licences (`once` only: that commit has no staged crawls and no unverified table).
"""
import sys, tempfile, json
from collections import Counter
from pathlib import Path
from democity import build, DemoServer, write_city
from democity.ledgers import load_ledgers
from crawlers.crawl import run_crawl
from core import store
from core.periods import parse_period
from metrics.scoring import score_period
from core.cityconfig import load_city
from core.settings import resolve_paths

mode = sys.argv[1]
city = build(2026)
root = Path(tempfile.mkdtemp())
paths = resolve_paths(root / "sgs.duckdb")
with DemoServer(city) as server:
    config = write_city(city, server.base_url, root)
    if mode == "staged":
        from democity.staged import run_staged_crawls
        run_staged_crawls(load_city(config), server, paths)
    else:
        run_crawl(load_city(config), paths, quiet=True)
con = store.connect(paths)
load_ledgers(con, root)
for q in ("2026Q2", "2026Q3"):
    score_period(con, parse_period(q))
rows = con.execute("SELECT rule_id, count(*) FROM findings GROUP BY ALL ORDER BY 1").fetchall()
out = {"findings": dict(rows)}
try:
    out["unverified"] = dict(con.execute("SELECT rule_id, count(*) FROM unverified GROUP BY ALL").fetchall())
    out["standing"] = dict(con.execute("SELECT standing, count(*) FROM scores GROUP BY ALL").fetchall())
except Exception:
    pass
truth = json.loads((root / "ground_truth.json").read_text("utf-8"))
out["truth"] = dict(Counter(d["rule_id"] for d in truth["defects"]))
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
