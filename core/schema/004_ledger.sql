-- sgs schema, version 4: decision ledgers (办件台账) from the service hall or a department, imported by
-- `sgs ledger import` (metrics/ledger.py) and read by the ledger rules (unpublished, revoked, stale column).

-- One imported file: re-importing the same file name for the same department and kind replaces it.
CREATE TABLE ledger_files (
    ledger_id   VARCHAR PRIMARY KEY,         -- md5 of dept_id, kind and the file's name
    dept_id     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,            -- xk | cf
    file        VARCHAR NOT NULL,            -- the file as given (path)
    sha256      VARCHAR NOT NULL,            -- of the file's bytes: what was imported
    n_rows      INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL
);

-- One decision of a ledger.
CREATE TABLE ledger (
    ledger_id   VARCHAR NOT NULL,            -- → ledger_files
    row_no      INTEGER NOT NULL,            -- 1-based data row in the file (the header not counted)
    dept_id     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    wsh         VARCHAR NOT NULL,            -- 决定书文号, normalised like crawled ones
    xdr_mc      VARCHAR,                     -- 行政相对人名称
    jdrq        DATE NOT NULL,               -- 决定日期
    item        VARCHAR,                     -- 事项名称
    procedure   VARCHAR,                     -- 简易程序 | 普通程序 | NULL (the ledger does not say)
    status      VARCHAR NOT NULL,            -- 有效 | 撤销
    revoked_on  DATE,                        -- 撤销日期 (status 撤销)
    PRIMARY KEY (ledger_id, row_no)
);
