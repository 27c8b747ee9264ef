-- The SQLite adapter's migrations 0009 and 0010 (issue 10 items 13 and 14), for PostgreSQL.

-- Secure push: a device credential names the generation of its installation. The generation is taken when
-- the installation's first credential is issued and kept by its PUTs (the upsert never sets it); a deleted
-- installation takes it along, and revoking the installation's credentials clears it. NULL: none issued
-- in this generation yet.
ALTER TABLE installations ADD COLUMN credential_generation text;

-- A secure send's sealed payload lives in a table of its own, keyed by its notification and indexed by
-- expiry (led by the hub key, as every index here is), so the purge erases it at its TTL. A notification's
-- delete (and so its hub's) takes its payload along.
CREATE TABLE secure_payloads (
  hub_key         text COLLATE "C" NOT NULL,
  notification_id text COLLATE "C" NOT NULL,
  sealed          text NOT NULL,
  expires_at      bigint NOT NULL,
  PRIMARY KEY (hub_key, notification_id),
  FOREIGN KEY (hub_key, notification_id) REFERENCES notifications (hub_key, id) ON DELETE CASCADE
);
CREATE INDEX secure_payloads_by_expiry ON secure_payloads (hub_key, expires_at);

INSERT INTO secure_payloads (hub_key, notification_id, sealed, expires_at)
  SELECT hub_key, id, request::jsonb #>> '{secure,sealed}', (request::jsonb #>> '{secure,expiresAt}')::bigint
  FROM notifications WHERE request::jsonb #>> '{secure,sealed}' IS NOT NULL;
UPDATE notifications SET request = (request::jsonb #- '{secure,sealed}')::text WHERE request::jsonb #>> '{secure,sealed}' IS NOT NULL;

-- Notifications are deleted dispatch.notificationRetentionDays after they end; feedback by its age.
CREATE INDEX notifications_by_end ON notifications (hub_key, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX pns_feedback_by_time ON pns_feedback (hub_key, at);
