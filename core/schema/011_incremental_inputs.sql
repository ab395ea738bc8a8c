-- sgs schema, version 11: incremental scoring without rehashing every record (docs/scoring.md "Daily rescoring").
-- The record tables gain row_hash (UBIGINT, core.store.hash_records: filled when a record is saved), added by
-- core/store.py with the other record columns. A scoring remembers its as-of day: date_order's 晚于评估基准日
-- test is the only record rule that reads it, so when the day moves only the departments with a decision after
-- the earlier of the two days are rerun for it.
ALTER TABLE score_runs ADD COLUMN as_of DATE;
-- What the department-level rules rerun per department (metrics.incremental.LOCAL_RULES) read besides the
-- record rules' inputs: last_seen, sources, the column's latest page, the ledger's files (one 64-bit hash).
ALTER TABLE score_inputs ADD COLUMN evidence UBIGINT;
