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

-- One row per tag of a registration, in ONE b-tree: the primary key (hub_key, tag, seq) answers a tag
-- probe (hub, tag, registration), a listing by tag (hub, tag, seq ascending) and a hub's delete (hub), so
-- no second index is needed. Tag rows dominate the cost of a registry write (an installation with a
-- template writes 2 registrations x ~7 tags), and each b-tree with text keys is paid per row.
-- There is no foreign key (a cascade would need an index by seq): whoever deletes or replaces a
-- registration deletes its tag rows first, by primary key, from the tags its document lists
-- (registry-store.ts), and a hub's delete deletes its tag rows by hub_key.
CREATE TABLE registration_tags (
  hub_key TEXT NOT NULL,
  tag     TEXT NOT NULL,
  seq     INTEGER NOT NULL,              -- registrations.seq
  PRIMARY KEY (hub_key, tag, seq)
) WITHOUT ROWID;

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

