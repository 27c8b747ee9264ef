-- The node running each import/export job (issue 11): on a shared store, a job whose node stopped
-- heartbeating is failed by another node. One process owns an embedded store; kept for one schema.
ALTER TABLE jobs ADD COLUMN node TEXT;
