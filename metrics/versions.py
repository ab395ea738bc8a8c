"""Issued assessments: a period's results frozen as numbered versions, and the remediation deadline.

Why: a quarter's report, once sent out, is an official document; a later decision (an objection
accepted, a waiver) must not silently change what was issued. So issuing copies the period's results into
their own file (``issued/<period>/v<N>.duckdb`` beside the database) and records a row in ``issued_versions``
(schema 007); later decisions rescore the live tables, and issuing again makes version 2 beside version 1,
with what changed and why (``version_changes`` in the new file). A version's file holds everything the
documents read, so ``open_version`` is a connection ``reports`` use exactly as a published snapshot, and the
documents of a version are the same whenever they are built.

The remediation deadline (整改期限) runs from the first issue: version 1's deadline is ``issued_on`` plus the
scheme's ``remediation_workdays``; a later version corrects the results but does not restart the clock, so
it keeps (and its notices state) the first deadline. A finding is 逾期未整改 when its current status (the
correction store's latest step over the scored status) is still open/confirmed after that deadline.

Snapshots published before schema 007 have no ``issued_versions``: every reader here treats that as "never
issued" instead of failing.
"""
from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.errors import InputError
from core.periods import PeriodError, parse_period
from core.settings import Paths
from metrics import corrections
from metrics.results import df_records, is_missing

FROZEN = "frozen_version"  # the marker table of a version's file: (period, version)
FROZEN_DECISIONS = "frozen_decisions"  # the store's steps on the period's findings when the version was issued
CHANGES = "version_changes"  # version 2+: what changed against the version before, and why
CHANGE_COLUMNS = ["what", "dept_id", "dept_name", "finding_id", "rule_id", "wsh", "before", "after", "reason",
                  "decided_by", "decided_at"]
RESCORED = "重新评分（采集数据或评分更新）"  # a change no recorded decision explains


class VersionError(InputError, ValueError):
    """A version that cannot be issued or read as asked (Chinese message; exit 2)."""


# --- reading (any connection: working database, snapshot, a version's file) -------------------------------

def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database (or a temporary view over it) has ``name``: an older snapshot lacks the newer
    tables. Asked of the catalogue, never by reading the name (DuckDB would then scan a Python object of
    that name)."""
    return bool(con.execute("""
        SELECT count(*) FROM (
            SELECT table_name AS n FROM duckdb_tables() WHERE database_name = current_database() OR temporary
            UNION ALL
            SELECT view_name FROM duckdb_views() WHERE database_name = current_database() OR temporary)
        WHERE n = $name""", {"name": name}).fetchall()[0][0])


def issued(con: duckdb.DuckDBPyConnection, period: str) -> list[dict[str, Any]]:
    """The period's issued versions, oldest first ([] before any issue or on a pre-007 snapshot)."""
    if not has_table(con, "issued_versions"):
        return []
    cur = con.execute("SELECT * FROM issued_versions WHERE period = $p ORDER BY version", {"p": period})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def deadline(con: duckdb.DuckDBPyConnection, period: str) -> date | None:
    """The period's remediation deadline (its first issued version's), None before it was ever issued."""
    rows = issued(con, period)
    return rows[0]["deadline"] if rows else None


