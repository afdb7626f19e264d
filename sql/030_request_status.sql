-- The latest row per request, with who asked and when. A request not yet
-- seen by a sidecar has state 'pending'. Once a request has a terminal row
-- (succeeded, failed, rejected, cancelled) that row is its answer, whatever
-- non-terminal row a sidecar may write after it. OR REPLACE: installations
-- made before this rule get it.
--
-- It runs as the sidecar's login (SQL SECURITY DEFINER), so requesters read
-- it without SELECT on requests and request_log: whoever may read those
-- could hang a materialized view on them that fails or forges every
-- request (deploy/grants.sql). A row policy on this view (grants.sql) shows
-- each requester their own requests: authenticatedUser() is the reader's
-- login, also inside a DEFINER view.
CREATE OR REPLACE VIEW {{db}}.request_status DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    r.id AS id,
    r.action AS action,
    r.database AS database,
    r.kind AS kind,
    r.requested_by AS requested_by,
    r.via AS via,
    r.requested_at AS requested_at,
    if(l.state = '', 'pending', l.state) AS state,
    if(l.state = '', r.backup, l.backup) AS backup,
    l.message AS message,
    l.num_files AS num_files,
    l.total_size AS total_size,
    l.bytes_read AS bytes_read,
    l.last_at AS updated_at
FROM
(
    -- One row per id, the first inserted (by the server's block number,
    -- which no INSERT sets; requested_at may be dated back a few seconds):
    -- a later row reusing an id is ignored (request_log is keyed by id,
    -- so it cannot have an answer).
    SELECT id, action, database, kind, backup, via, requested_by, requested_at
    FROM {{db}}.requests
    ORDER BY _block_number, requested_at, id
    LIMIT 1 BY id
) AS r
LEFT JOIN
(
    SELECT
        request_id,
        argMax(state, (is_terminal, at)) AS state,
        argMax(backup, (is_terminal, at)) AS backup,
        argMax(message, (is_terminal, at)) AS message,
        argMax(num_files, (is_terminal, at)) AS num_files,
        argMax(total_size, (is_terminal, at)) AS total_size,
        argMax(bytes_read, (is_terminal, at)) AS bytes_read,
        max(at) AS last_at
    FROM
    (
        SELECT *, state IN ('succeeded', 'failed', 'rejected', 'cancelled') AS is_terminal
        FROM {{db}}.request_log
    )
    GROUP BY request_id
) AS l ON l.request_id = r.id
-- join_use_nulls = 0: a request with no log row yet joins an empty state
-- ('pending'), not NULL, whatever the reader's profile says.
SETTINGS join_use_nulls = 0
