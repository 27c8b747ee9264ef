-- The send pipeline (design.md, "A send, from HTTP to the device"): notifications, the durable work
-- queue that plans and delivers them, per-device outcomes and PNS feedback.

CREATE TABLE notifications (
  hub_key      TEXT NOT NULL REFERENCES hubs(name_key) ON DELETE CASCADE,
  id           TEXT NOT NULL,
  state        TEXT NOT NULL,          -- Scheduled, Enqueued, Processing, Completed, Abandoned, NoTargetFound, Cancelled
  request      TEXT NOT NULL,          -- JSON: format, headers, target, body (base64), test
  counts       TEXT NOT NULL,          -- JSON: { platform: { AzureOutcome: n } }
  targets      INTEGER NOT NULL DEFAULT 0,
  pending_jobs INTEGER NOT NULL DEFAULT 0,
  enqueued_at  INTEGER NOT NULL,
  scheduled_at INTEGER,
  started_at   INTEGER,
  ended_at     INTEGER,
  PRIMARY KEY (hub_key, id)
);

-- Plan and deliver jobs. A job is leased while it runs; a lease that runs out (the process died) makes
-- it runnable again: at-least-once, bounded by the batches in flight.
CREATE TABLE dispatch_jobs (
  id              INTEGER PRIMARY KEY,
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  kind            TEXT NOT NULL,       -- plan | deliver
  payload         TEXT NOT NULL,       -- JSON: plan cursor, or the batch's targets
  attempt         INTEGER NOT NULL DEFAULT 0,
  run_at          INTEGER NOT NULL,
  leased_until    INTEGER
);
CREATE INDEX dispatch_jobs_runnable ON dispatch_jobs (run_at);
CREATE INDEX dispatch_jobs_by_notification ON dispatch_jobs (hub_key, notification_id);

CREATE TABLE device_outcomes (
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  seq             INTEGER NOT NULL,    -- order of writing, for paging
  registration_id TEXT,
  handle          TEXT NOT NULL,
  platform        TEXT NOT NULL,
  outcome         TEXT NOT NULL,       -- Azure outcome name
  reason          TEXT,
  attempts        INTEGER NOT NULL,
  at              INTEGER NOT NULL,
  PRIMARY KEY (hub_key, notification_id, seq)
) WITHOUT ROWID;
CREATE INDEX device_outcomes_by_time ON device_outcomes (at);

CREATE TABLE pns_feedback (
  seq             INTEGER PRIMARY KEY,
  hub_key         TEXT NOT NULL,
  at              INTEGER NOT NULL,
  platform        TEXT NOT NULL,
  handle          TEXT NOT NULL,
  registration_id TEXT,
  installation_id TEXT,
  notification_id TEXT,
  error           TEXT NOT NULL        -- NotificationSystemError, e.g. ExpiredChannel
);
CREATE INDEX pns_feedback_by_hub ON pns_feedback (hub_key, at);
