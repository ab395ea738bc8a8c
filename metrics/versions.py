"""Issued assessments: a period's results frozen as numbered versions, and the remediation deadline.

Why: once a quarter's report is sent out, departments and leaders hold it; a later decision (an objection
accepted, a waiver) must not silently change what was issued. So issuing copies the period's results into
their own file and records a row in ``issued_versions`` (schema 007); later decisions rescore the live
tables, and issuing again makes version 2 beside version 1. The remediation deadline (整改期限) of a period's
findings runs from its first issue.
"""
from __future__ import annotations

from datetime import date

import duckdb


def deadline(con: duckdb.DuckDBPyConnection, period: str) -> date | None:
    """The period's remediation deadline (its first issued version's), None before it was ever issued."""
    row = con.execute("SELECT deadline FROM issued_versions WHERE period = $p ORDER BY version LIMIT 1",
                      {"p": period}).fetchall()
    return row[0][0] if row else None
