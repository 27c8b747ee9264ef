-- Import and export jobs of the Azure surface (wire spec §11).
CREATE TABLE jobs (
  hub_key              TEXT NOT NULL REFERENCES hubs(name_key) ON DELETE CASCADE,
  id                   TEXT NOT NULL,
  type                 TEXT NOT NULL,
  status               TEXT NOT NULL,
  progress             REAL NOT NULL,
  output_container_uri TEXT NOT NULL,
  import_file_uri      TEXT,
  failure              TEXT,
  output_properties    TEXT,          -- JSON
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  PRIMARY KEY (hub_key, id)
);
CREATE INDEX jobs_by_status ON jobs (status);
