-- The file area on PostgreSQL (store/postgres/file-store.ts): import files and job output, seen by every
-- node, so the node that received an upload need not be the one that runs the job.
--
-- A file is a row of `files` naming its current content (`content`), whose bytes are rows of
-- `file_chunks`. An upload writes its chunks under a new content id and then points the name at it in one
-- transaction (it appears whole, and the last upload to finish wins); the replaced content's chunks go in
-- that transaction. Both tables are led by the hub key (the lower-cased hub of `hubs/<hub>/...`, '' for
-- the rest of the area), like every other table, so the schema can be partitioned by hub.

CREATE TABLE files (
  hub_key    text COLLATE "C" NOT NULL,
  path       text COLLATE "C" NOT NULL,   -- the name inside the file area, slash-separated
  content    uuid NOT NULL,
  bytes      bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (hub_key, path)
);

CREATE TABLE file_chunks (
  hub_key text COLLATE "C" NOT NULL,
  content uuid NOT NULL,
  n       integer NOT NULL,                -- 0, 1, 2, ...: the chunk's place in the file
  data    bytea NOT NULL,
  PRIMARY KEY (hub_key, content, n)
);

-- A deliver job's payload (500 targets) and a batch's per-device outcomes are JSON of 20-60 kB, written
-- once and read once or never: stored out of line without compression. pglz compressing them cost the
-- database server about 15 µs of CPU per push in a broadcast (bench/scaleout.bench.ts, measured here:
-- ~37 -> ~21 µs per push); on disk they stay only until retention prunes them.
ALTER TABLE dispatch_jobs ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE device_outcome_batches ALTER COLUMN outcomes SET STORAGE EXTERNAL;
