"""The findings kept in (period, department) order, so a department's rows are a row group or two.

Why: scoring writes findings rule by rule, so each department's rows lay in every row group of a province's
11.6 M findings, and each first visit of a department's list (部门自查, 问题清单's pages) scanned them all
(docs/bench-dashboard.md). ``core.store``'s publish calls ``cluster`` before its snapshot's byte copy.
"""
from __future__ import annotations

import duckdb


def checkpoint(con: duckdb.DuckDBPyConnection) -> bool:
    """CHECKPOINT, False when another write transaction refuses it (the snapshot is then copied table by table)."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.TransactionException:  # "there are other write transactions active"
        return False
    return True


CLUSTERED = ("findings", "period, dept_id")  # the order the dashboard's lists filter by (``cluster``)


def cluster(con: duckdb.DuckDBPyConnection) -> bool:
    """Rewrite ``CLUSTERED`` in order (same definition and rows) if its rows span over twice the (key, row group)
    pairs an ordered table has (scoring writes rule by rule): a department's findings of a period are then a
    group or two, read alone by DuckDB's min/max. Once after a scoring run: a crawl, or an incremental rescoring's
    few departments (their rows together at the end), leave it in order. True if rewritten (bench-dashboard.md)."""
    (table, order), cur = CLUSTERED, con.cursor()  # a transaction of its own, whatever the caller's is
    try:
        ddl = cur.execute("SELECT sql FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $t",
                          {"t": table}).fetchall()
        if not ddl or not cur.execute(f"""SELECT count(DISTINCT ({order}, rowid // 122880))  -- a row group's rows
              > 2 * (count(DISTINCT ({order})) + count(DISTINCT rowid // 122880)) FROM {table}""").fetchall()[0][0]:
            return False
        for sql in (f"BEGIN; ALTER TABLE {table} RENAME TO _unordered", ddl[0][0],
                    f"INSERT INTO {table} SELECT * FROM _unordered ORDER BY {order}; DROP TABLE _unordered; COMMIT"):
            cur.execute(sql)
        return True
    finally:
        cur.close()
