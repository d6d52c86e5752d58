-- The PostgreSQL peer of the ledger's reserve/settle path (bench/postgres-ledger.sh).
-- The same data the ledger keeps for a call: the CallerID's balance and holds, the
-- reservation (its id is the idempotency key), the call record of the cost report and
-- an append-only event log. Money is integer micros, as in the ledger.
DROP TABLE IF EXISTS events, calls, reservations, callerids;

CREATE TABLE callerids (
  id bigint PRIMARY KEY,
  extension text NOT NULL,
  callback_number text NOT NULL,
  status text NOT NULL DEFAULT 'ENABLED',
  credit_left_micros bigint NOT NULL,
  held_micros bigint NOT NULL DEFAULT 0,
  UNIQUE (extension, callback_number),
  CHECK (held_micros >= 0 AND credit_left_micros >= held_micros)
);

CREATE TABLE reservations (
  reservation_id text PRIMARY KEY,
  callerid_id bigint NOT NULL REFERENCES callerids (id),
  held_micros bigint NOT NULL,
  rate_micros bigint NOT NULL,
  call_id text NOT NULL,
  node_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'OPEN'
);
-- The expiry sweep's index, like the ledger's reservations-by-expiry projection.
CREATE INDEX reservations_open_by_expiry ON reservations (expires_at) WHERE state = 'OPEN';

CREATE TABLE calls (
  reservation_id text PRIMARY KEY,
  callerid_id bigint NOT NULL,
  started_at timestamptz NOT NULL,
  duration_seconds integer NOT NULL,
  cost_micros bigint NOT NULL,
  node_id text NOT NULL
);
CREATE INDEX calls_by_callerid_time ON calls (callerid_id, started_at);

CREATE TABLE events (
  sequence bigserial PRIMARY KEY,
  time timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL,
  reservation_id text NOT NULL,
  amount_micros bigint NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS reservation_ids;

-- :callerids CallerIDs on 10 extensions, named as ledger-bench names them.
INSERT INTO callerids (id, extension, callback_number, credit_left_micros)
SELECT i, '0003*' || lpad((i % 10)::text, 3, '0'), '+4070' || lpad(i::text, 8, '0'),
       100000 * 1000000::bigint
FROM generate_series(0, :callerids - 1) AS i;
VACUUM ANALYZE;
