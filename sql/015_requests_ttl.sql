-- Migration: requests expire after 90 days (the pending reads never look
-- further back, see control.requestRetention). The TTL is not applied to
-- old parts at once (materialize_ttl_after_modify = 0): merges drop expired
-- rows in time, and this statement, run at every start, rewrites nothing.
ALTER TABLE {{db}}.requests MODIFY TTL toDateTime(requested_at) + INTERVAL {{request_retention_days}} DAY SETTINGS materialize_ttl_after_modify = 0
