-- Placeholder for migration 003, reserved for another branch of this session (migrations must run without
-- gaps). DELETE THIS FILE when merging the branch that brings the real 003_*.sql.
SELECT 1;
