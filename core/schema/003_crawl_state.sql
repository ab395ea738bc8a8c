-- sgs schema, version 3: what the crawler needs to be polite on the next run and to resume this one.

-- Conditional requests: the validators a response came with, sent back next time (If-None-Match /
-- If-Modified-Since). An unchanged page is archived as a WARC revisit record pointing at revisit_of.
ALTER TABLE fetches ADD COLUMN etag VARCHAR;
ALTER TABLE fetches ADD COLUMN last_modified VARCHAR;
ALTER TABLE fetches ADD COLUMN revisit_of VARCHAR;         -- → fetches: the response holding the bytes
-- A POSTed page (form paging) is told apart from its siblings by its form data.
ALTER TABLE fetches ADD COLUMN method VARCHAR DEFAULT 'GET';
ALTER TABLE fetches ADD COLUMN form VARCHAR;               -- urlencoded form data of a POST
-- Which fetches were pages of a source's walk (list | detail | attachment), so a killed crawl resumes by
-- replaying them from the archive instead of fetching them again.
ALTER TABLE fetches ADD COLUMN role VARCHAR;
-- How many tries the answer took (a 500 or a reset that a retry cured is still worth knowing).
ALTER TABLE fetches ADD COLUMN attempts INTEGER;
