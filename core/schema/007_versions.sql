-- sgs schema, version 7: issued assessments (docs/corrections.md).

-- An assessment once issued (the period's report sent out) is frozen: each issue of a period is a numbered
-- version, its results copied whole into their own file (issued/<period>/v<N>.duckdb beside the database),
-- so later decisions make version 2 without touching version 1. The remediation deadline of a period's
-- findings runs from its first issue (整改期限: the scheme's remediation_workdays after issued_on).
CREATE TABLE issued_versions (
    period      VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    issued_on   DATE NOT NULL,          -- the report date stated in the documents
    issued_at   TIMESTAMP NOT NULL,
    issued_by   VARCHAR,
    note        VARCHAR,                -- why this version (version 2 and later: what changed and why)
    deadline    DATE NOT NULL,          -- 整改期限 stated in this version's notices
    file        VARCHAR NOT NULL,       -- the frozen results, relative to the database's folder
    decisions   BIGINT NOT NULL,        -- the correction store's newest step applied (metrics.corrections.version)
    PRIMARY KEY (period, version)
);
