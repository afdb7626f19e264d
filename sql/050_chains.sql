-- One row per chain: its depth (completed backups), size and time span.
-- size is what deleting the chain would free: the bytes its backups added
-- to the bucket (stored_bytes, failed ones included); logical_size what a
-- restore of its newest completed backup brings back.
-- It runs as the sidecar's login (SQL SECURITY DEFINER), like
-- request_status: readable with SELECT on it alone. OR REPLACE: views made
-- by earlier versions (SQL SECURITY INVOKER) get it.
CREATE OR REPLACE VIEW {{db}}.chains DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    database,
    chain,
    countIf(status = 'completed') AS depth,
    sum(stored_bytes) AS size,
    ifNull(argMaxIf(b.total_size, b.finished_at, b.status = 'completed'), 0) AS logical_size,
    min(started_at) AS started_at,
    max(finished_at) AS finished_at,
    countIf(status = 'failed') AS failed,
    countIf(status = 'running') AS running
FROM {{db}}.backups AS b FINAL
WHERE status != 'deleted'
GROUP BY database, chain
