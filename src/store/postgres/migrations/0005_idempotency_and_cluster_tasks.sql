-- Idempotency keys of sends (issue 11 item 3): the same key on the same hub within its lifetime (24 h)
-- names the first send's notification. Written in the transaction that stores the notification, so two
-- sends racing with one key store one notification. Expired keys are pruned by their hub's expiry index.
CREATE TABLE idempotency_keys (
  hub_key         text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  key             text COLLATE "C" NOT NULL,
  notification_id text COLLATE "C" NOT NULL,
  expires_at      bigint NOT NULL,
  PRIMARY KEY (hub_key, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (hub_key, expires_at);

-- Periodic tasks that run once per interval across the cluster (registry purge, retention): the node
-- whose UPDATE moves `next_run` on runs it. Cluster-wide, not a hub's: the one table not led by a hub key.
CREATE TABLE cluster_tasks (
  name     text COLLATE "C" PRIMARY KEY,
  next_run bigint NOT NULL
);

-- The nodes of a cluster, each writing its heartbeat: a hub's rate limit is shared among the live ones.
CREATE TABLE cluster_nodes (
  node_id   text COLLATE "C" PRIMARY KEY,
  last_seen bigint NOT NULL
);

-- A PNS's back-off (a 429 with Retry-After for a hub's credentials of one platform), seen by every node:
-- until then no node sends to that PNS for that hub.
CREATE TABLE pns_backoff (
  hub_key  text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  platform text COLLATE "C" NOT NULL,
  until    bigint NOT NULL,
  PRIMARY KEY (hub_key, platform)
);
