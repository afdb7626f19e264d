-- One row per chain: its depth (completed backups), size and time span.
-- It runs as the sidecar's login (SQL SECURITY DEFINER), like
-- request_status: readable with SELECT on it alone. OR REPLACE: views made
-- by earlier versions (SQL SECURITY INVOKER) get it.
CREATE OR REPLACE VIEW {{db}}.chains DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    database,
    chain,
    countIf(status = 'completed') AS depth,
    sumIf(total_size, status = 'completed') AS size,
    min(started_at) AS started_at,
    max(finished_at) AS finished_at,
    countIf(status = 'failed') AS failed,
    countIf(status = 'running') AS running
FROM {{db}}.backups FINAL
WHERE status != 'deleted'
GROUP BY database, chain
