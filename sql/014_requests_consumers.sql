-- Migration: a restore's choice for the tables that consume or write
-- outside the restored database (Kafka, RabbitMQ, NATS, S3Queue, refreshable
-- views, views and Distributed/Buffer tables pointing outside, ...):
-- '' refuses a restore that would recreate any (naming them), 'skip' leaves
-- them out, 'include' restores them live (refreshable views stopped).
-- dry_run, a cleanup's "report only", also makes a restore answer with its
-- plan and run nothing.
ALTER TABLE {{db}}.requests ADD COLUMN IF NOT EXISTS consumers LowCardinality(String) DEFAULT '' AFTER mode
