-- Migration for control databases made before identity was the
-- authenticated login (the table of 010 has all of this already): the
-- requester becomes authenticatedUser(), held there by a constraint that
-- replaces the currentUser() one; the INSERT's query id and the sidecar's
-- proof are added; requested_at is held within seconds of the server's
-- clock. Rows inserted before this migration have no query id of their
-- own and cannot be confirmed: if still pending they are rejected, and
-- say to insert them again. Idempotent.
ALTER TABLE {{db}}.requests
    MODIFY COLUMN requested_by String MATERIALIZED authenticatedUser(),
    ADD COLUMN IF NOT EXISTS query_id String MATERIALIZED queryID(),
    ADD COLUMN IF NOT EXISTS proof String DEFAULT '',
    DROP CONSTRAINT IF EXISTS requested_by_is_login,
    ADD CONSTRAINT IF NOT EXISTS requested_by_is_authenticated CHECK requested_by = authenticatedUser(),
    ADD CONSTRAINT IF NOT EXISTS query_id_is_the_insert CHECK query_id = queryID(),
    ADD CONSTRAINT IF NOT EXISTS requested_at_is_now CHECK requested_at BETWEEN now64(3) - INTERVAL 5 SECOND AND now64(3) + INTERVAL 1 SECOND
