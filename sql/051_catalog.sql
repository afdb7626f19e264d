-- The catalog as requesters read it: one row per backup (backups FINAL),
-- without the tables each holds (tables, table_bytes: table names and row
-- counts of databases a requester may have no right on). It runs as the
-- sidecar's login (SQL SECURITY DEFINER), so requesters need SELECT on it
-- alone, not on backups: SELECT on a table is what a materialized view on
-- it needs, and one fired by every catalog write (slow, or failing) would
-- hold every answer up. A materialized view over a view is never fired.
CREATE OR REPLACE VIEW {{db}}.catalog DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    database, name, kind, kind_reason, full_forced, chain, base, location, status, clickhouse_backup_id,
    started_at, finished_at, num_files, stored_bytes, total_size, uncompressed_size, compressed_size,
    error, table_set, checked_at, check_status, check_problem, verified_at, verify_status,
    verify_restore_seconds, copies
FROM {{db}}.backups FINAL
