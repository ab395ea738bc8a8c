-- sgs schema, version 2: the tables that join the crawler, the engine and the dashboard.

-- What a crawl found wrong with a source itself. Written by crawlers/, read by the availability rules.
CREATE TABLE availability (
    event_id    VARCHAR PRIMARY KEY,         -- uuid
    crawl_id    VARCHAR NOT NULL,            -- → crawls
    source_id   VARCHAR NOT NULL,            -- → sources
    dept_id     VARCHAR,                     -- NULL for a portal channel
    channel     VARCHAR NOT NULL,            -- site | portal
    kind        VARCHAR NOT NULL,            -- xk | cf
    problem     VARCHAR NOT NULL,            -- unreachable | column_missing | dead_link | blocked | runaway_paging
    url         VARCHAR NOT NULL,            -- the URL that failed
    fetch_id    VARCHAR,                     -- → fetches: the archived response, or the failure row
    detail      VARCHAR NOT NULL,            -- what happened, in Chinese (HTTP 404, 跳转至首页, 验证码页面, …)
    observed_at TIMESTAMP NOT NULL
);

-- One row per source per crawl: the availability history the 采集状态 page shows.
CREATE TABLE source_runs (
    crawl_id    VARCHAR NOT NULL,
    source_id   VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    pages       INTEGER NOT NULL DEFAULT 0,  -- pages fetched (list, detail, attachment)
    records     INTEGER NOT NULL DEFAULT 0,  -- records stored
    errors      INTEGER NOT NULL DEFAULT 0,
    status      VARCHAR NOT NULL,            -- ok | degraded | failed
    message     VARCHAR,                     -- first error, for the page
    PRIMARY KEY (crawl_id, source_id)
);

-- The record-level explanation of a score: for each department and period, total = 100 - sum(points).
CREATE TABLE deductions (
    period      VARCHAR NOT NULL,
    dept_id     VARCHAR NOT NULL,
    indicator   VARCHAR NOT NULL,
    rule_id     VARCHAR NOT NULL,
    n_findings  INTEGER NOT NULL,            -- findings of the rule (records for per-record rules)
    n_records   INTEGER NOT NULL,            -- assessed records of the department (the rate's denominator)
    points      DOUBLE NOT NULL,             -- points deducted from the total (after caps)
    how         VARCHAR NOT NULL,            -- how the points were computed, in Chinese, for the page
    scheme_version VARCHAR NOT NULL,
    PRIMARY KEY (period, dept_id, rule_id)
);

-- A stable identity for a finding, so an assessor's decision survives a rescoring.
ALTER TABLE findings ADD COLUMN finding_id VARCHAR;

-- The fourth indicator, 合规性: publication rules (超期公示, personal data on public pages, …).
ALTER TABLE scores ADD COLUMN compliance DOUBLE;
ALTER TABLE county_scores ADD COLUMN compliance DOUBLE;

-- Change since the previous period of the same granularity (month → month, quarter → quarter).
ALTER TABLE scores ADD COLUMN prev_total DOUBLE;
ALTER TABLE scores ADD COLUMN prev_rank INTEGER;
ALTER TABLE county_scores ADD COLUMN prev_total DOUBLE;
ALTER TABLE county_scores ADD COLUMN prev_rank INTEGER;
