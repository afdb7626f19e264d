-- Migration: a backstop only. A set's rows that say deleted are removed,
-- every row of the set, by the sidecar past the requests' retention
-- (ControlPlane.ExpireDeleted: a TTL alone dropped the deleted row and
-- not an older row of the set in another part, which then read as the
-- set again). This TTL, 30 days later, catches a deleted row the sidecar
-- did not remove (it was stopped that long). Not applied to old parts at
-- once (materialize_ttl_after_modify = 0), as for requests.
ALTER TABLE {{db}}.sets MODIFY TTL toDateTime(updated_at) + INTERVAL {{request_retention_days}} DAY + INTERVAL 30 DAY DELETE WHERE state = 'deleted' SETTINGS materialize_ttl_after_modify = 0
