-- The queue's claims record their owner (issue 11: a node id, random per process) beside the lease; only
-- the owner completes a job. AUTOINCREMENT: a job id is never reused, because counts are keyed by it.
-- A job leased before this migration has no owner: its process is gone (one process owns an embedded
-- store), so its lease counts as lapsed: runnable again now, attempt + 1.
CREATE TABLE dispatch_jobs_0011 (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  kind            TEXT NOT NULL,       -- plan | deliver
  payload         TEXT NOT NULL,       -- JSON: plan cursor, or the batch's targets
  attempt         INTEGER NOT NULL DEFAULT 0,
  run_at          INTEGER NOT NULL,
  owner           TEXT,                -- node id of the claim; NULL: not claimed
  leased_until    INTEGER              -- the owner's lease; NULL when not claimed
);
INSERT INTO dispatch_jobs_0011 (id, hub_key, notification_id, kind, payload, attempt, run_at, owner, leased_until)
  SELECT id, hub_key, notification_id, kind, payload, attempt + CASE WHEN leased_until IS NULL THEN 0 ELSE 1 END, run_at, NULL, NULL
  FROM dispatch_jobs;
DROP TABLE dispatch_jobs;
ALTER TABLE dispatch_jobs_0011 RENAME TO dispatch_jobs;
CREATE INDEX dispatch_jobs_runnable ON dispatch_jobs (run_at) WHERE owner IS NULL;
CREATE INDEX dispatch_jobs_leased ON dispatch_jobs (leased_until) WHERE owner IS NOT NULL;
CREATE INDEX dispatch_jobs_by_notification ON dispatch_jobs (hub_key, notification_id);

-- Counts are rows keyed by the batch (job) that produced them, never a JSON blob read and written back per
-- batch: a batch completed twice counts once, and reading a notification sums its rows. Counts stored
-- before this migration keep job_id 0.
CREATE TABLE notification_counts (
  hub_key         TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  job_id          INTEGER NOT NULL,
  platform        TEXT NOT NULL,
  outcome         TEXT NOT NULL,       -- Azure outcome name
  n               INTEGER NOT NULL,
  PRIMARY KEY (hub_key, notification_id, job_id, platform, outcome),
  FOREIGN KEY (hub_key, notification_id) REFERENCES notifications (hub_key, id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO notification_counts (hub_key, notification_id, job_id, platform, outcome, n)
  SELECT n.hub_key, n.id, 0, p.key, o.key, o.value
  FROM notifications n, json_each(n.counts) p, json_each(p.value) o
  WHERE o.value > 0;
ALTER TABLE notifications DROP COLUMN counts;
