-- Migration: when the last of a set's shards' backups started (set.json's
-- last_shard_start, recorded at the seal): a restore by as_of judges a set
-- by it, not by created_at, since a shard can start long after its set
-- was made (its claim taken over from a dead replica). NULL while open,
-- and for sets sealed before it was recorded (judged by created_at).
ALTER TABLE {{db}}.sets ADD COLUMN IF NOT EXISTS last_shard_start Nullable(DateTime64(3, 'UTC')) AFTER sealed_at
