-- Idempotency keys of sends (issue 11 item 3): the same key on the same hub within its lifetime (24 h)
-- names the first send's notification; written in the transaction that stores the notification.
CREATE TABLE idempotency_keys (
  hub_key         TEXT NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  key             TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  expires_at      INTEGER NOT NULL,
  PRIMARY KEY (hub_key, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Periodic tasks (registry purge, retention): next run of each. One process owns an embedded store, so
-- this only keeps the schedule beside the PostgreSQL store's, where it makes a task run once per cluster.
CREATE TABLE cluster_tasks (
  name     TEXT PRIMARY KEY,
  next_run INTEGER NOT NULL
) WITHOUT ROWID;

-- The nodes on the store with their heartbeat (one on an embedded store): rate limits are shared among them.
CREATE TABLE cluster_nodes (
  node_id   TEXT PRIMARY KEY,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;

-- A PNS's back-off (a 429 with Retry-After for a hub's credentials of one platform): no send before `until`.
CREATE TABLE pns_backoff (
  hub_key  TEXT NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  until    INTEGER NOT NULL,
  PRIMARY KEY (hub_key, platform)
) WITHOUT ROWID;
