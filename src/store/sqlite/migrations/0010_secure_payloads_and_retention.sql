-- Secure push (issue 10 item 14): a secure send's sealed payload lives in a table of its own, keyed by its
-- notification and indexed by expiry, so the purge erases it at its TTL (it was kept in the notification's
-- request for as long as the notification). A notification's delete takes its payload along.
CREATE TABLE secure_payloads (
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  sealed          TEXT NOT NULL,
  expires_at      INTEGER NOT NULL,
  PRIMARY KEY (hub_key, notification_id),
  FOREIGN KEY (hub_key, notification_id) REFERENCES notifications (hub_key, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX secure_payloads_by_expiry ON secure_payloads (expires_at);

INSERT INTO secure_payloads (hub_key, notification_id, sealed, expires_at)
  SELECT hub_key, id, json_extract(request, '$.secure.sealed'), json_extract(request, '$.secure.expiresAt')
  FROM notifications WHERE json_extract(request, '$.secure.sealed') IS NOT NULL;
UPDATE notifications SET request = json_remove(request, '$.secure.sealed') WHERE json_extract(request, '$.secure.sealed') IS NOT NULL;

-- Notifications are deleted dispatch.notificationRetentionDays after they end; feedback by its age.
CREATE INDEX notifications_by_end ON notifications (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX pns_feedback_by_time ON pns_feedback (at);
