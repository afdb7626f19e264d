-- ClickHouse users and grants for ClickVault. Run as an administrator:
--   clickhouse client --multiquery < deploy/grants.sql
-- (docker-compose.yml mounts it into /docker-entrypoint-initdb.d/.)
-- Change the passwords. Replace `shop` with the databases ClickVault backs up.

-- The sidecar's own user: least privilege for backing up, restoring,
-- verifying, reading requesters' grants and owning the control database.
CREATE USER IF NOT EXISTS clickvault IDENTIFIED WITH sha256_password BY 'clickvault-change-me';
GRANT BACKUP ON shop.* TO clickvault;                          -- each database backed up
GRANT SYSTEM SYNC REPLICA ON shop.* TO clickvault;             -- on a cluster node: SYSTEM SYNC REPLICA … LIGHTWEIGHT of each replicated table before its shard's backup (docs/cluster.md)
GRANT S3 ON *.* TO clickvault;                                 -- BACKUP / RESTORE to and from S3()
GRANT SELECT ON system.* TO clickvault;                        -- system.backups, system.tables, system.databases, system.query_log, system.query_views_log, system.row_policies
GRANT SYSTEM FLUSH LOGS ON *.* TO clickvault;                  -- confirm a request from the query that inserted it at once, not after the log's flush interval
GRANT SHOW USERS, SHOW ROLES ON *.* TO clickvault;             -- read requesters' grants (system.grants, system.role_grants)
GRANT SHOW ROW POLICIES ON *.* TO clickvault;                 -- read the row policies that restrict a restore's requester (system.row_policies)
GRANT ALL ON clickvault.* TO clickvault;                       -- the control database (requests, request_log, backups, views)
GRANT CREATE DATABASE, CREATE TABLE, INSERT, SELECT ON *.* TO clickvault;  -- RESTORE into a new database, verify
GRANT DROP DATABASE, DROP TABLE ON clickvault_verify_*.* TO clickvault;   -- drop verify's scratch databases only
GRANT CHECK ON clickvault_verify_*.* TO clickvault;            -- verify runs CHECK TABLE on each restored table
-- A verify restores every row of a backup into clickvault_verify_<…> while it
-- runs. Whoever holds SELECT ON *.* reads it then: for such logins or roles
-- that may not read every database backed up, add
--   REVOKE SELECT ON clickvault_verify_*.* FROM <login or role>;
-- (a requester whose SELECT reaches it, restricted on the source by a row
-- policy or a revoke, is refused a verify).
GRANT DROP TABLE ON shop.* TO clickvault;                      -- mode 'replace': EXCHANGE TABLES (it needs SELECT, DROP TABLE, CREATE TABLE, INSERT on both) swaps the checked staging copy in, then the old table is dropped; also drops a failed restore's staging tables (leave out to refuse every replace)
GRANT ALTER DELETE ON shop.* TO clickvault;                    -- mode 'replace' with partitions: ALTER TABLE … REPLACE PARTITION … FROM the staging table needs INSERT and ALTER DELETE on the live table
GRANT DROP DATABASE, DROP TABLE ON shop_restored.* TO clickvault;  -- each database restored into: a failed restore drops the database it created, or the tables it created there (all or nothing)
GRANT SYSTEM VIEWS ON shop.* TO clickvault;                     -- consumers = 'include': SYSTEM STOP VIEW on each refreshable view a restore creates (EMPTY, then stopped at once), so it waits for a person to start it; the sidecar only ever stops views. Without it such a restore is refused before anything is created, naming this right
GRANT SYSTEM VIEWS ON shop_restored.* TO clickvault;            -- the same for each database restored into under another name
GRANT TABLE ENGINE ON * TO clickvault;                         -- CREATE TABLE checks the engine (table_engines_require_grant): the control tables' MergeTree family, and whatever engines restored tables use
-- Optional, for views with SQL SECURITY DEFINER (26.7 gives every refreshable
-- materialized view DEFINER = its creator): creating one, RESTORE included,
-- takes SET DEFINER ON its definer. Without it a restore or verify of a
-- database holding such a view is refused before anything is created, naming
-- the view, its definer and this right. It lets the sidecar create objects
-- that run with that user's rights: grant it only on a user made to own views
-- (whose rights are the SELECTs and INSERTs its views need, no more than the
-- sidecar's own), never on an administrator or `default`:
-- GRANT SET DEFINER ON view_owner TO clickvault;
-- With s3.named_collection, instead of S3 credentials in SQL:
-- GRANT NAMED COLLECTION ON s3_backups TO clickvault;

-- People who may only ask: insert requests and read status. Whether a request
-- runs is decided by the requester's own grants, which the sidecar checks:
-- BACKUP on the database (or on each table a backup names) for a backup; for
-- a restore SELECT on the source (a restore reads its data), CREATE TABLE and
-- INSERT on the target, and CREATE DATABASE on it when it does not exist, on
-- each table when a restore names tables, plus DROP TABLE on each table a
-- restore replaces; for anything that deletes backups or may start a new
-- chain (a cleanup that is not a dry run, a forced full backup, a backup
-- naming its own tables) also DROP TABLE on the database. This role alone
-- backs up and restores nothing.
CREATE ROLE IF NOT EXISTS clickvault_requester;
-- A requester inserts requests and reads the answers and the catalog
-- through views; no table the sidecar writes (requests, request_log,
-- backups) is readable to them. SELECT on a table is what CREATE
-- MATERIALIZED VIEW … FROM it needs, and a view fired by every INSERT into
-- requests, every row the sidecar logs or every catalog write could fail
-- them, slow them down (sleep) or write requests of its own: whoever may
-- read those tables can stop everyone's requests. The views
-- (request_status, chains, catalog, set_catalog) run as the sidecar (SQL SECURITY
-- DEFINER); a materialized view over a view is never fired. Installations
-- made before this rule: the REVOKE takes the old SELECT ON clickvault.*
-- away.
REVOKE SELECT ON clickvault.* FROM clickvault_requester;
GRANT INSERT ON clickvault.requests TO clickvault_requester;
GRANT SELECT ON clickvault.request_status TO clickvault_requester;
GRANT SELECT ON clickvault.chains TO clickvault_requester;
GRANT SELECT ON clickvault.catalog TO clickvault_requester;  -- the catalog (a view of backups): names, sizes, S3 locations, statuses; not which tables each holds, nor SELECT on backups itself (a slow view on it would hold every answer)
GRANT SELECT ON clickvault.set_catalog TO clickvault_requester;  -- on a cluster node, the sets (a view of sets): state, kind, shards; who asked and why a shard is missing on the reader's own sets only

-- A sample requester: may ask for backups of shop and restores of it into
-- shop_restored. BACKUP alone does not let them write backups anywhere
-- themselves (no S3 grant).
CREATE USER IF NOT EXISTS analyst IDENTIFIED WITH sha256_password BY 'analyst-change-me';
GRANT clickvault_requester TO analyst;
SET DEFAULT ROLE clickvault_requester TO analyst;
GRANT BACKUP, SELECT ON shop.* TO analyst;
GRANT CREATE DATABASE, CREATE TABLE, INSERT, SELECT ON shop_restored.* TO analyst;

-- Row policies: a requester sees only their own requests in request_status
-- (by the login that authenticated: currentUser() is a query's initial
-- user, which a native client may name itself; in a DEFINER view
-- authenticatedUser() is still the reader's login). A login no policy names
-- sees every row by default, but none where the server sets
-- access_control_improvements.users_without_row_policies_can_read_rows to
-- false: the second policy lets everyone else (operators) see every row
-- either way. The policies
-- on requests and request_log of earlier versions are dropped: requesters
-- no longer read those tables.
CREATE ROW POLICY IF NOT EXISTS clickvault_own_status ON clickvault.request_status USING requested_by = authenticatedUser() TO clickvault_requester;
CREATE ROW POLICY IF NOT EXISTS clickvault_all_status ON clickvault.request_status USING 1 TO ALL EXCEPT clickvault_requester;
DROP ROW POLICY IF EXISTS clickvault_own_requests ON clickvault.requests;
DROP ROW POLICY IF EXISTS clickvault_all_requests ON clickvault.requests;
DROP ROW POLICY IF EXISTS clickvault_own_request_log ON clickvault.request_log;
DROP ROW POLICY IF EXISTS clickvault_all_request_log ON clickvault.request_log;
