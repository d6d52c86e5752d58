-- One simulated call, as ledger-bench plays it: Authorize (a read), Reserve (one
-- transaction), Settle by duration (one transaction). Each COMMIT is synced
-- (synchronous_commit=on, fsync=on), like every acknowledged write of the ledger.
-- bench/postgres-ledger.sh --style statements: every statement its own round trip, sent as
-- text (pgbench's simple protocol); the default style does the same work in functions
-- (call-functions.sql).
\set cid random(0, :callerids - 1)
\set seconds random(1, 300)
SELECT nextval('reservation_ids') AS rid \gset
SELECT id AS callerid_id, credit_left_micros - held_micros AS available
  FROM callerids
  WHERE extension = '0003*' || lpad((:cid % 10)::text, 3, '0')
    AND callback_number = '+4070' || lpad(:cid::text, 8, '0') AND status = 'ENABLED' \gset
BEGIN;
UPDATE callerids SET held_micros = held_micros + 3050000
  WHERE id = :callerid_id AND credit_left_micros - held_micros >= 3050000;
INSERT INTO reservations (reservation_id, callerid_id, held_micros, rate_micros, call_id, node_id,
                          expires_at)
  VALUES ('b' || :rid, :callerid_id, 3050000, 600000, 'b' || :rid, 'node-1', now() + interval '120 s');
INSERT INTO events (kind, reservation_id, amount_micros) VALUES ('RESERVED', 'b' || :rid, 3050000);
COMMIT;
BEGIN;
UPDATE reservations SET state = 'SETTLED'
  WHERE reservation_id = 'b' || :rid AND state = 'OPEN'
  RETURNING held_micros AS held, 50000 + 600000 * ((:seconds + 59) / 60) AS cost \gset
UPDATE callerids SET held_micros = held_micros - :held, credit_left_micros = credit_left_micros - :cost
  WHERE id = :callerid_id;
INSERT INTO calls (reservation_id, callerid_id, started_at, duration_seconds, cost_micros, node_id)
  VALUES ('b' || :rid, :callerid_id, now(), :seconds, :cost, 'node-1');
INSERT INTO events (kind, reservation_id, amount_micros) VALUES ('SETTLED', 'b' || :rid, :cost);
COMMIT;
