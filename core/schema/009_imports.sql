-- sgs schema, version 9: inputs beyond the crawl (docs/corrections.md, "Inputs beyond the crawl").

-- Where a department's row and a catalogue item came from: 'config' (city.toml, replaced by every crawl's
-- sync, core.store.save_city), 'registry' (sgs departments import), 'import' (sgs catalogue import) or
-- 'dashboard' (an assessor's entry, applied by the pipeline). The sync replaces only 'config' rows, and a
-- department whose row or catalogue came from elsewhere keeps it (docs/configuration.md, "Imports win").
ALTER TABLE departments ADD COLUMN liaison_email VARCHAR;
ALTER TABLE departments ADD COLUMN origin VARCHAR DEFAULT 'config';
ALTER TABLE catalogue_items ADD COLUMN agency VARCHAR;               -- 实施主体 (the national template's column)
ALTER TABLE catalogue_items ADD COLUMN origin VARCHAR DEFAULT 'config';

-- One import that changed something (a file, or an assessor's catalogue entry applied from the workbench):
-- what, for whom, from where, its sha256 (a file) or entry id (the dashboard), how many rows. An import that
-- would change nothing is reported 无变化 and leaves no row.
CREATE TABLE imports (
    target      VARCHAR NOT NULL,        -- catalogue | departments
    dept_id     VARCHAR,                 -- the department of a catalogue; NULL for the registry
    origin      VARCHAR NOT NULL,        -- import | registry | dashboard
    ref         VARCHAR NOT NULL,        -- the file as given, or 'workbench:<entry id>'
    sha256      VARCHAR,                 -- of the file's bytes (NULL for a dashboard entry)
    n_rows      INTEGER NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
