-- Events of a hub (issue 13 item 1), appended in the transaction of the write they describe. Many nodes
-- commit at once, so seq (taken at insert) is not commit order: a reader orders by (xid, seq) and reads
-- only rows of transactions older than every running one (xid < pg_snapshot_xmin of its snapshot). Those
-- have all ended, so nothing can commit later at a position below what a reader has passed.
CREATE TABLE events (
  hub_key text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  xid     xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq     bigserial,
  type    text COLLATE "C" NOT NULL,
  at      bigint NOT NULL,
  data    text NOT NULL,
  PRIMARY KEY (hub_key, xid, seq)
);
CREATE INDEX events_by_time ON events (hub_key, at);

-- Webhook subscriptions of a hub; `types` is ',a,b,' (',,': every type); the secret is sealed.
CREATE TABLE webhook_subscriptions (
  hub_key       text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id            text COLLATE "C" NOT NULL,
  url           text NOT NULL,
  types         text NOT NULL,
  sealed_secret text NOT NULL,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  PRIMARY KEY (hub_key, id)
);

-- One event's delivery to one subscription: a durable job with a lease (as dispatch_jobs), created in the
-- transaction that appends the event (the trigger below). The event is copied in (event_pos: 'xid.seq'):
-- the delivery outlives the log's retention.
CREATE TABLE webhook_deliveries (
  hub_key         text COLLATE "C" NOT NULL,
  id              bigserial,
  subscription_id text COLLATE "C" NOT NULL,
  event_pos       text COLLATE "C" NOT NULL,
  event_type      text COLLATE "C" NOT NULL,
  event_at        bigint NOT NULL,
  event_data      text NOT NULL,
  state           text COLLATE "C" NOT NULL DEFAULT 'pending',
  next_attempt_at bigint,
  owner           text COLLATE "C",
  leased_until    bigint,
  attempts        text NOT NULL DEFAULT '[]',
  created_at      bigint NOT NULL,
  PRIMARY KEY (hub_key, id),
  FOREIGN KEY (hub_key, subscription_id) REFERENCES webhook_subscriptions (hub_key, id) ON DELETE CASCADE
);
-- Claims walk the hubs and read each hub's due index (as the other cluster-wide work does).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (hub_key, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (hub_key, subscription_id, id);

-- After each statement that appends events: one NOTIFY per hub (delivered on commit, so SSE streams of
-- every node read the new events), and the webhook fan-out, both with no round trip of their own.
CREATE FUNCTION herald_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('herald_events', h.hub_key) FROM (SELECT DISTINCT hub_key FROM appended) h;
  INSERT INTO webhook_deliveries (hub_key, subscription_id, event_pos, event_type, event_at, event_data, next_attempt_at, created_at)
  SELECT s.hub_key, s.id, e.xid::text || '.' || e.seq, e.type, e.at, e.data, e.at, e.at
  FROM appended e JOIN webhook_subscriptions s ON s.hub_key = e.hub_key
  WHERE s.types = ',,' OR strpos(s.types, ',' || e.type || ',') > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER events_appended AFTER INSERT ON events REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION herald_events_appended();
