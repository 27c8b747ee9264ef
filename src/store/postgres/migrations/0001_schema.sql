-- Herald's schema on PostgreSQL: the same tables as the SQLite adapter's migrations 0001-0008 end with
-- (store/sqlite/migrations), written for a server database.
--
-- * Times are milliseconds since the epoch (bigint), the same in every adapter.
-- * Text keys are COLLATE "C": byte order, as SQLite's BINARY, so listings come in the same order on both
--   adapters, and comparing bytes costs less CPU than a locale's collation on every index write.
-- * Every index is led by the hub key, so the schema can later be partitioned or distributed by hub
--   (Citus-style). Work that spans hubs (purges, claims, retention) walks the hubs and reads each hub's
--   index (store/postgres/*.ts), instead of needing an index that is not led by the hub.
-- * JSON travels as text (documents, payloads): written and read whole, never queried but for the few
--   places that cast it.

CREATE TABLE hubs (
  name_key   text COLLATE "C" PRIMARY KEY, -- lower-cased name: Azure entity names are case-insensitive
  name       text NOT NULL,
  settings   text NOT NULL,                -- JSON HubSettings
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

-- scope_key is the lower-cased hub name, or '' for a namespace-level rule.
CREATE TABLE authorization_rules (
  scope_key     text COLLATE "C" NOT NULL,
  name          text COLLATE "C" NOT NULL, -- SAS key names are matched exactly (they are signed)
  rights        text NOT NULL,             -- comma-separated: Listen,Send,Manage
  primary_key   text NOT NULL,
  secondary_key text NOT NULL,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  PRIMARY KEY (scope_key, name)
);

CREATE TABLE pns_credentials (
  hub_key    text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  platform   text COLLATE "C" NOT NULL,
  sealed     text NOT NULL,
  summary    text NOT NULL,                -- JSON of non-secret facts
  endpoint   text,
  updated_at bigint NOT NULL,
  PRIMARY KEY (hub_key, platform)
);

-- The device registry. `seq` orders listings for keyset paging (an identity: one sequence for all hubs).
CREATE TABLE registrations (
  hub_key         text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id              text COLLATE "C" NOT NULL,
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  kind            text NOT NULL,
  platform        text COLLATE "C" NOT NULL,
  handle          text COLLATE "C" NOT NULL, -- the one string the PNS is addressed by
  installation_id text COLLATE "C",
  document        text NOT NULL,             -- JSON: tags, push variables, template (handle details when needed)
  etag            integer NOT NULL,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  expires_at      bigint,                    -- NULL: never
  PRIMARY KEY (hub_key, id)
);
CREATE UNIQUE INDEX registrations_by_seq ON registrations (hub_key, seq);
CREATE INDEX registrations_by_handle ON registrations (hub_key, handle);
CREATE INDEX registrations_by_installation ON registrations (hub_key, installation_id) WHERE installation_id IS NOT NULL;
CREATE INDEX registrations_by_expiry ON registrations (hub_key, expires_at) WHERE expires_at IS NOT NULL;

-- One row per tag of a registration: the primary key (hub_key, tag, seq) answers a tag probe, a listing
-- by tag in seq order and a hub's delete, with no second index. No foreign key (a cascade would need an
-- index by seq): whoever deletes or replaces a registration deletes its tag rows, from the tags its
-- document lists. An installation's registrations have no rows for their system tags ($InstallationId:{…},
-- $UserId:{…}): those are answered from registrations.installation_id and installations.user_id.
CREATE TABLE registration_tags (
  hub_key text COLLATE "C" NOT NULL,
  tag     text COLLATE "C" NOT NULL,
  seq     bigint NOT NULL,                   -- registrations.seq
  PRIMARY KEY (hub_key, tag, seq)
);

CREATE TABLE installations (
  hub_key    text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id         text COLLATE "C" NOT NULL,
  seq        bigint GENERATED ALWAYS AS IDENTITY,
  platform   text COLLATE "C" NOT NULL,
  handle     text COLLATE "C" NOT NULL,
  user_id    text COLLATE "C",
  document   text NOT NULL,                  -- JSON of the Installation
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  expires_at bigint,
  PRIMARY KEY (hub_key, id)
);
CREATE UNIQUE INDEX installations_by_seq ON installations (hub_key, seq);
CREATE INDEX installations_by_user ON installations (hub_key, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX installations_by_handle ON installations (hub_key, handle);

-- Import and export jobs of the Azure surface (wire spec §11).
CREATE TABLE jobs (
  hub_key              text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id                   text COLLATE "C" NOT NULL,
  type                 text NOT NULL,
  status               text COLLATE "C" NOT NULL,
  progress             double precision NOT NULL,
  output_container_uri text NOT NULL,
  import_file_uri      text,
  failure              text,
  output_properties    text,                 -- JSON
  created_at           bigint NOT NULL,
  updated_at           bigint NOT NULL,
  PRIMARY KEY (hub_key, id)
);
CREATE INDEX jobs_by_status ON jobs (hub_key, status);

-- The send pipeline: notifications, the durable work queue that plans and delivers them, per-device
-- outcomes and PNS feedback.
CREATE TABLE notifications (
  hub_key          text COLLATE "C" NOT NULL REFERENCES hubs (name_key) ON DELETE CASCADE,
  id               text COLLATE "C" NOT NULL,
  state            text NOT NULL,          -- Scheduled, Enqueued, Processing, Completed, Abandoned, NoTargetFound, Cancelled
  request          text NOT NULL,          -- JSON: format, headers, target, body (base64), test
  targets          bigint NOT NULL DEFAULT 0,
  pending_jobs     bigint NOT NULL DEFAULT 0,
  -- Per-device outcomes written so far: the next batch's outcomes are numbered from here (the UPDATE
  -- that moves it also locks the row, so concurrent batches of one notification number theirs apart).
  outcomes_written bigint NOT NULL DEFAULT 0,
  enqueued_at      bigint NOT NULL,
  scheduled_at     bigint,
  started_at       bigint,
  ended_at         bigint,
  PRIMARY KEY (hub_key, id)
);

-- Outcome counts per platform, added to (never read, changed and written back as one JSON value).
CREATE TABLE notification_counts (
  hub_key         text COLLATE "C" NOT NULL,
  notification_id text COLLATE "C" NOT NULL,
  platform        text COLLATE "C" NOT NULL,
  outcome         text COLLATE "C" NOT NULL, -- Azure outcome name
  n               bigint NOT NULL,
  PRIMARY KEY (hub_key, notification_id, platform, outcome),
  FOREIGN KEY (hub_key, notification_id) REFERENCES notifications (hub_key, id) ON DELETE CASCADE
);

-- Plan and deliver jobs. A job is leased while it runs; a lease that runs out (the process died) makes
-- it runnable again: at-least-once, bounded by the batches in flight.
CREATE TABLE dispatch_jobs (
  hub_key         text COLLATE "C" NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  notification_id text COLLATE "C" NOT NULL,
  kind            text NOT NULL,           -- plan | deliver
  payload         text NOT NULL,           -- JSON: plan cursor, or the batch's targets
  attempt         integer NOT NULL DEFAULT 0,
  run_at          bigint NOT NULL,
  leased_until    bigint,
  PRIMARY KEY (hub_key, id)
);
CREATE INDEX dispatch_jobs_runnable ON dispatch_jobs (hub_key, run_at, id);
CREATE INDEX dispatch_jobs_by_notification ON dispatch_jobs (hub_key, notification_id);

-- Per-device outcomes, one row per delivered batch (up to 1000 outcomes, numbered first_seq, first_seq + 1,
-- ... in the order written); `kinds` lists the outcome names a row holds (',Success,WrongToken,') so a
-- filtered listing skips the rows without one; `at` is the newest outcome's time, for retention.
CREATE TABLE device_outcome_batches (
  hub_key         text COLLATE "C" NOT NULL,
  notification_id text COLLATE "C" NOT NULL,
  first_seq       bigint NOT NULL,
  count           integer NOT NULL,
  kinds           text NOT NULL,
  at              bigint NOT NULL,
  outcomes        text NOT NULL,           -- JSON: [[registrationId|null, handle, platform, outcome, reason|null, attempts, at], ...]
  PRIMARY KEY (hub_key, notification_id, first_seq)
);
CREATE INDEX device_outcome_batches_by_time ON device_outcome_batches (hub_key, at);

CREATE TABLE pns_feedback (
  hub_key         text COLLATE "C" NOT NULL,
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  at              bigint NOT NULL,
  platform        text NOT NULL,
  handle          text NOT NULL,
  registration_id text,
  installation_id text,
  notification_id text,
  error           text NOT NULL,           -- NotificationSystemError, e.g. ExpiredChannel
  PRIMARY KEY (hub_key, seq)
);

-- Secure push (beyond Azure): every read of a secure payload by a device is recorded.
CREATE TABLE secure_reads (
  hub_key         text COLLATE "C" NOT NULL,
  notification_id text COLLATE "C" NOT NULL,
  installation_id text NOT NULL,
  at              bigint NOT NULL
);
CREATE INDEX secure_reads_by_notification ON secure_reads (hub_key, notification_id);
