-- sgs schema, version 10: incremental scoring (metrics/incremental.py, docs/scoring.md "Daily rescoring").

-- What a department's record-level findings of a period were computed from: one 64-bit hash of its assessed
-- records (every column but last_seen), its site 文书号 of every period (repeats), the portal records sharing
-- its 文书号, its ledger, catalogue and department row. A department whose hash is unchanged keeps its rows.
CREATE TABLE score_inputs (
    period      VARCHAR NOT NULL,
    dept_id     VARCHAR NOT NULL,
    fingerprint UBIGINT NOT NULL,
    n_records   INTEGER NOT NULL              -- assessed records (both kinds) when the hash was taken
);

-- One row per scored period: what every department shared at its last scoring (code, scheme, calendar, rules;
-- the complete walks of the columns then known), and what that scoring did.
CREATE TABLE score_runs (
    period       VARCHAR NOT NULL,
    context      VARCHAR NOT NULL,            -- sha256 of the rules' code, the scheme, the calendar, the rule set
    walks_until  TIMESTAMP,                   -- the latest complete walk's end then
    walks_hash   UBIGINT,                     -- hash of the complete walks that had ended by walks_until
    mode         VARCHAR NOT NULL,            -- full | incremental
    why          VARCHAR NOT NULL,            -- why full (Chinese), or which departments were rescored
    n_rescored   INTEGER NOT NULL,            -- departments whose record-level findings were recomputed
    scored_at    TIMESTAMP NOT NULL
);
