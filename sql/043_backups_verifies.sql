-- Migration: the last `verify` of each backup: when, passed or failed, and
-- how long its restore took (the measured recovery time, RTO).
ALTER TABLE {{db}}.backups
    ADD COLUMN IF NOT EXISTS verified_at Nullable(DateTime64(3)) AFTER check_problem,
    ADD COLUMN IF NOT EXISTS verify_status LowCardinality(String) DEFAULT '' AFTER verified_at,
    ADD COLUMN IF NOT EXISTS verify_restore_seconds Float64 DEFAULT 0 AFTER verify_status
