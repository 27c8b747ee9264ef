/**
 * A bulk import's chunk on PostgreSQL (RegistrationStore.upsertMany): the rows go to a staging table by
 * `COPY ... FROM STDIN`, then a few statements write the whole chunk: lock and read the registrations it
 * replaces (by id), drop those rows' tag rows (by primary key), one INSERT ... ON CONFLICT DO UPDATE from the staging table, one
 * INSERT of the tag rows. Row by row, a 256-line chunk was 256 transactions of 2-4 statements each.
 * Each row is checked as `upsert` checks it (registry-store.ts check): a refused row is answered with its
 * HubError and left out; the others are stored, together, in one transaction.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pgCopy from 'pg-copy-streams';
import type { Registration } from '../../registry/model.ts';
import { key } from '../rows.ts';
import type { WriteCondition } from '../store.ts';
import { inTransaction, type PgPool, type PgQueryable } from './pg-database.ts';
import { documentOf, ownedByInstallation, type RegistrationRow } from '../registry-rows.ts';
import { check, REG_COLUMNS, tagRowsOf } from './registry-store.ts';

type ImportRow = { reg: Omit<Registration, 'etag' | 'createdAt'>; condition: WriteCondition };

const STAGING_COLUMNS = 'ord, id, kind, platform, handle, document, updated_at, expires_at, tags';

/**
 * Per connection, emptied at each commit. COLLATE "C" as the registrations' keys, so the joins use their
 * index. `tags` is the JSON array of the tag rows to write.
 */
const CREATE_STAGING = `CREATE TEMP TABLE IF NOT EXISTS registration_import (
  ord integer NOT NULL, id text COLLATE "C" NOT NULL, kind text NOT NULL, platform text COLLATE "C" NOT NULL,
  handle text COLLATE "C" NOT NULL, document text NOT NULL, updated_at bigint NOT NULL, expires_at bigint, tags text NOT NULL
) ON COMMIT DELETE ROWS`;

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped; null is \N. */
function copyText(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** `pg`'s client takes a COPY stream as a query (pg-copy-streams); the adapter's narrow PgQueryable does not say so. */
function copyInto(db: PgQueryable, sql: string): Writable {
  return (db as unknown as { query(stream: Writable): Writable }).query(pgCopy.from(sql));
}

async function importChunk(db: PgQueryable, hub: string, rows: readonly ImportRow[]): Promise<Array<Registration | Error>> {
  const hubKey = key(hub);
  await db.query(CREATE_STAGING);
  const lines = rows.map(
    ({ reg }, ord) =>
      [ord, reg.id, reg.kind, reg.handle.platform, reg.handle.value, documentOf(reg), reg.updatedAt, reg.expiresAt ?? null, JSON.stringify(tagRowsOf(reg.tags, null))].map(copyText).join('\t') + '\n',
  );
  await pipeline(Readable.from([lines.join('')]), copyInto(db, `COPY registration_import (${STAGING_COLUMNS}) FROM STDIN`));

  // The rows this chunk replaces, locked (in key order: two chunks sharing ids do not deadlock). By the ids
  // themselves, not a join with the staging table: it has no statistics, and the planner may scan.
  const { rows: stored } = await db.query<RegistrationRow>(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = $1 AND r.id = ANY($2::text[]) ORDER BY r.id FOR UPDATE`, [
    hubKey,
    rows.map((r) => r.reg.id),
  ]);
  const byId = new Map(stored.map((r) => [r.id, r]));
  const out: Array<Registration | Error> = new Array(rows.length);
  const refused: number[] = [];
  const refusedIds = new Set<string>();
  rows.forEach(({ reg, condition }, ord) => {
    try {
      check(byId.get(reg.id), condition);
    } catch (err) {
      out[ord] = err as Error;
      refused.push(ord);
      refusedIds.add(reg.id);
    }
  });
  if (refused.length > 0) await db.query('DELETE FROM registration_import WHERE ord = ANY($1::int[])', [refused]);
  if (refused.length === rows.length) return out;

  // The replaced registrations' tag rows, by primary key, from the tags their stored documents list.
  const replaced = stored.filter((r) => !refusedIds.has(r.id));
  const oldTags = replaced.flatMap((r) => tagRowsOf((JSON.parse(r.document) as { tags: string[] }).tags, r.installation_id).map((tag) => [tag, r.seq] as const));
  if (oldTags.length > 0) {
    await db.query('DELETE FROM registration_tags t USING unnest($2::text[], $3::bigint[]) AS x(tag, seq) WHERE t.hub_key = $1 AND t.tag = x.tag AND t.seq = x.seq', [
      hubKey,
      oldTags.map((t) => t[0]),
      oldTags.map((t) => t[1]),
    ]);
  }
  // An installation's registration that appeared since the read above (a concurrent PUT) is left alone.
  const { rows: written } = await db.query<{ id: string; seq: number; etag: number; created_at: number }>(
    `WITH up AS (
       INSERT INTO registrations (hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at, expires_at)
       SELECT $1, id, kind, platform, handle, NULL, document, 1, updated_at, updated_at, expires_at FROM registration_import ORDER BY id
       ON CONFLICT (hub_key, id) DO UPDATE SET kind = excluded.kind, platform = excluded.platform, handle = excluded.handle,
         installation_id = NULL, document = excluded.document, etag = registrations.etag + 1, updated_at = excluded.updated_at, expires_at = excluded.expires_at
       WHERE registrations.installation_id IS NULL
       RETURNING id, seq, etag, created_at),
     tag_rows AS (
       INSERT INTO registration_tags (hub_key, tag, seq, platform)
       SELECT $1, g.tag, up.seq, s.platform FROM up JOIN registration_import s ON s.id = up.id, json_array_elements_text(s.tags::json) AS g(tag)
       ON CONFLICT DO NOTHING)
     SELECT id, seq, etag, created_at FROM up`,
    [hubKey],
  );
  const done = new Map(written.map((w) => [w.id, w]));
  rows.forEach(({ reg }, ord) => {
    if (out[ord]) return;
    const w = done.get(reg.id);
    out[ord] = w ? { ...reg, etag: w.etag, createdAt: w.created_at } : ownedByInstallation(reg.id);
  });
  return out;
}

/** RegistrationStore.upsertMany on PostgreSQL: the ids must be distinct (one statement writes each row once). */
export function upsertMany(pool: PgPool, hub: string, rows: readonly ImportRow[]): Promise<Array<Registration | Error>> {
  if (rows.length === 0) return Promise.resolve([]);
  return inTransaction(pool, (db) => importChunk(db, hub, rows));
}
