-- The device registry: registrations (with their tags in a table of their own, so tag expressions
-- are answered by index lookups) and installations. `seq` orders listings for keyset paging; it is a
-- plain rowid (no AUTOINCREMENT: that costs a write to sqlite_sequence on every insert).
-- An installation's tags are those of its native registration, so installations need no tag table.

CREATE TABLE registrations (
  seq             INTEGER PRIMARY KEY,
  hub_key         TEXT NOT NULL REFERENCES hubs(name_key) ON DELETE CASCADE,
  id              TEXT NOT NULL,
  kind            TEXT NOT NULL,
  platform        TEXT NOT NULL,
  handle          TEXT NOT NULL,        -- the one string the PNS is addressed by
  installation_id TEXT,
  document        TEXT NOT NULL,        -- JSON: handle details, tags, push variables, template
  etag            INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  expires_at      INTEGER,              -- NULL: never
  UNIQUE (hub_key, id)
);
CREATE INDEX registrations_by_handle ON registrations (hub_key, handle);
CREATE INDEX registrations_by_installation ON registrations (hub_key, installation_id) WHERE installation_id IS NOT NULL;
CREATE INDEX registrations_by_expiry ON registrations (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE registration_tags (
  seq     INTEGER NOT NULL REFERENCES registrations(seq) ON DELETE CASCADE,
  hub_key TEXT NOT NULL,
  tag     TEXT NOT NULL,
  PRIMARY KEY (seq, tag)
) WITHOUT ROWID;
CREATE INDEX registration_tags_by_tag ON registration_tags (hub_key, tag, seq);

CREATE TABLE installations (
  seq                  INTEGER PRIMARY KEY,
  hub_key              TEXT NOT NULL REFERENCES hubs(name_key) ON DELETE CASCADE,
  id                   TEXT NOT NULL,
  platform             TEXT NOT NULL,
  handle               TEXT NOT NULL,
  user_id              TEXT,
  document             TEXT NOT NULL,   -- JSON of the Installation
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  expires_at           INTEGER,
  UNIQUE (hub_key, id)
);
CREATE INDEX installations_by_user ON installations (hub_key, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX installations_by_handle ON installations (hub_key, handle);

