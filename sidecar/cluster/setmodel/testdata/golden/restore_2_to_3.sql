-- note: target shard 3 gets no data, only the tables, empty: the set has 2 shards, the target 3
-- t1-r1-s1-data: target shard 1 replica 1, source shard 1 (b1)
RESTORE DATABASE `shop` AS `shop` FROM S3('<prod/shop/shard-1/incremental/b1>') SETTINGS create_table = 'create';
-- t2-r1-s2-data: target shard 2 replica 1, source shard 2 (b2)
RESTORE DATABASE `shop` AS `shop` FROM S3('<prod/shop/shard-2/incremental/b2>') SETTINGS create_table = 'create';
-- t3-r1-s1-schema: target shard 3 replica 1, source shard 1 (b1)
RESTORE DATABASE `shop` AS `shop` FROM S3('<prod/shop/shard-1/incremental/b1>') SETTINGS create_table = 'if not exists', structure_only = 1;
