-- Hubs, their authorization rules and their PNS credentials.
-- Times are milliseconds since the epoch (INTEGER), the same in every adapter.

CREATE TABLE hubs (
  name_key   TEXT PRIMARY KEY,          -- lower-cased name: Azure entity names are case-insensitive
  name       TEXT NOT NULL,
  settings   TEXT NOT NULL,             -- JSON HubSettings
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- scope_key is the lower-cased hub name, or '' for a namespace-level rule.
CREATE TABLE authorization_rules (
  scope_key     TEXT NOT NULL,
  name          TEXT NOT NULL,          -- SAS key names are matched exactly (they are signed)
  rights        TEXT NOT NULL,          -- comma-separated: Listen,Send,Manage
  primary_key   TEXT NOT NULL,
  secondary_key TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (scope_key, name)
);

CREATE TABLE pns_credentials (
  hub_key    TEXT NOT NULL REFERENCES hubs(name_key) ON DELETE CASCADE,
  platform   TEXT NOT NULL,
  sealed     TEXT NOT NULL,
  summary    TEXT NOT NULL,             -- JSON of non-secret facts
  endpoint   TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (hub_key, platform)
);
