-- Users write here: one row per request. requested_by, requested_at and
-- query_id are MATERIALIZED and held there by constraints, so an inserter
-- who turns on insert_allow_materialized_columns can set none of them:
-- requested_by is the login that authenticated the connection
-- (authenticatedUser(); currentUser() is the query's initial user, which a
-- native client names itself on a query it marks as secondary), query_id
-- is the INSERT's own id, by which the sidecar finds it in
-- system.query_log and confirms that the login inserted the row itself,
-- directly (not through a materialized view, not as a secondary query).
-- proof is set by the sidecar on its own rows only (schedule, HTTP).
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
    requested_by String MATERIALIZED authenticatedUser(),
    requested_at DateTime64(3) MATERIALIZED now64(3),
    query_id     String MATERIALIZED queryID(),
    proof        String DEFAULT '',
    CONSTRAINT requested_by_is_authenticated CHECK requested_by = authenticatedUser(),
    CONSTRAINT query_id_is_the_insert CHECK query_id = queryID(),
    CONSTRAINT requested_at_is_now CHECK requested_at BETWEEN now64(3) - INTERVAL 5 SECOND AND now64(3) + INTERVAL 1 SECOND
)
ENGINE = MergeTree
ORDER BY (requested_at, id)
