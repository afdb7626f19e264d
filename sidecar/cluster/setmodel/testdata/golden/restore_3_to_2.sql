-- note: target shard 1 holds source shards [1 3]
-- t1-r1-s1-data: target shard 1 replica 1, source shard 1 (b1)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-1/incremental/b1>') SETTINGS create_table = 'create';
-- t1-r1-s3-data: target shard 1 replica 1, source shard 3 (b3)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-3/incremental/b3>') SETTINGS create_table = 'if not exists', allow_non_empty_tables = 1;
-- t1-r2-s1-schema: target shard 1 replica 2, source shard 1 (b1)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-1/incremental/b1>') SETTINGS create_table = 'create', structure_only = 1;
-- t1-r2-s1-data: target shard 1 replica 2, source shard 1 (b1)
RESTORE DATABASE `shop` AS `shop_restored` EXCEPT TABLES `shop`.`events`, `shop`.`orders` FROM S3('<prod/shop/shard-1/incremental/b1>') SETTINGS create_table = 'if not exists';
-- t1-r2-s3-data: target shard 1 replica 2, source shard 3 (b3)
RESTORE DATABASE `shop` AS `shop_restored` EXCEPT TABLES `shop`.`events`, `shop`.`orders` FROM S3('<prod/shop/shard-3/incremental/b3>') SETTINGS create_table = 'if not exists', allow_non_empty_tables = 1;
-- t2-r1-s2-data: target shard 2 replica 1, source shard 2 (b2)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-2/incremental/b2>') SETTINGS create_table = 'create';
