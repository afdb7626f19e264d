-- Migration: what each backup costs and why it is what it is.
-- stored_bytes is what the backup added to the bucket (the objects of its
-- own folder; deleting it frees them), beside total_size, its logical size
-- (what a restore brings back, its bases' files included). kind_reason says
-- why a full or an incremental; full_forced marks a full taken instead of
-- the chain's next link (a broken chain, an incremental grown too big).
ALTER TABLE {{db}}.backups
    ADD COLUMN IF NOT EXISTS stored_bytes UInt64 DEFAULT 0 AFTER num_files,
    ADD COLUMN IF NOT EXISTS kind_reason String DEFAULT '' AFTER kind,
    ADD COLUMN IF NOT EXISTS full_forced Bool DEFAULT false AFTER kind_reason
