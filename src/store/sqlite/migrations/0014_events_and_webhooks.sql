-- Events of a hub (issue 13 item 1), appended in the transaction of the write they describe. One writer
-- commits at a time, so seq is commit order: a reader resuming after a seq misses nothing committed later.
-- AUTOINCREMENT: a seq is never reused after a purge (it is part of the event's id).
CREATE TABLE events (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  hub_key TEXT NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  type    TEXT NOT NULL,
  at      INTEGER NOT NULL,
  data    TEXT NOT NULL
);
CREATE INDEX events_by_hub ON events (hub_key, seq);
CREATE INDEX events_by_time ON events (at);

-- Webhook subscriptions of a hub; `types` is ',a,b,' (',,': every type); the secret is sealed.
CREATE TABLE webhook_subscriptions (
  hub_key       TEXT NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id            TEXT NOT NULL,
  url           TEXT NOT NULL,
  types         TEXT NOT NULL,
  sealed_secret TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (hub_key, id)
) WITHOUT ROWID;

-- One event's delivery to one subscription: a durable job with a lease (as dispatch_jobs), created in the
-- transaction that appends the event (the trigger below), so no event a subscription wants is lost to a
-- crash. The event is copied in (event_pos: its seq): the delivery outlives the log's retention.
CREATE TABLE webhook_deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  hub_key         TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  event_pos       TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  event_at        INTEGER NOT NULL,
  event_data      TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending',
  next_attempt_at INTEGER,
  owner           TEXT,
  leased_until    INTEGER,
  attempts        TEXT NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL,
  FOREIGN KEY (hub_key, subscription_id) REFERENCES webhook_subscriptions (hub_key, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (hub_key, subscription_id, id);

-- The fan-out: each appended event becomes a delivery for each subscription of its hub that wants it.
-- The WHEN makes it one index probe per event for a hub without subscriptions (the usual case).
CREATE TRIGGER events_to_webhooks AFTER INSERT ON events
WHEN EXISTS (SELECT 1 FROM webhook_subscriptions WHERE hub_key = NEW.hub_key)
BEGIN
  INSERT INTO webhook_deliveries (hub_key, subscription_id, event_pos, event_type, event_at, event_data, next_attempt_at, created_at)
  SELECT s.hub_key, s.id, CAST(NEW.seq AS TEXT), NEW.type, NEW.at, NEW.data, NEW.at, NEW.at
  FROM webhook_subscriptions s
  WHERE s.hub_key = NEW.hub_key AND (s.types = ',,' OR instr(s.types, ',' || NEW.type || ',') > 0);
END;
