-- Users write here: one row per request. requested_by and requested_at are
-- MATERIALIZED; the constraint stops an inserter who turns on
-- insert_allow_materialized_columns from naming someone else.
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
    via          String DEFAULT '',
    requested_by String MATERIALIZED currentUser(),
    requested_at DateTime64(3) MATERIALIZED now64(3),
    CONSTRAINT requested_by_is_login CHECK requested_by = currentUser()
)
ENGINE = MergeTree
ORDER BY (requested_at, id)
