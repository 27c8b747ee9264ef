-- The queue's claims record their owner (issue 11: a node id, random per process) beside the lease; only
-- the owner completes a job. A job leased before this migration has no owner: its lease counts as lapsed
-- (runnable again now, attempt + 1).
ALTER TABLE dispatch_jobs ADD COLUMN owner text COLLATE "C";
UPDATE dispatch_jobs SET attempt = attempt + 1, leased_until = NULL WHERE leased_until IS NOT NULL;
DROP INDEX dispatch_jobs_runnable;
CREATE INDEX dispatch_jobs_runnable ON dispatch_jobs (hub_key, run_at, id) WHERE owner IS NULL;
CREATE INDEX dispatch_jobs_leased ON dispatch_jobs (hub_key, leased_until) WHERE owner IS NOT NULL;

-- Counts are rows keyed by the batch (job) that produced them: concurrent batches never update one row,
-- a batch completed twice counts once, and reading a notification sums its rows. Counts stored before this
-- migration keep job_id 0.
ALTER TABLE notification_counts ADD COLUMN job_id bigint NOT NULL DEFAULT 0;
ALTER TABLE notification_counts DROP CONSTRAINT notification_counts_pkey;
ALTER TABLE notification_counts ADD PRIMARY KEY (hub_key, notification_id, job_id, platform, outcome);
ALTER TABLE notification_counts ALTER COLUMN job_id DROP DEFAULT;
