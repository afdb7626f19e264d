-- Users write here: one row per request. requested_by and requested_at are
-- MATERIALIZED, so an inserter cannot forge them.
CREATE TABLE IF NOT EXISTS {{db}}.requests
(
    id           UUID DEFAULT generateUUIDv4(),
    action       LowCardinality(String) DEFAULT 'backup',
    database     String DEFAULT '',
    kind         LowCardinality(String) DEFAULT 'auto',
    backup       String DEFAULT '',
    as_of        Nullable(DateTime64(3)) DEFAULT NULL,
    target       String DEFAULT '',
    dry_run      Bool DEFAULT false,
    requested_by String MATERIALIZED currentUser(),
    requested_at DateTime64(3) MATERIALIZED now64(3)
)
ENGINE = MergeTree
ORDER BY (requested_at, id)
