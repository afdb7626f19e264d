-- Migration: the [[copy]] target a restore or verify reads its backup
-- from, or a check or cleanup acts on; '' = the primary bucket (for a
-- restore or verify, or a copy holding the backup when the primary lacks
-- it).
ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS source String DEFAULT '' AFTER shard
