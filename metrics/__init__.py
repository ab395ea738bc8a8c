"""Storage, checks and scores: everything computed from the records the crawlers stored."""
