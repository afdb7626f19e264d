-- The sidecar appends one row per state change of a request:
-- queued -> running -> succeeded | failed, or rejected, or cancelled.
CREATE TABLE IF NOT EXISTS {{db}}.request_log
(
    request_id   UUID,
    action       LowCardinality(String),
    database     String,
    state        LowCardinality(String),
    backup       String,
    message      String,
    num_files    UInt64,
    total_size   UInt64,
    bytes_read   UInt64,
    at           DateTime64(6),
    operation_id String DEFAULT '',
    sidecar      String DEFAULT ''
)
ENGINE = MergeTree
ORDER BY (request_id, at)
