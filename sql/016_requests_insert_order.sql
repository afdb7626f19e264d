-- The first row inserted with an id is the request. requested_at cannot
-- order them: its constraint allows the inserter a few seconds, so a row
-- made later could be dated earlier and take someone's request over. Each
-- INSERT is its own block, numbered by the server in the order they land;
-- with this setting MergeTree keeps that number per row (_block_number),
-- also across merges, and no INSERT can set it. Idempotent.
ALTER TABLE {{db}}.requests MODIFY SETTING enable_block_number_column = 1
