-- sgs schema, version 12: what an unchanged page may re-sight instead of being read again (docs/crawling.md
-- "Unchanged pages"). The records a response yielded, counted as the crawl counts them (before records of one
-- key merge), set each time it is read; NULL when its reading went wrong (a record without any standard
-- field) or yielded none. A later 304 or same-hash answer re-sights the records stored from it with one
-- UPDATE of last_seen, but only while exactly that many current records still cite it.
ALTER TABLE fetches ADD COLUMN records INTEGER;
-- The reader a crawl read pages with (crawlers.resight.reader_key: a hash of the code and data files that
-- turn pages into records). When it differs from the last crawl's, every fetches.records is forgotten, so an
-- upgraded extractor reads every page again once.
ALTER TABLE crawls ADD COLUMN reader VARCHAR;
