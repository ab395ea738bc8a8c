"""The next crawl verifies: every finding a department reported fixed is judged again on new evidence only.

Why a separate step after crawl and rescoring: a department's word (已整改) is a claim; the assessment
believes a page, not a claim. So after each crawl the pipeline looks, for every finding whose current status
(``metrics.corrections.latest``) is ``fixed``, for evidence newer than the report:

- a record-level finding whose record was read again after the report: the rescored period's findings say
  whether the same rule still fails on it — no → ``verified`` (closed), yes → ``verify_failed`` (open again),
  each citing the new fetch (``fetch_id``) beside the old one (``ref_fetch_id``);
- a record not seen again although a complete crawl of its source (a run that ended ``ok``) began after the
  report: it was taken down. A record that had to stay is not fixed by removal (``verify_failed``), except
  for the rules about publishing too long (``REMOVAL_FIXES``), where taking it down is the fix;
- a department-level finding: after a crawl of every source of the department begun after the report, the
  rule no longer producing it (availability problems: the new crawl no longer recording them) → verified;
- anything else: no step. Without a newer fetch nothing is decided; the outcome says why it still waits.

A finding's identity includes its value (``metrics.scoring.FINDING_ID_SQL``), so a corrected record's finding
vanishes from ``findings`` when its period is rescored. ``remember`` therefore copies every reported-fixed
finding's row into ``verify_findings`` in ``workbench.sqlite3`` before scoring (``sgs score``, ``sgs run``);
the published snapshots are the fallback for one rescored elsewhere.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import duckdb

from core import standard
from core.privacy import mask_text
from core.settings import Paths
from core.vocab import AVAILABILITY_RULES
from metrics import corrections

SYSTEM_USER = "sgs 复核"
# rules about publishing too long: taking the record down is the correction (长治（八）（九）（十）)
REMOVAL_FIXES = frozenset({"overdue_publication", "revoked_online", "repair_still_shown"})
_PROBLEM_OF = {rule: problem for problem, rule in AVAILABILITY_RULES.items()}
_FIELDS = ("finding_id", "period", "dept_id", "kind", "record_key", "rule_id", "field", "value", "url", "fetch_id")
_SCHEMA = f"""CREATE TABLE IF NOT EXISTS verify_findings (
    {', '.join(f'{c} TEXT' + (' PRIMARY KEY' if c == 'finding_id' else '') for c in _FIELDS)});"""


@dataclass(frozen=True)
class Outcome:
    """What the verification decided about one reported-fixed finding: ``action`` ``verified`` or
    ``verify_failed`` (a step was recorded), or None (still waiting; ``reason`` says for what)."""

    finding_id: str
    period: str
    dept_id: str
    rule_id: str
    action: str | None
    reason: str
    fetch_id: str | None = None
    ref_fetch_id: str | None = None


def removal_is_fix(rule_id: str) -> bool:
    return rule_id in REMOVAL_FIXES


def _store(paths: Paths) -> sqlite3.Connection:
    return corrections.connect(paths, _SCHEMA)


def reported_fixed(paths: Paths) -> dict[str, str]:
    """finding_id → when it was reported fixed (its latest step's time), for every finding now ``fixed``."""
    current = corrections.latest(paths)
    fixed = current[current["status"] == "fixed"]
    return dict(zip(fixed["finding_id"], fixed["at"]))


def remember(con: duckdb.DuckDBPyConnection, paths: Paths) -> int:
    """Copy the rows of reported-fixed findings from ``con``'s findings into the store (before a rescoring
    may drop them); returns how many were new."""
    ids = list(reported_fixed(paths))
    if not ids:
        return 0
    rows = con.execute(f"SELECT {', '.join(_FIELDS)} FROM findings WHERE finding_id IN (SELECT unnest($ids))",
                       {"ids": ids}).fetchall()
    with closing(_store(paths)) as store, store:
        before = store.total_changes
        store.executemany(f"INSERT OR IGNORE INTO verify_findings VALUES ({','.join('?' * len(_FIELDS))})", rows)
        return store.total_changes - before


def finding_row(con: duckdb.DuckDBPyConnection, paths: Paths, finding_id: str) -> dict[str, Any] | None:
    """A finding as it was reported: remembered, else in ``con``, else in a published snapshot (newest first)."""
    with closing(_store(paths)) as store:
        row = store.execute(f"SELECT {', '.join(_FIELDS)} FROM verify_findings WHERE finding_id = ?",
                            (finding_id,)).fetchone()
    if row:
        return dict(zip(_FIELDS, row))
    query = f"SELECT {', '.join(_FIELDS)} FROM findings WHERE finding_id = $id"
    found = con.execute(query, {"id": finding_id}).fetchall()
    snaps = sorted(paths.published.glob("sgs-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for snap in snaps if not found else ():
        try:
            with duckdb.connect(str(snap), read_only=True) as old:
                found = old.execute(query, {"id": finding_id}).fetchall()
        except duckdb.Error:
            continue
        if found:
            break
    return dict(zip(_FIELDS, found[0])) if found else None


# --- evidence ----------------------------------------------------------------------------------------

def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def _record(con: duckdb.DuckDBPyConnection, kind: str, key: str, field: str | None) -> dict[str, Any] | None:
    """The record now stored (its latest reading): fetch, url, source, last sighting, the field's value."""
    columns = {r[0] for r in con.execute(f"DESCRIBE {kind}_records").fetchall()}
    value = field if field in columns else "NULL"
    row = _one(con, f"SELECT fetch_id, url, source_id, last_seen, {value} FROM {kind}_records "
                    "WHERE record_key = $k", {"k": key})
    return dict(zip(("fetch_id", "url", "source_id", "last_seen", "value"), row)) if row else None


def _newer_fetch(con: duckdb.DuckDBPyConnection, fetch_id: str | None, since: str) -> tuple[str, Any] | None:
    """The latest response after ``since`` holding the record's page: its own fetch, or a revisit of it."""
    return _one(con, """SELECT fetch_id, fetched_at FROM fetches
                        WHERE (fetch_id = $f OR revisit_of = $f) AND fetched_at > CAST($t AS TIMESTAMP)
                        ORDER BY fetched_at DESC LIMIT 1""", {"f": fetch_id, "t": since})


def _complete_run(con: duckdb.DuckDBPyConnection, source_id: str | None, since: str) -> tuple[str, str | None] | None:
    """(crawl, its first list page's fetch) of the first complete run of ``source_id`` begun after ``since``."""
    run = _one(con, """SELECT crawl_id FROM source_runs WHERE source_id = $s AND status = 'ok'
                       AND started_at > CAST($t AS TIMESTAMP) ORDER BY started_at LIMIT 1""",
               {"s": source_id, "t": since})
    if run is None:
        return None
    page = _one(con, """SELECT fetch_id FROM fetches WHERE crawl_id = $c AND source_id = $s
                        ORDER BY (role = 'list') DESC, fetched_at LIMIT 1""", {"c": run[0], "s": source_id})
    return run[0], page[0] if page else None


def _rescored_after(con: duckdb.DuckDBPyConnection, period: str, moment: Any) -> bool:
    row = _one(con, "SELECT max(computed_at) >= CAST($m AS TIMESTAMP) FROM scores WHERE period = $p",
               {"p": period, "m": moment})
    return bool(row and row[0])


def _label(kind: str, field: str | None) -> str:
    return standard.field_name(kind, field) or field or "—"


SHOWN_MAX = 40  # characters of a value quoted in a reason (a whole 违法事实 would drown the sentence)


def _shown(value: Any) -> str:
    if value in (None, ""):
        return "（空）"
    text = str(mask_text(str(value)))
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + "…"


def _day(as_of: date) -> str:
    return f"{as_of:%Y-%m-%d} 复核："


# --- decisions ---------------------------------------------------------------------------------------

def _judge_record(con: duckdb.DuckDBPyConnection, f: dict[str, Any], since: str, as_of: date) -> Outcome:
    rec = _record(con, f["kind"], f["record_key"], f["field"])
    newer = _newer_fetch(con, rec["fetch_id"], since) if rec else None
    if rec is None or rec["last_seen"] is None or rec["last_seen"] <= datetime.fromisoformat(since):
        return _judge_removed(con, f, rec["source_id"] if rec else None, since, as_of)
    new_fetch = newer[0] if newer else rec["fetch_id"]
    if not _rescored_after(con, f["period"], rec["last_seen"]):
        return _outcome(f, None, f"{f['period']} 尚未按 {rec['last_seen']:%Y-%m-%d} 的抓取重新评分，暂不复核")
    still = _one(con, """SELECT field, value FROM findings WHERE period = $p AND kind = $k AND record_key = $r
                         AND rule_id = $rule ORDER BY (field = $field) DESC LIMIT 1""",
                 {"p": f["period"], "k": f["kind"], "r": f["record_key"], "rule": f["rule_id"], "field": f["field"]})
    label = _label(f["kind"], f["field"])
    if still is None:
        change = ("已脱敏" if f["rule_id"] == "unmasked_personal"
                  else f"由 {_shown(f['value'])} 改为 {_shown(rec['value'])}")
        return _outcome(f, "verified", f"{_day(as_of)}该记录已于网站更正（字段 {label} {change}）",
                        new_fetch, f["fetch_id"])
    label = _label(f["kind"], still[0])
    return _outcome(f, "verify_failed", f"{_day(as_of)}重新抓取后该记录仍有此问题（字段 {label}：报告整改前为 "
                                        f"{_shown(f['value'])}，现为 {_shown(still[1])}）", new_fetch, f["fetch_id"])


def _judge_removed(con: duckdb.DuckDBPyConnection, f: dict[str, Any], source_id: str | None, since: str,
                   as_of: date) -> Outcome:
    """The record was not read again since the report: taken down, if a complete crawl of its source says so."""
    run = _complete_run(con, source_id, since) if source_id else None
    if run is None:
        return _outcome(f, None, "自报告整改以来该记录所在栏目尚未完整抓取，等待下次抓取后复核")
    if removal_is_fix(f["rule_id"]):
        return _outcome(f, "verified", f"{_day(as_of)}该记录已从网站撤下（本次完整抓取未见该记录）", run[1], f["fetch_id"])
    return _outcome(f, "verify_failed", f"{_day(as_of)}该记录已从网站撤下，不能视为整改（应更正后继续公示）",
                    run[1], f["fetch_id"])


def _judge_department(con: duckdb.DuckDBPyConnection, f: dict[str, Any], since: str, as_of: date) -> Outcome:
    """A department-level finding after a crawl of every source of the department begun after the report."""
    if removal_is_fix(f["rule_id"]) and f["value"]:
        return _judge_taken_down(con, f, since, as_of)
    runs = con.execute("""SELECT s.source_id, min(r.started_at), bool_and(r.status = 'ok') FROM sources s
                          LEFT JOIN source_runs r ON r.source_id = s.source_id AND r.finished_at IS NOT NULL
                               AND r.started_at > CAST($t AS TIMESTAMP)
                          WHERE s.dept_id = $d GROUP BY s.source_id""", {"d": f["dept_id"], "t": since}).fetchall()
    if not runs or any(r[1] is None for r in runs):
        return _outcome(f, None, "自报告整改以来尚未完整抓取该部门的全部栏目，等待下次抓取后复核")
    if f["rule_id"] in _PROBLEM_OF:
        still = _one(con, """SELECT fetch_id, detail FROM availability WHERE dept_id = $d AND kind = $k
                             AND problem = $p AND url = $u AND observed_at > CAST($t AS TIMESTAMP)
                             ORDER BY observed_at DESC LIMIT 1""",
                     {"d": f["dept_id"], "k": f["kind"], "p": _PROBLEM_OF[f["rule_id"]], "u": f["url"], "t": since})
    else:
        latest_run = max(r[1] for r in runs)
        if not _rescored_after(con, f["period"], latest_run):
            return _outcome(f, None, f"{f['period']} 尚未按报告整改后的抓取重新评分，暂不复核")
        still = _one(con, """SELECT fetch_id, message FROM findings WHERE period = $p AND dept_id = $d AND kind = $k
                             AND rule_id = $r AND record_key IS NULL AND coalesce(value, '') = coalesce($v, '')
                             LIMIT 1""", {"p": f["period"], "d": f["dept_id"], "k": f["kind"], "r": f["rule_id"],
                                          "v": f["value"]})
    page = _one(con, """SELECT f.fetch_id FROM fetches f JOIN sources s USING (source_id) WHERE s.dept_id = $d
                        AND f.fetched_at > CAST($t AS TIMESTAMP) ORDER BY (f.role = 'list') DESC, f.fetched_at
                        LIMIT 1""", {"d": f["dept_id"], "t": since})
    if still is not None:
        return _outcome(f, "verify_failed", f"{_day(as_of)}重新抓取后问题仍在（{_shown(still[1])}）",
                        still[0] or (page[0] if page else None), f["fetch_id"])
    if not all(r[2] for r in runs):
        return _outcome(f, None, "报告整改后的抓取未能完整完成，问题未再出现但证据不足，等待下次抓取后复核")
    return _outcome(f, "verified", f"{_day(as_of)}重新完整抓取该部门栏目，未再发现此问题",
                    page[0] if page else None, f["fetch_id"])


def _judge_taken_down(con: duckdb.DuckDBPyConnection, f: dict[str, Any], since: str, as_of: date) -> Outcome:
    """超期公示 and the like: fixed when the record the finding names (by 文书号) is no longer seen."""
    kind = f["kind"]
    sql = f"""SELECT record_key, source_id, last_seen > CAST($t AS TIMESTAMP) FROM {kind}_records
              WHERE dept_id = $d AND {kind.upper()}_WSH = $v"""
    values = {"d": f["dept_id"], "v": f["value"], "t": since}
    # the record the finding cites (its page), else every copy of the 文书号 the department publishes
    rows = con.execute(sql + " AND url = $u", {**values, "u": f["url"]}).fetchall() or con.execute(sql, values).fetchall()
    if any(r[2] for r in rows):
        newer = _one(con, f"""SELECT coalesce(x.fetch_id, r.fetch_id) FROM {kind}_records r LEFT JOIN fetches x
                              ON x.revisit_of = r.fetch_id AND x.fetched_at > CAST($t AS TIMESTAMP)
                              WHERE r.dept_id = $d AND r.{kind.upper()}_WSH = $v ORDER BY r.last_seen DESC LIMIT 1""",
                     {"d": f["dept_id"], "v": f["value"], "t": since})
        return _outcome(f, "verify_failed", f"{_day(as_of)}重新抓取时文书号 {_shown(f['value'])} 仍在公示，应撤下",
                        newer[0] if newer else None, f["fetch_id"])
    runs = [_complete_run(con, source, since) for source in {r[1] for r in rows}]
    if not rows or not all(runs):
        return _outcome(f, None, "自报告整改以来尚未完整抓取公示该记录的栏目，等待下次抓取后复核")
    return _outcome(f, "verified", f"{_day(as_of)}该记录已从网站撤下（文书号 {_shown(f['value'])}，本次完整抓取未见）",
                    runs[0][1] if runs[0] else None, f["fetch_id"])


def _outcome(f: dict[str, Any], action: str | None, reason: str, fetch_id: str | None = None,
             ref_fetch_id: str | None = None) -> Outcome:
    return Outcome(f["finding_id"], f["period"], f["dept_id"], f["rule_id"], action, reason, fetch_id, ref_fetch_id)


def judge(con: duckdb.DuckDBPyConnection, f: dict[str, Any], since: str, as_of: date) -> Outcome:
    """One reported-fixed finding judged on the evidence newer than ``since`` (no step recorded)."""
    if f["record_key"] is None:
        return _judge_department(con, f, since, as_of)
    return _judge_record(con, f, since, as_of)


def verify(con: duckdb.DuckDBPyConnection, paths: Paths, *, as_of: date) -> list[Outcome]:
    """Judge every reported-fixed finding and record a system step for each decided one; the outcomes of all
    (decided first). Run after a crawl and the rescoring of the findings' periods, on the working database."""
    remember(con, paths)
    outcomes = []
    for finding_id, since in reported_fixed(paths).items():
        f = finding_row(con, paths, finding_id)
        if f is None:
            outcomes.append(Outcome(finding_id, "", "", "", None, "找不到该问题的原始记录，无法复核，请人工核实"))
            continue
        outcomes.append(judge(con, f, since, as_of))
    still_fixed = reported_fixed(paths)  # an assessor may have decided one meanwhile: theirs stands
    recorded = []
    for o in outcomes:
        if o.action and o.finding_id not in still_fixed:
            o = replace(o, action=None, reason="复核期间评估员已处理该问题，以评估员的决定为准")
        elif o.action:
            corrections.record(paths, [corrections.Finding(o.finding_id, o.period, o.dept_id, "fixed")], o.action,
                               username=SYSTEM_USER, role="system", reason=o.reason, fetch_id=o.fetch_id,
                               ref_fetch_id=o.ref_fetch_id)
        recorded.append(o)
    return sorted(recorded, key=lambda o: (o.action is None, o.dept_id, o.finding_id))


def apply_outcomes(con: duckdb.DuckDBPyConnection, outcomes: Sequence[Outcome]) -> int:
    """Give the decided findings their new status in ``findings`` (closed / open): scores are unchanged — only a
    waiver deducts differently — so the snapshot's findings follow without a rescoring."""
    changed = [(o.finding_id, corrections.ACTIONS[o.action].status) for o in outcomes if o.action]
    for finding_id, status in changed:
        con.execute("UPDATE findings SET status = $s WHERE finding_id = $f", {"s": status, "f": finding_id})
    return len(changed)


def pending_periods(paths: Paths) -> list[str]:
    """The periods of the findings waiting for verification (each must be rescored after a crawl)."""
    ids = list(reported_fixed(paths))
    steps = corrections.history(paths, ids)
    return sorted({p for p in steps["period"].dropna() if p})


# --- the side-by-side view ---------------------------------------------------------------------------

def comparison(con: duckdb.DuckDBPyConnection, paths: Paths, finding_id: str) -> dict[str, Any] | None:
    """The failing field before and after, for the side-by-side view: its name, the old value (as the finding
    recorded it) and the new one (the record as last read), both masked, with the two archived responses
    (fetch ids, URLs, times) the latest verification cites. None when the finding was never verified."""
    steps = corrections.history(paths, finding_id)
    steps = steps[steps["action"].isin(("verified", "verify_failed"))]
    f = finding_row(con, paths, finding_id)
    if steps.empty or f is None:
        return None
    step = steps.iloc[-1]
    rec = _record(con, f["kind"], f["record_key"], f["field"]) if f["record_key"] else None

    def fetch(fetch_id: Any) -> dict[str, Any]:
        row = _one(con, "SELECT url, fetched_at FROM fetches WHERE fetch_id = $f", {"f": fetch_id}) if fetch_id else None
        return {"fetch_id": fetch_id, "url": mask_text(row[0]) if row else None, "fetched_at": row[1] if row else None}

    new = fetch(step["fetch_id"])
    # a record last read before the new evidence was fetched is no longer on the site
    gone = rec is None or (new["fetched_at"] is not None and rec["last_seen"] < new["fetched_at"])
    now = ("（见复核说明）" if not f["record_key"] else "（该记录已撤下）" if gone
           else _shown(rec["value"]) if rec else "")
    return {"finding_id": finding_id, "action": step["action"], "reason": step["reason"], "at": step["at"],
            "field": f["field"], "label": _label(f["kind"], f["field"]),
            "old": {"value": _shown(f["value"]), **fetch(step["ref_fetch_id"] or f["fetch_id"])},
            "new": {"value": now, **new}}
