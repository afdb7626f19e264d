-- The sets as requesters read them: one row per set (sets FINAL). Like
-- catalog, it runs as the sidecar's login (SQL SECURITY DEFINER), so
-- requesters need SELECT on it alone, never on sets, on which a
-- materialized view could hold every write of the mirror up.
CREATE OR REPLACE VIEW {{db}}.set_catalog DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT database, id, state, kind, shards, requested_by, created_at, sealed_at, reasons
FROM {{db}}.sets FINAL
