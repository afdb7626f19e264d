-- Migration: where a restore or verify reads its backup: '' = the primary
-- bucket (or, when it is unreachable or the backup is broken there, a
-- [[copy]] target that holds it), or the name of a [[copy]] target.
ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS source String DEFAULT '' AFTER shard
