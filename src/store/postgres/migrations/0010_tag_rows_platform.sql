-- Each tag row carries its registration's platform (issue 13, the portal's registry page), as on SQLite
-- (0016_tag_rows_platform.sql): a count by tag expression and platform is answered from the tag rows
-- alone. A column of the row, not a key or an index: a registration's write costs no extra index entry.
-- Whoever changes a registration's platform rewrites its tag rows (registry-store.ts). The default is only
-- for the rows already there; it is dropped once they are filled, so a write that forgets the platform fails.
ALTER TABLE registration_tags ADD COLUMN platform text COLLATE "C" NOT NULL DEFAULT '';
UPDATE registration_tags t SET platform = r.platform FROM registrations r WHERE r.hub_key = t.hub_key AND r.seq = t.seq;
ALTER TABLE registration_tags ALTER COLUMN platform DROP DEFAULT;
-- The primary key's index carries the platform too (INCLUDE: not part of the key), so a count reads it
-- from the index alone; without it every tag row's heap tuple was fetched for its platform. The same one
-- index as before, rebuilt once: a write costs no extra index entry.
ALTER TABLE registration_tags DROP CONSTRAINT registration_tags_pkey, ADD PRIMARY KEY (hub_key, tag, seq) INCLUDE (platform);

-- The page's platform filter alone (every FCM device of the hub), counted from this index, as on SQLite.
CREATE INDEX registrations_by_platform ON registrations (hub_key, platform, seq);

-- herald_put_installations (0007) as it was, but for the tag rows' platform.
CREATE OR REPLACE FUNCTION herald_put_installations(
  i_hub text[], i_id text[], i_platform text[], i_handle text[], i_user text[], i_document text[],
  i_created bigint[], i_updated bigint[], i_expires bigint[],
  r_hub text[], r_id text[], r_kind text[], r_platform text[], r_handle text[], r_installation text[], r_document text[],
  r_etag integer[], r_created bigint[], r_updated bigint[], r_expires bigint[],
  t_hub text[], t_id text[], t_tag text[]
) RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  taken text;
BEGIN
  -- 1. Upsert the installations; unnest reads the arrays in order, so the caller's key order is the
  --    locking order and two groups that share installations do not deadlock.
  INSERT INTO installations (hub_key, id, platform, handle, user_id, document, created_at, updated_at, expires_at)
  SELECT * FROM unnest(i_hub, i_id, i_platform, i_handle, i_user, i_document, i_created, i_updated, i_expires)
  ON CONFLICT (hub_key, id) DO UPDATE SET platform = excluded.platform, handle = excluded.handle, user_id = excluded.user_id,
    document = excluded.document, updated_at = excluded.updated_at, expires_at = excluded.expires_at;
  -- 2. Delete the registrations the installations had and the classic registrations squatting on the new
  --    ids (with their tag rows), then insert the new registrations and their tag rows. The insert reads
  --    `gone` (a one-time filter evaluated before its first row), so the deletes run first; a row this
  --    transaction deleted does not conflict with one it inserts. An id still taken is another
  --    installation's: the insert skips it and the first one skipped fails the call (HR409).
  WITH gone_own AS (
    DELETE FROM registrations r USING unnest(i_hub, i_id) AS x(hub_key, id)
    WHERE r.hub_key = x.hub_key AND r.installation_id = x.id
    RETURNING r.hub_key, r.seq, r.document),
  gone_squatters AS (
    DELETE FROM registrations r USING unnest(r_hub, r_id) AS x(hub_key, id)
    WHERE r.hub_key = x.hub_key AND r.id = x.id AND r.installation_id IS NULL
    RETURNING r.hub_key, r.seq, r.document),
  gone AS (SELECT * FROM gone_own UNION ALL SELECT * FROM gone_squatters),
  gone_tags AS (
    DELETE FROM registration_tags t USING gone, json_array_elements_text(gone.document::json -> 'tags') AS g(tag)
    WHERE t.hub_key = gone.hub_key AND t.tag = g.tag AND t.seq = gone.seq),
  ins AS (
    INSERT INTO registrations (hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at, expires_at)
    SELECT * FROM unnest(r_hub, r_id, r_kind, r_platform, r_handle, r_installation, r_document, r_etag, r_created, r_updated, r_expires)
    WHERE (SELECT count(*) FROM gone) >= 0
    ON CONFLICT (hub_key, id) DO NOTHING
    RETURNING hub_key, id, seq, platform),
  ins_tags AS (
    INSERT INTO registration_tags (hub_key, tag, seq, platform)
    SELECT ins.hub_key, x.tag, ins.seq, ins.platform FROM ins JOIN unnest(t_hub, t_id, t_tag) AS x(hub_key, id, tag) ON x.hub_key = ins.hub_key AND x.id = ins.id
    ON CONFLICT DO NOTHING)
  SELECT x.id INTO taken FROM unnest(r_hub, r_id) AS x(hub_key, id)
  WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.hub_key = x.hub_key AND ins.id = x.id) LIMIT 1;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'HR409', MESSAGE = taken;
  END IF;
END
$fn$;
