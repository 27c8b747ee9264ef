-- Secure push (beyond Azure): every read of a secure payload by a device is recorded.
CREATE TABLE secure_reads (
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  installation_id TEXT NOT NULL,
  at              INTEGER NOT NULL
);
CREATE INDEX secure_reads_by_notification ON secure_reads (hub_key, notification_id);
