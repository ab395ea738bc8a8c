-- sgs schema, version 1. Record tables (xk_records, cf_records) are created by store.py from the field
-- registry, so the standard's codes are columns without being written twice.

CREATE TABLE departments (
    dept_id       VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    county        VARCHAR NOT NULL,          -- 县区, or 市本级 for the city's own departments
    credit_code   VARCHAR,                   -- the department's own 统一社会信用代码
    website       VARCHAR,
    column_url    VARCHAR,                   -- its 双公示 column
    liaison       VARCHAR,
    liaison_phone VARCHAR
);

CREATE TABLE catalogue_items (              -- 事项目录
    dept_id   VARCHAR NOT NULL,
    item_code VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,              -- xk | cf
    name      VARCHAR NOT NULL,
    basis     VARCHAR,                       -- 设定依据
    PRIMARY KEY (dept_id, item_code)
);

CREATE TABLE sources (
    source_id VARCHAR PRIMARY KEY,
    dept_id   VARCHAR,                       -- NULL for a portal channel covering many departments
    channel   VARCHAR NOT NULL,              -- site | portal
    kind      VARCHAR NOT NULL,              -- xk | cf
    start_url VARCHAR NOT NULL,
    profile   JSON NOT NULL                  -- the source's whole configuration, as loaded
);

CREATE TABLE crawls (
    crawl_id    VARCHAR PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    pages       INTEGER DEFAULT 0,
    records     INTEGER DEFAULT 0,
    errors      INTEGER DEFAULT 0,
    status      VARCHAR NOT NULL             -- running | done | failed
);

CREATE TABLE fetches (                     -- index of the WARC archive: one row per response or failure
    fetch_id     VARCHAR PRIMARY KEY,        -- the WARC-Record-ID of the response, or a uuid for a failure
    crawl_id     VARCHAR,
    source_id    VARCHAR,
    url          VARCHAR NOT NULL,
    fetched_at   TIMESTAMP NOT NULL,
    status       INTEGER,                    -- HTTP status; NULL when no response came back
    content_type VARCHAR,
    sha256       VARCHAR,
    warc_file    VARCHAR,                    -- relative to the archive folder
    warc_offset  BIGINT,
    warc_length  BIGINT,
    error        VARCHAR                     -- why no usable response (timeout, refused, parse error, …)
);

CREATE TABLE findings (
    period      VARCHAR NOT NULL,            -- 2026Q3 | 2026-07
    dept_id     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    record_key  VARCHAR,
    channel     VARCHAR,
    rule_id     VARCHAR NOT NULL,
    indicator   VARCHAR NOT NULL,            -- timeliness | completeness | accuracy
    severity    VARCHAR NOT NULL,
    field       VARCHAR,                     -- the standard code the finding is about
    value       VARCHAR,                     -- the offending value, personal data masked
    message     VARCHAR NOT NULL,
    url         VARCHAR,                     -- the page the value was read from
    fetch_id    VARCHAR,                     -- → fetches: the archived response
    status      VARCHAR NOT NULL DEFAULT 'open'
);

CREATE TABLE scores (
    period         VARCHAR NOT NULL,
    dept_id        VARCHAR NOT NULL,
    county         VARCHAR NOT NULL,
    n_records      INTEGER NOT NULL,
    timeliness     DOUBLE,
    completeness   DOUBLE,
    accuracy       DOUBLE,
    total          DOUBLE,
    grade          VARCHAR,
    rank           INTEGER,
    county_rank    INTEGER,                  -- rank inside its county
    scheme_version VARCHAR NOT NULL,
    computed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (period, dept_id)
);

CREATE TABLE county_scores (
    period         VARCHAR NOT NULL,
    county         VARCHAR NOT NULL,
    n_departments  INTEGER NOT NULL,
    n_records      INTEGER NOT NULL,
    timeliness     DOUBLE,
    completeness   DOUBLE,
    accuracy       DOUBLE,
    total          DOUBLE,
    grade          VARCHAR,
    rank           INTEGER,
    scheme_version VARCHAR NOT NULL,
    computed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (period, county)
);
