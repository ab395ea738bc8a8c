"""A straightforward pandas implementation of the record-level rules and the score model, for comparison.

    .venv/bin/python bench/gen_province.py --out bench/data/sample --records 1000000 --departments 500
    .venv/bin/python bench/pandas_reference.py --sample bench/data/sample

It reads the sample's Parquet files into DataFrames, runs one function per rule id (``RULES``) — each
returning the ``(kind, record_key, field)`` of its findings —, scores like ``metrics.scoring`` (rate/fixed
points, rule caps, indicator caps largest first, total = 100 − Σ points) and times it. Then it scores the
same sample with sgs (``bench/score_bench.py`` on the sample's ``sgs.duckdb``) and checks that both agree:
the same number of findings per rule and the same total for every department. The speed ratio is printed.

Registry-driven like the rules (fields, enums and conditions come from ``core.standard``); check characters
use ``core.codes`` per value, as a pandas user would with ``Series.map``. To add a rule, add a function
``rule_id(frames, ctx) -> DataFrame`` and list it in ``RULES``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import codes, standard  # noqa: E402
from metrics.checks import all_rules  # noqa: E402
from core.periods import parse_period  # noqa: E402
from metrics.scheme import load_scheme, scheme_path  # noqa: E402
from core.workdays import default_calendar  # noqa: E402

AS_OF = date(2026, 11, 30)
KINDS = standard.KINDS
FINDING = ["kind", "record_key", "field"]


def _present(s: pd.Series) -> pd.Series:
    return s.notna() & (s.astype("string").str.strip() != "")


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")


def _out(kind: str, df: pd.DataFrame, mask: pd.Series, field: str) -> pd.DataFrame:
    hit = df.loc[mask.fillna(False).astype(bool), ["record_key"]].copy()
    hit["kind"], hit["field"] = kind, field
    return hit[FINDING]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FINDING)


def _items(enum: standard.Enum, s: pd.Series) -> pd.Series:
    """Each value's trimmed items (split on the enum's separator)."""
    split = s.str.split(enum.separator) if enum.separator else s.map(lambda v: [v], na_action="ignore")
    return split.map(lambda items: [i.strip() for i in items], na_action="ignore")


def _item_ok(enum: standard.Enum, item: str) -> bool:
    return (item in enum.values or item in enum.aliases
            or any(item.startswith(p) and len(item) > len(p) for p in enum.prefix_values))


# --- one function per rule id ------------------------------------------------------------------------

def late_publication(frames: dict, ctx: dict) -> pd.DataFrame:
    days = ctx["workdays"]  # sorted working days as datetime64
    parts = []
    for kind, df in frames["site"].items():
        jd = _dates(df[f"{kind.upper()}_JDRQ"])
        fb = _dates(df["FBRQ"])
        seen = df["first_seen"].dt.normalize()
        pub = fb.where(fb <= seen, seen)
        ok = jd.notna()
        # index of the last working day on or before the decision, plus N → the deadline
        idx = np.searchsorted(days, jd[ok].to_numpy(), side="right") - 1 + ctx["max_workdays"]
        deadline = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        deadline[ok] = days[np.minimum(idx, len(days) - 1)]
        parts.append(_out(kind, df, ok & (pub > deadline), "FBRQ"))
    return _concat(parts)


def required_missing(frames: dict, ctx: dict) -> pd.DataFrame:
    return _concat([_out(kind, df, ~_present(df[f.code]), f.code)
                    for kind, df in frames["site"].items() for f in standard.load(kind).fields if f.required == "R"])


def conditional_missing(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        std = standard.load(kind)
        for f in std.fields:
            if f.required != "C" or not f.when:
                continue
            cond = std.get(f.when["field"])
            wanted = set(f.when["any_of"])
            if cond.enum:
                enum = standard.enums()[cond.enum]
                holds = _items(enum, df[cond.code]).map(
                    lambda items: bool(wanted & {enum.canonical(i) for i in items}), na_action="ignore")
            else:
                holds = df[cond.code].str.strip().isin(wanted)
            parts.append(_out(kind, df, _present(df[cond.code]) & holds.fillna(False).astype(bool)
                              & ~_present(df[f.code]), f.code))
    return _concat(parts)


def portal_missing(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        wsh = f"{kind.upper()}_WSH"
        on_portal = set(frames["portal"][kind][wsh].dropna().str.strip())
        exempt = pd.Series(False, index=df.index)
        if kind == "cf":
            enum = standard.enums()["XDR_LB"]
            exempt = df["CF_XDR_LB"].str.strip().map(enum.canonical, na_action="ignore") == "自然人"
        mask = _present(df[wsh]) & ~df[wsh].str.strip().isin(on_portal) & ~exempt.fillna(False)
        parts.append(_out(kind, df, mask, wsh))
    return _concat(parts)


def _uscc_fields(kind: str) -> list[standard.Field]:
    return [f for f in standard.load(kind).fields if f.check == "uscc"]


def credit_code_invalid(frames: dict, ctx: dict) -> pd.DataFrame:
    return _concat([
        _out(kind, df, _present(df[f.code]) & (df[f.code] != codes.USCC_PLACEHOLDER)
             & ~df[f.code].map(codes.uscc_valid, na_action="ignore").fillna(False).astype(bool), f.code)
        for kind, df in frames["site"].items() for f in _uscc_fields(kind)])


def credit_code_placeholder(frames: dict, ctx: dict) -> pd.DataFrame:
    return _concat([_out(kind, df, df[f.code] == codes.USCC_PLACEHOLDER, f.code)
                    for kind, df in frames["site"].items() for f in _uscc_fields(kind)])


def id_number_invalid(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        std = standard.load(kind)
        for f in std.fields:
            if f.check != "ric":
                continue
            doc = std.get(f.code.removesuffix("ZJHM") + "ZJLX")
            enum = standard.enums()[doc.enum]
            is_card = ~_present(df[doc.code]) | (df[doc.code].str.strip().map(enum.canonical, na_action="ignore")
                                                 == "身份证")
            valid = df[f.code].map(codes.ric_valid, na_action="ignore").fillna(False).astype(bool)
            mask = _present(df[f.code]) & ~df[f.code].str.contains("*", regex=False).fillna(False) & is_card & ~valid
            parts.append(_out(kind, df, mask, f.code))
    return _concat(parts)


def enum_invalid(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        for f in standard.load(kind).fields:
            if not f.enum:
                continue
            enum = standard.enums()[f.enum]
            ok = _items(enum, df[f.code]).map(lambda items: all(_item_ok(enum, i) for i in items), na_action="ignore")
            parts.append(_out(kind, df, _present(df[f.code]) & ~ok.astype(object).where(ok.notna(), True).astype(bool),
                              f.code))
    return _concat(parts)


def date_order(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    as_of = pd.Timestamp(ctx["as_of"])
    for kind, df in frames["site"].items():
        jd, fb = _dates(df[f"{kind.upper()}_JDRQ"]), _dates(df["FBRQ"])
        if kind == "xk":
            parts.append(_out(kind, df, _dates(df["XK_YXQZ"]) > _dates(df["XK_YXQZI"]), "XK_YXQZI"))
        parts.append(_out(kind, df, fb < jd, "FBRQ"))
        parts.append(_out(kind, df, jd > as_of, f"{kind.upper()}_JDRQ"))
    return _concat(parts)


def date_invalid(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        for f in (*standard.load(kind).fields, *standard.page_fields()):
            if f.type == "date":
                parts.append(_out(kind, df, _present(df[f.code]) & _dates(df[f.code]).isna(), f.code))
    return _concat(parts)


WSH_PATTERN = r"^\S+[〔\[（(【][12][0-9]{3}[〕\]）)】]第?[0-9]+号$"  # metrics/checks/wsh_format.py


def wsh_format(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        wsh = df[f"{kind.upper()}_WSH"].str.strip()
        ok = wsh.str.match(WSH_PATTERN).fillna(False).astype(bool)
        if kind == "xk":
            ok |= wsh == df["XK_XKBH"].fillna("").str.strip()
        parts.append(_out(kind, df, _present(df[f"{kind.upper()}_WSH"]) & ~ok, f"{kind.upper()}_WSH"))
    return _concat(parts)


def fine_implausible(frames: dict, ctx: dict) -> pd.DataFrame:
    df, enum = frames["site"]["cf"], standard.enums()["CFLB"]
    fines = _items(enum, df["CF_CFLB"]).map(lambda items: "罚款" in {enum.canonical(i) for i in items},
                                           na_action="ignore").fillna(False).astype(bool)
    amount = pd.to_numeric(df["CF_NR_FK"], errors="coerce")
    bad = (amount <= 0) | (amount > ctx["max_wan"]) | amount.isna()
    return _out("cf", df, _present(df["CF_CFLB"]) & fines & _present(df["CF_NR_FK"]) & bad, "CF_NR_FK")


def duplicate_record(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        wsh = f"{kind.upper()}_WSH"
        stored = frames["stored"][kind]
        stored = stored[_present(stored[wsh])]
        counts = stored.groupby(["dept_id", stored[wsh].str.strip()]).size()
        repeated = counts[counts > 1].index
        keys = pd.MultiIndex.from_arrays([df["dept_id"], df[wsh].str.strip()])
        parts.append(_out(kind, df, pd.Series(keys.isin(repeated), index=df.index), wsh))
    return _concat(parts)


AGENCY_CODE = {"xk": "XK_XKJGDM", "cf": "CF_CFJGDM"}  # metrics/checks/agency_code_mismatch.py


def agency_code_mismatch(frames: dict, ctx: dict) -> pd.DataFrame:
    own = ctx["departments"].set_index("dept_id")["credit_code"]
    parts = []
    for kind, df in frames["site"].items():
        code, dept_code = df[AGENCY_CODE[kind]], df["dept_id"].map(own)
        valid = code.map(codes.uscc_valid, na_action="ignore").fillna(False).astype(bool)
        differ = code.str.strip().str.upper() != dept_code.str.strip().str.upper()
        parts.append(_out(kind, df, _present(code) & valid & _present(dept_code) & differ, AGENCY_CODE[kind]))
    return _concat(parts)


COMPARED = {  # metrics/checks/portal_inconsistent.py
    "cf": ("CF_JDRQ", "CF_XDR_SHXYM", "CF_CFLB", "CF_NR_FK", "CF_NR_WFFF", "CF_YXQ"),
    "xk": ("XK_JDRQ", "XK_XDR_SHXYM", "XK_XKLB", "XK_YXQZ", "XK_YXQZI", "XK_XKBH"),
}


def portal_inconsistent(frames: dict, ctx: dict) -> pd.DataFrame:
    parts = []
    for kind, df in frames["site"].items():
        std, wsh = standard.load(kind), f"{kind.upper()}_WSH"
        fields = [c for c in COMPARED[kind] if c in std.codes]
        site = df[["record_key", wsh, *fields]].assign(_w=df[wsh].str.strip())
        portal = frames["portal"][kind][[wsh, *fields]]
        pairs = site.merge(portal.assign(_w=portal[wsh].str.strip()), on="_w", suffixes=("", "_p"))
        for c in fields:
            a, p = pairs[c], pairs[c + "_p"]
            if std.get(c).type == "amount":
                same = pd.to_numeric(a, errors="coerce") == pd.to_numeric(p, errors="coerce")
            elif std.get(c).enum:
                norm = lambda s: s.str.strip().str.replace("；", ";").str.replace(" ", "")  # noqa: E731
                same = norm(a) == norm(p)
            else:
                same = a.str.strip() == p.str.strip()
            parts.append(_out(kind, pairs, _present(a) & _present(p) & ~same.fillna(False).astype(bool), c))
    return _concat(parts)


RULES = {f.__name__: f for f in (late_publication, required_missing, conditional_missing, portal_missing,
                                 credit_code_invalid, credit_code_placeholder, id_number_invalid, enum_invalid,
                                 date_order, date_invalid, wsh_format, fine_implausible, duplicate_record,
                                 agency_code_mismatch, portal_inconsistent)}


# --- scoring ---------------------------------------------------------------------------------------

def score(frames: dict, findings: dict[str, pd.DataFrame], departments: pd.DataFrame, scheme) -> pd.DataFrame:
    """Department totals by the model of metrics.scoring (docs/scoring.md)."""
    rules = {r.id: r for r in all_rules()}
    n = pd.concat([df[["dept_id"]] for df in frames["site"].values()]).value_counts("dept_id")
    depts = departments.set_index("dept_id")[["county"]].assign(n_records=n).fillna({"n_records": 0})
    keys = pd.concat([df[["record_key", "dept_id"]].assign(kind=k) for k, df in frames["site"].items()])
    rows = []
    for rule_id, f in findings.items():
        d = scheme.deduction(rules[rule_id])
        hits = f.drop_duplicates(["kind", "record_key"]).merge(keys, on=["kind", "record_key"])
        per = hits.value_counts("dept_id").rename("n_rec").reset_index()
        if per.empty:  # a rule without findings deducts nothing
            continue
        per["n_records"] = per["dept_id"].map(depts["n_records"]).clip(lower=1)
        pc = round(d.points * 100)
        cents = ((pc * per["n_rec"] * 2 + per["n_records"]) // (2 * per["n_records"]) if d.how == "rate"
                 else pc * per["n_rec"])
        per["points"] = np.minimum(cents, round(d.cap * 100))  # in cents
        per["rule_id"], per["indicator"] = rule_id, rules[rule_id].indicator
        rows.append(per)
    ded = pd.concat(rows, ignore_index=True).sort_values(["dept_id", "indicator", "points", "rule_id"],
                                                         ascending=[True, True, False, True])
    weight = ded["indicator"].map(lambda i: round(scheme.weights[i] * 100))
    before = ded.groupby(["dept_id", "indicator"])["points"].cumsum() - ded["points"]
    ded["points"] = np.maximum(np.minimum(ded["points"], weight - before), 0)
    lost = ded.groupby("dept_id")["points"].sum()
    depts["total"] = (10000 - lost.reindex(depts.index).fillna(0)) / 100
    depts["rank"] = depts["total"].rank(method="min", ascending=False).astype(int)
    return depts


def run_pandas(sample: Path) -> tuple[dict, pd.DataFrame, dict[str, int], float]:
    period = parse_period("2026Q3")
    scheme = load_scheme(scheme_path(period))
    t = time.perf_counter()
    frames: dict = {"site": {}, "portal": {}, "stored": {}}
    for kind in KINDS:
        df = pd.read_parquet(sample / f"{kind}_records.parquet")
        missing = [c for c in standard.load(kind).codes if c not in df.columns]
        df = df.reindex(columns=[*df.columns, *missing]).astype({c: "str" for c in missing})
        jd = _dates(df[f"{kind.upper()}_JDRQ"]).fillna(df["first_seen"].dt.normalize())
        site = df[(df["channel"] == "site") & jd.between(pd.Timestamp(period.start), pd.Timestamp(period.end))]
        frames["site"][kind] = site.reset_index(drop=True)
        frames["stored"][kind] = df[df["channel"] == "site"]
        frames["portal"][kind] = df[df["channel"] == "portal"]
    departments = pd.read_parquet(sample / "departments.parquet")
    calendar = default_calendar()
    days = np.array([np.datetime64(d, "ns") for d, w, _ in zip(*calendar.table(
        date(2026, 6, 1), date(2026, 12, 31)).to_pydict().values()) if w])
    ctx = {"workdays": days, "max_workdays": scheme.max_workdays, "as_of": AS_OF, "departments": departments,
           "max_wan": float(scheme.rule_params.get("fine_implausible", {}).get("max_wan", 1000))}
    timings, findings = {}, {}
    for rule_id, rule in RULES.items():
        r = time.perf_counter()
        findings[rule_id] = rule(frames, ctx)
        timings[rule_id] = round(time.perf_counter() - r, 2)
    scores = score(frames, findings, departments, scheme)
    wall = time.perf_counter() - t
    return timings, scores, {k: len(v) for k, v in findings.items()}, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=Path(__file__).resolve().parent / "data" / "sample")
    args = parser.parse_args()
    timings, scores, counts, pandas_wall = run_pandas(args.sample)
    bench = Path(__file__).resolve().parent / "score_bench.py"
    out = subprocess.run([sys.executable, str(bench), "--db", str(args.sample / "sgs.duckdb"),
                          "--rules", ",".join(RULES)], check=True, capture_output=True, text=True).stdout
    sgs = json.loads(out)
    import duckdb

    con = duckdb.connect(str(args.sample / "sgs.duckdb"), read_only=True)
    sgs_totals = dict(con.execute("SELECT dept_id, total FROM scores WHERE period = '2026Q3'").fetchall())
    con.close()
    diff_counts = {k: (counts.get(k), sgs["by_rule"].get(k, 0)) for k in RULES if counts.get(k) != sgs["by_rule"].get(k, 0)}
    diff_totals = {d: (t, sgs_totals.get(d)) for d, t in scores["total"].items() if sgs_totals.get(d) != t}
    print(json.dumps({
        "records": int(scores["n_records"].sum()), "departments": len(scores), "rules": list(RULES),
        "pandas_s": round(pandas_wall, 2), "pandas_per_rule_s": timings,
        "sgs_s": sgs["wall_s"], "sgs_peak_rss_mb": sgs["peak_rss_mb"],
        "ratio": round(pandas_wall / sgs["wall_s"], 1),
        "findings_per_rule_differ": diff_counts, "department_totals_differ": len(diff_totals),
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