def frozen(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """(period, version) when ``con`` is a version's file, else None (a snapshot or the working database)."""
    if not has_table(con, FROZEN):
        return None
    period, version = con.execute(f"SELECT period, version FROM {FROZEN}").fetchall()[0]
    return period, int(version)


def version_info(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Any] | None:
    """What the documents state about their version: the version's row with ``draft`` False for a version's
    file; for live results of a period issued before, the latest issued row with ``draft`` True; else None."""
    rows = issued(con, period)
    mark = frozen(con)
    if mark is not None and mark[0] == period:
        row = next(r for r in rows if r["version"] == mark[1])
        return {**row, "draft": False}
    return {**rows[-1], "draft": True} if rows else None


def version_label(info: dict[str, Any] | None) -> str:
    """"版本 1（2026-12-05 签发）", or for live results of an issued period the draft's own words."""
    if info is None:
        return ""
    issued_text = f"版本 {info['version']}（{info['issued_on']:%Y-%m-%d} 签发）"
    if info["draft"]:
        return f"修订稿，未签发：依据最新评分结果生成，与已签发的{issued_text}可能不同，以签发版本为准"
    return issued_text


def version_changes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The changes a version's file records against the version before (empty for version 1 or a snapshot)."""
    if not has_table(con, CHANGES):
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return con.execute(f"SELECT {', '.join(CHANGE_COLUMNS)} FROM {CHANGES} ORDER BY what, dept_id, "
                       "wsh NULLS FIRST, finding_id").df()


def store_paths(con: duckdb.DuckDBPyConnection) -> Paths | None:
    """The deployment a connection's file belongs to (where the correction store is): the working database,
    a snapshot under ``published/`` or a version under ``issued/<period>/``; None in memory."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    if not row or not row[0][0]:
        return None
    folder = Path(row[0][0]).parent
    if folder.name == "published":
        folder = folder.parent
    elif folder.parent.name == "issued":
        folder = folder.parent.parent
    return Paths(folder / "sgs.duckdb")


def history(con: duckdb.DuckDBPyConnection, paths: Paths | None, period: str) -> pd.DataFrame:
    """Every step on the period's findings, oldest first: as frozen in a version's file, else from the store
    (all steps read, then kept by finding: people's steps are few, a province's findings many)."""
    if has_table(con, FROZEN_DECISIONS):
        return con.execute(f"SELECT * FROM {FROZEN_DECISIONS} ORDER BY id").df()
    paths = paths or store_paths(con)
    if paths is None:
        return pd.DataFrame(columns=corrections.HISTORY_COLUMNS)
    steps = corrections.steps(paths)
    if steps.empty:
        return steps
    ids = {r[0] for r in con.execute("SELECT finding_id FROM findings WHERE period = $p AND finding_id IS NOT NULL",
                                     {"p": period}).fetchall()}
    return steps[steps["finding_id"].isin(ids)].reset_index(drop=True)


def waivers(con: duckdb.DuckDBPyConnection, paths: Paths | None, period: str) -> dict[str, dict[str, Any]]:
    """finding_id → the step that waived it (reason, username, at, action): its newest step to ``waived``."""
    steps = history(con, paths, period)
    steps = steps[steps["status"] == corrections.WAIVED]
    return {str(r["finding_id"]): r for r in df_records(steps)}


def current_statuses(con: duckdb.DuckDBPyConnection, paths: Paths | None, period: str) -> pd.DataFrame:
    """The period's findings (finding_id, dept_id, status) with their current status: the store's latest step
    over the status they were scored with."""
    found = con.execute("SELECT finding_id, dept_id, status FROM findings WHERE period = $p", {"p": period}).df()
    steps = history(con, paths, period)
    if steps.empty:
        return found
    latest = steps.drop_duplicates("finding_id", keep="last").set_index("finding_id")["status"]
    found["status"] = found["finding_id"].map(latest).fillna(found["status"])
    return found


def overdue(con: duckdb.DuckDBPyConnection, paths: Paths | None, period: str, today: date) -> dict[str, int]:
    """逾期未整改 per department (dept_id → count, departments with none left out): findings whose current
    status is still open/confirmed when ``today`` is after the period's deadline; {} before the deadline or
    when the period was never issued. The one count behind the notices, the report and the dashboard."""
    due = deadline(con, period)
    if not corrections.is_overdue(corrections.OPEN, due, today):
        return {}
    found = current_statuses(con, paths, period)
    late = found[[corrections.is_overdue(s, due, today) for s in found["status"]]]
    return {str(k): int(v) for k, v in late.groupby("dept_id").size().items()}


# --- issuing ---------------------------------------------------------------------------------------------

def version_file(paths: Paths, period: str, n: int) -> Path:
    return paths.root / "issued" / period / f"v{n}.duckdb"


def open_version(paths: Paths, period: str, n: int) -> duckdb.DuckDBPyConnection:
    """A version's frozen results, read-only: reports use it exactly as a snapshot."""
    label = _label(period)
    target = version_file(paths, label, n)
    if not target.is_file():
        have = sorted(int(p.stem[1:]) for p in target.parent.glob("v*.duckdb") if p.stem[1:].isdigit())
        known = f"已签发的版本为 {'、'.join(map(str, have))}" if have else "该期间尚未签发（sgs issue）"
        raise VersionError(f"评估期间 {label} 没有版本 {n}（{target} 不存在）：{known}。")
    return duckdb.connect(str(target), read_only=True)


def changes(paths: Paths, period: str, n: int) -> pd.DataFrame:
    """What version ``n`` changed against version n−1 and why, as rows for documents (empty for version 1)."""
    con = open_version(paths, period, n)
    try:
        return version_changes(con)
    finally:
        con.close()


def issue(con: duckdb.DuckDBPyConnection, paths: Paths, period: str, *, issued_on: date, by: str,
          note: str | None = None) -> int:
    """Freeze the period's current results as its next version (``con``: the working database); returns N.

    Refused (VersionError) for a period never scored, for decisions recorded after the last scoring (rescore
    first: the version would not show them), and when nothing changed since the last version. The file is
    written under a temporary name and renamed; the ``issued_versions`` row is written last, so a failure
    leaves neither."""
    label = _label(period)
    _require_scored(con, label)
    _require_rescored(con, paths, label)
    before = issued(con, label)
    n = (before[-1]["version"] + 1) if before else 1
    found = pd.DataFrame(columns=CHANGE_COLUMNS)
    if before:
        found = _changes_since(con, paths, label, before[-1])
        if found.empty:
            raise VersionError(f"评估期间 {label} 自版本 {before[-1]['version']}（{before[-1]['issued_on']:%Y-%m-%d} 签发）"
                               "以来得分、等级、排名和问题状态都没有变化，无需签发新版本。")
    row = {"period": label, "version": n, "issued_on": issued_on, "issued_at": datetime.now(), "issued_by": by,
           "note": note, "deadline": before[0]["deadline"] if before else _first_deadline(label, issued_on),
           "file": f"issued/{label}/v{n}.duckdb", "decisions": corrections.version(paths)}
    target = version_file(paths, label, n)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".v{n}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _write_version(con, tmp, label, row, history(con, paths, label), found)
        os.replace(tmp, target)
        try:
            con.execute(f"INSERT INTO issued_versions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                        list(row.values()))
        except Exception:
            target.unlink(missing_ok=True)
            raise
    finally:
        for leftover in (tmp, Path(f"{tmp}.wal")):
            leftover.unlink(missing_ok=True)
    return n


def _label(period: str) -> str:
    try:
        return parse_period(period).label
    except PeriodError as exc:
        raise VersionError(str(exc)) from None


def _require_scored(con: duckdb.DuckDBPyConnection, label: str) -> None:
    if not con.execute("SELECT count(*) FROM scores WHERE period = $p", {"p": label}).fetchall()[0][0]:
        raise VersionError(f"评估期间 {label} 还没有评分，不能签发：请先运行 sgs score --period {label}。")


def _require_rescored(con: duckdb.DuckDBPyConnection, paths: Paths, label: str) -> None:
    """Every decision recorded so far is in the scored statuses (else the version would not show it)."""
    scored = con.execute("SELECT finding_id, status AS scored FROM findings WHERE period = $p", {"p": label}).df()
    latest = corrections.latest(paths, label)
    stale = scored.merge(latest, on="finding_id")
    stale = stale[stale["status"] != stale["scored"]]
    if len(stale):
        raise VersionError(f"评估期间 {label} 有 {len(stale)} 个问题在最后一次评分之后又有处理决定，尚未计入得分："
                           f"请先运行 sgs score --period {label} 重新评分，再签发。")


def _first_deadline(label: str, issued_on: date) -> date:
    from core.workdays import default_calendar
    from metrics.scheme import load_scheme, scheme_path

    scheme = load_scheme(scheme_path(parse_period(label)))
    return default_calendar().add_workdays(issued_on, scheme.remediation_workdays)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_version(con: duckdb.DuckDBPyConnection, tmp: Path, label: str, row: dict[str, Any],
                   steps: pd.DataFrame, found: pd.DataFrame) -> None:
    """Copy what the documents read of the period into the new file ``tmp``."""
    prev = parse_period(label).previous().label
    fetch_ids = ("(SELECT fetch_id FROM findings WHERE period = $p UNION SELECT ref_fetch_id FROM findings "
                 "WHERE period = $p UNION SELECT fetch_id FROM unverified WHERE period = $p)")
    cutoff = ("(SELECT max(fetched_at) FROM fetches WHERE fetched_at <= "
              "(SELECT max(computed_at) FROM scores WHERE period = $p))")
    copies = {
        "schema_version": "SELECT * FROM schema_version",
        "departments": "SELECT * FROM departments",
        "scores": "SELECT * FROM scores WHERE period IN ($p, $prev)",
        "county_scores": "SELECT * FROM county_scores WHERE period IN ($p, $prev)",
        "deductions": "SELECT * FROM deductions WHERE period = $p",
        "findings": "SELECT * FROM findings WHERE period IN ($p, $prev)",  # the previous: 上期 counts
        "unverified": "SELECT * FROM unverified WHERE period = $p",
        "xk_records": "SELECT * FROM xk_records WHERE record_key IN (SELECT record_key FROM findings "
                      "WHERE period = $p AND kind = 'xk')",
        "cf_records": "SELECT * FROM cf_records WHERE record_key IN (SELECT record_key FROM findings "
                      "WHERE period = $p AND kind = 'cf')",
        "fetches": f"SELECT * FROM fetches WHERE fetch_id IN {fetch_ids} OR fetched_at = {cutoff}",
        "issued_versions": "SELECT * FROM issued_versions WHERE period = $p",
    }
    con.execute(f"ATTACH {_quote(tmp)} AS _issue")
    try:
        for table, sql in copies.items():
            params = {k: v for k, v in (("p", label), ("prev", prev)) if f"${k}" in sql}
            con.execute(f"CREATE TABLE _issue.{table} AS {sql}", params)
        con.execute(f"INSERT INTO _issue.issued_versions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))
        con.execute(f"CREATE TABLE _issue.{FROZEN} AS SELECT ?::VARCHAR AS period, ?::INTEGER AS version",
                    [label, row["version"]])
        frames = {FROZEN_DECISIONS: steps.reindex(columns=corrections.HISTORY_COLUMNS).astype("object"),
                  CHANGES: found.reindex(columns=CHANGE_COLUMNS).astype("object")}
        for table, frame in frames.items():
            con.register("_frame", _as_text(frame))
            con.execute(f"CREATE TABLE _issue.{table} AS SELECT * FROM _frame")
            con.unregister("_frame")
        con.execute("CHECKPOINT _issue")
    finally:
        con.execute("DETACH _issue")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text (an empty frame has no types to infer; ids stay exact), ``id`` as an integer."""
    out = pd.DataFrame({c: pd.Series([None if is_missing(v) else str(v) for v in frame[c]], dtype="string")
                        for c in frame.columns})
    if "id" in out:
        out["id"] = pd.to_numeric(out["id"]).astype("Int64")
    return out


# --- what changed against the last version ------------------------------------------------------------------

def _changes_since(con: duckdb.DuckDBPyConnection, paths: Paths, label: str, last: dict[str, Any]) -> pd.DataFrame:
    """Departments whose total, grade, rank or standing changed, and findings whose status changed (or that
    appeared or went), against the last version's file; each finding with the decision that changed it."""
    previous = paths.root / last["file"]
    if not previous.is_file():
        raise VersionError(f"找不到已签发的版本 {last['version']} 的文件 {previous}：无法与之比较。"
                           "请从备份恢复该文件后再签发。")
    con.execute(f"ATTACH {_quote(previous)} AS _prev (READ_ONLY)")
    try:
        depts = con.execute("""
            SELECT coalesce(n.dept_id, o.dept_id) AS dept_id, coalesce(d.name, n.dept_id, o.dept_id) AS dept_name,
                   o.total AS o_total, o.grade AS o_grade, o.rank AS o_rank, o.standing AS o_standing,
                   n.total AS n_total, n.grade AS n_grade, n.rank AS n_rank, n.standing AS n_standing
            FROM (SELECT * FROM scores WHERE period = $p) n
            FULL JOIN (SELECT * FROM _prev.scores WHERE period = $p) o USING (dept_id)
            LEFT JOIN departments d ON d.dept_id = coalesce(n.dept_id, o.dept_id)
            WHERE n.total IS DISTINCT FROM o.total OR n.grade IS DISTINCT FROM o.grade
               OR n.rank IS DISTINCT FROM o.rank OR n.standing IS DISTINCT FROM o.standing
            ORDER BY dept_id""", {"p": label}).df()
        found = con.execute("""
            SELECT coalesce(n.finding_id, o.finding_id) AS finding_id, coalesce(n.dept_id, o.dept_id) AS dept_id,
                   coalesce(d.name, n.dept_id, o.dept_id) AS dept_name, coalesce(n.rule_id, o.rule_id) AS rule_id,
                   coalesce(x.XK_WSH, c.CF_WSH) AS wsh, o.status AS before, n.status AS after
            FROM (SELECT * FROM findings WHERE period = $p) n
            FULL JOIN (SELECT * FROM _prev.findings WHERE period = $p) o USING (finding_id)
            LEFT JOIN departments d ON d.dept_id = coalesce(n.dept_id, o.dept_id)
            LEFT JOIN xk_records x ON coalesce(n.kind, o.kind) = 'xk' AND x.record_key = coalesce(n.record_key, o.record_key)
            LEFT JOIN cf_records c ON coalesce(n.kind, o.kind) = 'cf' AND c.record_key = coalesce(n.record_key, o.record_key)
            WHERE n.status IS DISTINCT FROM o.status
            ORDER BY dept_id, wsh NULLS FIRST, finding_id""", {"p": label}).df()
    finally:
        con.execute("DETACH _prev")
    steps = history(con, paths, label)
    steps = steps[steps["id"] > int(last["decisions"])].drop_duplicates("finding_id", keep="last")
    why = {str(r["finding_id"]): r for r in df_records(steps)}
    rows = [_finding_change(f, why.get(str(f["finding_id"]))) for f in df_records(found)]
    per_dept = pd.Series([r["dept_id"] for r in rows]).value_counts().to_dict() if rows else {}
    rows = [_dept_change(d, int(per_dept.get(d["dept_id"], 0))) for d in df_records(depts)] + rows
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _status_text(status: Any, gone: str) -> str:
    return gone if is_missing(status) else corrections.STATUSES.get(status, str(status))


def _finding_change(f: dict[str, Any], step: dict[str, Any] | None) -> dict[str, Any]:
    label = corrections.ACTIONS[step["action"]].label if step and step["action"] in corrections.ACTIONS else ""
    reason = f"{label}：{step['reason']}" if step and step.get("reason") else (label or RESCORED)
    return {"what": "问题", "dept_id": f["dept_id"], "dept_name": f["dept_name"], "finding_id": f["finding_id"],
            "rule_id": f["rule_id"], "wsh": None if is_missing(f["wsh"]) else f["wsh"],
            "before": _status_text(f["before"], "（上一版本无此问题）"), "after": _status_text(f["after"], "（本版本不再列出）"),
            "reason": reason, "decided_by": step["username"] if step else None, "decided_at": step["at"] if step else None}


def _placed(total: Any, grade: Any, rank: Any, standing: Any) -> str:
    if is_missing(total):
        return "（无得分）"
    if (standing or "ranked") != "ranked":
        from core.vocab import STANDINGS
        return f"总分 {total:.2f}，不排名（{STANDINGS.get(standing, standing)}）"
    return f"总分 {total:.2f}，{grade}，第{int(rank)}名"


def _dept_change(d: dict[str, Any], n_findings: int) -> dict[str, Any]:
    reason = (f"该部门有 {n_findings} 个问题的处理结果变化（见下方问题变化），重新计分" if n_findings
              else "其他部门得分变化引起的排名变化" if d["o_total"] == d["n_total"] else RESCORED)
    return {"what": "得分", "dept_id": d["dept_id"], "dept_name": d["dept_name"], "finding_id": None,
            "rule_id": None, "wsh": None, "before": _placed(d["o_total"], d["o_grade"], d["o_rank"], d["o_standing"]),
            "after": _placed(d["n_total"], d["n_grade"], d["n_rank"], d["n_standing"]), "reason": reason,
            "decided_by": None, "decided_at": None}
