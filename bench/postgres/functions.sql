-- The PostgreSQL peer's Reserve and Settle as server-side functions (bench/postgres-ledger.sh
-- --style functions, the default): the same rows as call.sql's statements, each operation
-- one round trip and one transaction, as a SQL ledger written for speed would do it.
CREATE OR REPLACE FUNCTION ledger_reserve(p_callerid bigint, p_hold bigint, p_rate bigint,
                                          p_node text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := nextval('reservation_ids');
  rid text := 'b' || n;
BEGIN
  UPDATE callerids SET held_micros = held_micros + p_hold
    WHERE id = p_callerid AND credit_left_micros - held_micros >= p_hold;
  IF NOT FOUND THEN
    RETURN NULL;  -- not enough credit: nothing held
  END IF;
  INSERT INTO reservations (reservation_id, callerid_id, held_micros, rate_micros, call_id,
                            node_id, expires_at)
    VALUES (rid, p_callerid, p_hold, p_rate, rid, p_node, now() + interval '120 s');
  INSERT INTO events (kind, reservation_id, amount_micros) VALUES ('RESERVED', rid, p_hold);
  RETURN n;
END $$;

-- Settles reservation b<p_n> by duration: 0.05 to connect, 0.60 a minute, billed per minute.
CREATE OR REPLACE FUNCTION ledger_settle(p_n bigint, p_seconds integer, p_node text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  rid text := 'b' || p_n;
  held bigint;
  cid bigint;
  cost bigint;
BEGIN
  UPDATE reservations SET state = 'SETTLED' WHERE reservation_id = rid AND state = 'OPEN'
    RETURNING held_micros, callerid_id INTO held, cid;
  IF NOT FOUND THEN
    RETURN NULL;  -- not open: nothing charged
  END IF;
  cost := 50000 + 600000 * ((p_seconds + 59) / 60);
  UPDATE callerids
    SET held_micros = held_micros - held, credit_left_micros = credit_left_micros - cost
    WHERE id = cid;
  INSERT INTO calls (reservation_id, callerid_id, started_at, duration_seconds, cost_micros,
                     node_id)
    VALUES (rid, cid, now(), p_seconds, cost, p_node);
  INSERT INTO events (kind, reservation_id, amount_micros) VALUES ('SETTLED', rid, cost);
  RETURN cost;
END $$;
