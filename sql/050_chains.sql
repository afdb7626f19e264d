-- One row per chain: its depth (completed backups), size and time span.
CREATE VIEW IF NOT EXISTS {{db}}.chains AS
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
