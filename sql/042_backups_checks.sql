-- Migration: the last `check` of each backup (integrity without restore):
-- when, good or broken, and the first problem it found.
ALTER TABLE {{db}}.backups
    ADD COLUMN IF NOT EXISTS checked_at Nullable(DateTime64(3)) AFTER tables,
    ADD COLUMN IF NOT EXISTS check_status LowCardinality(String) DEFAULT '' AFTER checked_at,
    ADD COLUMN IF NOT EXISTS check_problem String DEFAULT '' AFTER check_status
