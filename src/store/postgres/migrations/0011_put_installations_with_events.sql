-- Installation PUTs with their events in the same statement (issue 13: events are written in the unit of
-- work they describe). A group of PUTs committed on its own (write-group.ts) used to append its events in
-- a statement of its own, before the upsert: an upsert that then failed left events for writes that never
-- happened. This overload takes the events too and runs both in one call, so both commit or neither does.
-- The 23-argument function stays for nodes of the previous version during a rolling upgrade.
CREATE FUNCTION herald_put_installations(
  i_hub text[], i_id text[], i_platform text[], i_handle text[], i_user text[], i_document text[],
  i_created bigint[], i_updated bigint[], i_expires bigint[],
  r_hub text[], r_id text[], r_kind text[], r_platform text[], r_handle text[], r_installation text[], r_document text[],
  r_etag integer[], r_created bigint[], r_updated bigint[], r_expires bigint[],
  t_hub text[], t_id text[], t_tag text[],
  e_hub text[], e_type text[], e_at bigint[], e_data text[]
) RETURNS void LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM herald_put_installations(i_hub, i_id, i_platform, i_handle, i_user, i_document, i_created, i_updated, i_expires,
    r_hub, r_id, r_kind, r_platform, r_handle, r_installation, r_document, r_etag, r_created, r_updated, r_expires,
    t_hub, t_id, t_tag);
  INSERT INTO events (hub_key, type, at, data)
  SELECT h, t, a, d FROM unnest(e_hub, e_type, e_at, e_data) WITH ORDINALITY AS x(h, t, a, d, o) ORDER BY o;
END
$fn$;
