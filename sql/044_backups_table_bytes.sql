-- Migration: the size of each table's files in each backup (from
-- ClickHouse's manifest), beside its rows in `tables`.
ALTER TABLE {{db}}.backups
    ADD COLUMN IF NOT EXISTS table_bytes Map(String, UInt64) AFTER tables
