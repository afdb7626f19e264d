-- The sets as requesters read them: one row per set (sets FINAL). Like
-- catalog, it runs as the sidecar's login (SQL SECURITY DEFINER), so
-- requesters need SELECT on it alone, never on sets, on which a
-- materialized view could hold every write of the mirror up. Who asked
-- for a set, and why a partial set lacks a shard (which may name another
-- login's missing grants, or a table), are shown to that requester alone:
-- authenticatedUser() is still the reader's login inside the view.
-- Operators read sets.
CREATE OR REPLACE VIEW {{db}}.set_catalog DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT database, id, state, kind, shards,
    if(requested_by = authenticatedUser(), requested_by, '') AS requested_by,
    created_at, sealed_at,
    if(requested_by = authenticatedUser(), reasons, CAST(map(), 'Map(String, String)')) AS reasons,
    last_shard_start
FROM {{db}}.sets FINAL
