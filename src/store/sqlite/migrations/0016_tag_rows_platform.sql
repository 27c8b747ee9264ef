-- Each tag row carries its registration's platform (issue 13, the portal's registry page): a count by tag
-- expression and platform (`sports || lang_fr` on FCM) is then answered from the tag rows alone, where it
-- read a registration for each of its anchors' rows (577 ms over a million registrations). A column of the
-- row, not a key or an index: a registration's write costs no extra b-tree entry. Whoever changes a
-- registration's platform rewrites its tag rows (registry-store.ts).
-- The backfill reads each tag row's registration by rowid: ~6 s for a million registrations (3.3 million
-- tag rows), once.
ALTER TABLE registration_tags ADD COLUMN platform TEXT NOT NULL DEFAULT '';
UPDATE registration_tags SET platform = coalesce((SELECT r.platform FROM registrations r WHERE r.seq = registration_tags.seq), '');

-- The page's platform filter alone (every FCM device of the hub): counted and listed from this index, in
-- seq order (the rowid ends each entry), instead of reading every registration of the hub.
CREATE INDEX registrations_by_platform ON registrations (hub_key, platform);
