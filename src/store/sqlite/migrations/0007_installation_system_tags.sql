-- An installation's registrations keep no tag rows for their system tags ($InstallationId:{…} and
-- $UserId:{…}, the only tags that start with '$'): the store answers those from registrations.installation_id
-- and installations.user_id (registry-store.ts, systemTagMatch). They were the two longest of each such
-- registration's rows. Registrations created through the registrations API keep rows for every tag.
DELETE FROM registration_tags
WHERE substr(tag, 1, 1) = '$'
  AND seq IN (SELECT seq FROM registrations WHERE installation_id IS NOT NULL);
