-- Secure push (issue 10 item 13): a device credential names the generation of its installation. The
-- generation is taken when the installation's first credential is issued and kept by its PUTs; a deleted
-- installation takes it along (one created again under the same id starts without), and revoking the
-- installation's credentials clears it. NULL: no credential issued in this generation yet.
ALTER TABLE installations ADD COLUMN credential_generation TEXT;
