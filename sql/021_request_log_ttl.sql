-- Migration: request_log rows expire after 90 days, like the requests
-- they answer (see 015).
ALTER TABLE {{db}}.request_log MODIFY TTL toDateTime(at) + INTERVAL {{request_retention_days}} DAY SETTINGS materialize_ttl_after_modify = 0
