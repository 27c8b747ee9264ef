-- Per-device outcomes, one row per delivered batch instead of one per device: a broadcast to a million
-- devices wrote a million rows into two b-trees (the key and the time index), about a third of the store's
-- work per device. A row holds up to 1000 outcomes, numbered first_seq, first_seq + 1, ... in the order
-- written; `kinds` lists the outcome names it holds (',Success,WrongToken,') so a filtered listing skips
-- the rows without one; `at` is the newest outcome's time, for retention.
CREATE TABLE device_outcome_batches (
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  first_seq       INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  kinds           TEXT NOT NULL,
  at              INTEGER NOT NULL,
  outcomes        TEXT NOT NULL,       -- JSON: [[registrationId|null, handle, platform, outcome, reason|null, attempts, at], ...]
  PRIMARY KEY (hub_key, notification_id, first_seq)
) WITHOUT ROWID;
CREATE INDEX device_outcome_batches_by_time ON device_outcome_batches (at);

INSERT INTO device_outcome_batches (hub_key, notification_id, first_seq, count, kinds, at, outcomes)
  SELECT hub_key, notification_id, seq, 1, ',' || outcome || ',', at,
         json_array(json_array(registration_id, handle, platform, outcome, reason, attempts, at))
  FROM device_outcomes;
DROP TABLE device_outcomes;
