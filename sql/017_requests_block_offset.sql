-- A row's place within its INSERT's block (_block_offset) is kept across
-- merges too: with _block_number (016) it is the row's place in the insert
-- order, which no INSERT sets. The sidecar reads each requester's rows on
-- from where its last read stopped (control/read_place.go): one INSERT of
-- millions of rows is read a slice at a time, not whole at every read.
-- Rows merged before this setting keep the offset they had in their merged
-- part, in the same order. Idempotent.
ALTER TABLE {{db}}.requests MODIFY SETTING enable_block_offset_column = 1
