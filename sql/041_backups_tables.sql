-- Migration: what each backup holds. table_set says which tables of the
-- database the chain backs up ("all tables", "only a, b", "all but c");
-- tables maps each table the backup holds to its rows at backup time, so
-- "the newest backup with table t" is one SELECT:
--   SELECT name FROM clickvault.backups FINAL
--   WHERE database = 'shop' AND status = 'completed' AND mapContains(tables, 't')
--   ORDER BY name DESC LIMIT 1
ALTER TABLE {{db}}.backups
    ADD COLUMN IF NOT EXISTS table_set String DEFAULT '' AFTER error,
    ADD COLUMN IF NOT EXISTS tables Map(String, UInt64) AFTER table_set
