-- One simulated call with the server-side functions of functions.sql: the Authorize read,
-- then Reserve and Settle, one round trip and one synced transaction each
-- (synchronous_commit=on, fsync=on), like every acknowledged write of the ledger. Run with
-- prepared statements (pgbench -M prepared), as a driver would.
\set cid random(0, :callerids - 1)
\set seconds random(1, 300)
SELECT id AS callerid_id, credit_left_micros - held_micros AS available
  FROM callerids
  WHERE extension = '0003*' || lpad((:cid % 10)::text, 3, '0')
    AND callback_number = '+4070' || lpad(:cid::text, 8, '0') AND status = 'ENABLED' \gset
SELECT ledger_reserve(:callerid_id, 3050000, 600000, 'node-1') AS rid \gset
SELECT ledger_settle(:rid, :seconds, 'node-1') AS cost \gset
