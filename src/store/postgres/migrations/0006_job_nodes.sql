-- The node running each import/export job (issue 11): a job whose node has no live heartbeat in
-- cluster_nodes is marked Failed by the cluster-wide check (one node per interval, cluster_tasks).
-- NULL for jobs submitted before this migration.
ALTER TABLE jobs ADD COLUMN node text COLLATE "C";
