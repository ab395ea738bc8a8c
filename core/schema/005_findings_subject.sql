-- sgs schema, version 5: a finding carries its record's 文书号 and 相对人名称.
-- People search findings by what they know a decision by; reading them from the finding itself keeps the
-- assessor's search a scan of the period's findings instead of every record of a province (docs/bench-dashboard.md).
ALTER TABLE findings ADD COLUMN wsh VARCHAR;      -- the record's 文书号 (NULL for department-level findings)
ALTER TABLE findings ADD COLUMN subject VARCHAR;  -- the record's 行政相对人名称, as published (masked when shown)
