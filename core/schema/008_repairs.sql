-- sgs schema, version 8: the credit portal's repair register (信用修复, 长治（十）), imported by
-- `sgs repair import` (metrics/repairs.py) and read by the rules repair_still_shown and repair_grant_invalid.

-- One imported file (by its bytes: the same file twice is one row).
CREATE TABLE repair_files (
    sha256      VARCHAR PRIMARY KEY,
    file        VARCHAR NOT NULL,            -- the file's name as given
    n_rows      INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL
);

-- One repair granted: a penalty (by 文书号) of a subject taken off publication early. Rows are only added: a
-- grant already stored (same subject, 文书号 and date) is kept as it was, so re-importing changes nothing.
CREATE TABLE credit_repairs (
    repair_id    VARCHAR PRIMARY KEY,        -- md5 of subject (code, else name), 文书号, granted_on
    subject      VARCHAR NOT NULL,           -- 相对人名称
    subject_code VARCHAR,                    -- 统一社会信用代码 or ID number as the register gives it
    wsh          VARCHAR NOT NULL,           -- the repaired penalty's 决定书文号, normalised like crawled ones
    granted_on   DATE NOT NULL,              -- 修复日期: the day the repair was granted
    file_sha256  VARCHAR,                    -- → repair_files
    row_no       INTEGER,                    -- 1-based data row in that file
    imported_at  TIMESTAMP NOT NULL
);
