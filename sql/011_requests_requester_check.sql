-- Migration for control databases made before the constraint existed: with
-- insert_allow_materialized_columns = 1 an inserter could otherwise write any
-- requested_by. Idempotent.
ALTER TABLE {{db}}.requests ADD CONSTRAINT IF NOT EXISTS requested_by_is_login CHECK requested_by = currentUser()
