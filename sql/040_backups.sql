-- The chain catalog, mirrored from S3 metadata. Read it with FINAL.
CREATE TABLE IF NOT EXISTS {{db}}.backups
(
    database             String,
    name                 String,
    kind                 LowCardinality(String),
    chain                String,
    base                 String,
    location             String,
    status               LowCardinality(String),
    clickhouse_backup_id String,
    started_at           Nullable(DateTime64(3)),
    finished_at          Nullable(DateTime64(3)),
    num_files            UInt64,
    total_size           UInt64,
    uncompressed_size    UInt64,
    compressed_size      UInt64,
    error                String,
    updated_at           DateTime64(6)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (database, name)
