-- The sets of a cluster's backups (cluster.name), mirrored from each
-- set.json in S3: one row per set, the newest updated_at wins (read with
-- FINAL). A set gone from S3 (deleted by retention) keeps a row in state
-- 'deleted'. Empty on a single server.
CREATE TABLE IF NOT EXISTS {{db}}.sets
(
    database     String,
    id           String,
    state        LowCardinality(String),
    kind         LowCardinality(String),
    shards       Array(UInt32),
    requested_by String,
    created_at   DateTime64(3, 'UTC'),
    sealed_at    Nullable(DateTime64(3, 'UTC')),
    reasons      Map(String, String),
    updated_at   DateTime64(6)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (database, id)
