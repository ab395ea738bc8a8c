-- sgs schema, version 6: verdicts only on evidence (docs/scoring.md, "What the evidence cannot decide").

-- A finding may cite a second archived response besides the page it was read from: for a record found
-- late by observed absence, the list page of an earlier crawl of the same column that did not list it yet.
ALTER TABLE findings ADD COLUMN ref_fetch_id VARCHAR;        -- → fetches

-- What the evidence could not decide: a record (or a department, record_key NULL) a rule could neither
-- pass nor fail (未能核验), e.g. an undated record first seen after its deadline with no earlier crawl of
-- its column. Never deducted; counted per department and shown beside the score.
CREATE TABLE unverified (
    period      VARCHAR NOT NULL,
    dept_id     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    record_key  VARCHAR,                     -- NULL for a department-level rule
    channel     VARCHAR,
    rule_id     VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,            -- why it could not be decided, in Chinese
    url         VARCHAR,
    fetch_id    VARCHAR,                     -- → fetches: the archived response the record was read from
    wsh         VARCHAR
);

-- Per department and period: assessed records whose timeliness could not be verified, and whether the
-- department is ranked: ranked | no_records (本期无公示记录) | insufficient_evidence (证据不足).
-- Only ranked departments have a rank and a grade.
ALTER TABLE scores ADD COLUMN n_unverified INTEGER DEFAULT 0;
ALTER TABLE scores ADD COLUMN standing VARCHAR DEFAULT 'ranked';
