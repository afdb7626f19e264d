-- receive_timeout = 300
SYSTEM SYNC REPLICA `shop`.`.inner_id.5f3a1c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b` LIGHTWEIGHT;
-- receive_timeout = 300
SYSTEM SYNC REPLICA `shop`.`daily` LIGHTWEIGHT;
-- receive_timeout = 300
SYSTEM SYNC REPLICA `shop`.`events` LIGHTWEIGHT;
-- receive_timeout = 300
SYSTEM SYNC REPLICA `shop`.`odd\`name` LIGHTWEIGHT;
-- receive_timeout = 300
SYSTEM SYNC REPLICA `shop`.`orders` LIGHTWEIGHT;
