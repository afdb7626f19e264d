-- The latest row per request, with who asked and when. A request not yet
-- seen by a sidecar has state 'pending'.
CREATE VIEW IF NOT EXISTS {{db}}.request_status AS
SELECT
    r.id AS id,
    r.action AS action,
    r.database AS database,
    r.kind AS kind,
    r.requested_by AS requested_by,
    r.requested_at AS requested_at,
    if(l.state = '', 'pending', l.state) AS state,
    if(l.state = '', r.backup, l.backup) AS backup,
    l.message AS message,
    l.num_files AS num_files,
    l.total_size AS total_size,
    l.bytes_read AS bytes_read,
    l.last_at AS updated_at
FROM {{db}}.requests AS r
LEFT JOIN
(
    SELECT
        request_id,
        argMax(state, at) AS state,
        argMax(backup, at) AS backup,
        argMax(message, at) AS message,
        argMax(num_files, at) AS num_files,
        argMax(total_size, at) AS total_size,
        argMax(bytes_read, at) AS bytes_read,
        max(at) AS last_at
    FROM {{db}}.request_log
    GROUP BY request_id
) AS l ON l.request_id = r.id
