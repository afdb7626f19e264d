-- Migration: the HTTP token a request was queued with ("http:" and the first
-- 8 hex digits of its SHA-256). Only the sidecar sets it, on rows it inserts
-- as its own user; the sidecar rejects a request whose inserter set it.
ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS via String DEFAULT '' AFTER dry_run
