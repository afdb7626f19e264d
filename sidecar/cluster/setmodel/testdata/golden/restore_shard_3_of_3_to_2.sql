-- t1-r1-s3-data: target shard 1 replica 1, source shard 3 (b3)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-3/incremental/b3>') SETTINGS create_table = 'if not exists';
-- t1-r2-s3-schema: target shard 1 replica 2, source shard 3 (b3)
RESTORE DATABASE `shop` AS `shop_restored` FROM S3('<prod/shop/shard-3/incremental/b3>') SETTINGS create_table = 'if not exists', structure_only = 1;
-- t1-r2-s3-data: target shard 1 replica 2, source shard 3 (b3)
RESTORE DATABASE `shop` AS `shop_restored` EXCEPT TABLES `shop`.`events`, `shop`.`orders` FROM S3('<prod/shop/shard-3/incremental/b3>') SETTINGS create_table = 'if not exists';
