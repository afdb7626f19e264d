-- Migration: partial backups and restores. tables: for a backup the only
-- tables to back up, for a restore the tables to restore ("t" or
-- "t AS new_name"); exclude_tables: a backup's tables to leave out;
-- partitions: a one-table restore's partitions; mode: a restore's
-- data (default), schema or replace.
ALTER TABLE {{db}}.requests
    ADD COLUMN IF NOT EXISTS tables Array(String) DEFAULT [] AFTER via,
    ADD COLUMN IF NOT EXISTS exclude_tables Array(String) DEFAULT [] AFTER tables,
    ADD COLUMN IF NOT EXISTS partitions Array(String) DEFAULT [] AFTER exclude_tables,
    ADD COLUMN IF NOT EXISTS mode LowCardinality(String) DEFAULT '' AFTER partitions
