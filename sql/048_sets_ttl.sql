-- Migration: a set's row that says deleted (the set gone from S3) expires
-- after the requests' retention, so the mirror's read of the table, every
-- minute, stays the size of the sets retention keeps. Not applied to old
-- parts at once (materialize_ttl_after_modify = 0), as for requests.
ALTER TABLE {{db}}.sets MODIFY TTL toDateTime(updated_at) + INTERVAL {{request_retention_days}} DAY DELETE WHERE state = 'deleted' SETTINGS materialize_ttl_after_modify = 0
