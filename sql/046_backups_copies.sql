-- Migration: the [[copy]] targets that hold a completed copy of each
-- backup (every object of its manifest there with its size, metadata
-- last), as the sidecar last read them.
ALTER TABLE {{db}}.backups ADD COLUMN IF NOT EXISTS copies Array(String) DEFAULT [] AFTER verify_restore_seconds
