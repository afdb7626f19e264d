-- Migration: a backup's row that says deleted (the backup gone from S3)
-- expires after the requests' retention, as a set's does (048): without
-- it the table grew by every backup ever taken, and the mirror (after each
-- backup), GET /v1/backups and the status page read them all. Not applied
-- to old parts at once (materialize_ttl_after_modify = 0).
ALTER TABLE {{db}}.backups MODIFY TTL toDateTime(updated_at) + INTERVAL {{request_retention_days}} DAY DELETE WHERE status = 'deleted' SETTINGS materialize_ttl_after_modify = 0
