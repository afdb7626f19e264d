-- Migration: on a cluster node, a restore of one shard of a set (the
-- set's source shard, as the set numbers them); 0 = every shard. A single
-- server refuses a shard other than 0.
ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS shard UInt16 DEFAULT 0 AFTER consumers
