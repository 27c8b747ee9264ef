/**
 * Registrations and installations in PostgreSQL. Every conditional write (If-Match, expiry) reads the row
 * with FOR UPDATE in the transaction that writes, so two requests (or two nodes) cannot both win an ETag
 * race. The semantics are the SQLite adapter's (store/sqlite/registry-store.ts), held to the same contract.
 */
import { HubError } from '../../shared/errors.ts';
import { anchorTags, compileTagExpressionToSql, toPostgresPlaceholders, type SqlPredicate } from '../../tags/index.ts';
import { matchSystemTagPrefix } from '../../tags/tag.ts';
import type { Installation, Registration } from '../../registry/model.ts';
import type { InstallationFilter, InstallationStore, RangePageRequest, RegistrationStore, RegistryFilter, WriteCondition } from '../store.ts';
import { inTransaction, prepared, sqlState, UNIQUE_VIOLATION, type PgPool, type PgQueryable } from './pg-database.ts';
import type { InstallationWriteGroup } from './write-group.ts';
import { cursorCodec } from '../cursor.ts';
import { documentOf, installationHandle, ownedByInstallation, page, sameTags, TAG_SCHEMA, tagOnlyCount, tagRowCountParts, tagRowCountSql, toRegistration, type RegistrationDocument, type RegistrationRow } from '../registry-rows.ts';
import { upsertMany } from './registry-import.ts';
import { appendEvents } from './event-store.ts';
import { installationDeleted, installationUpserted, registrationEvent } from '../../events/model.ts';
import { boundRanks, slicesBetween } from '../slices.ts';

const key = (name: string) => name.toLowerCase();

/**
 * The tags that get rows: each once; for an installation's registration, none of its system tags (the
 * only tags that start with '$'), which are answered from columns instead (systemTagMatch).
 */
export function tagRowsOf(tags: readonly string[], installationId: string | null | undefined): string[] {
  const unique = [...new Set(tags)];
  return installationId == null ? unique : unique.filter((t) => !t.startsWith('$'));
}

/**
 * One statement that deletes the registrations `where` selects (a condition on `registrations r`, with
 * `using` joined when given) and their tag rows, found by primary key from the tags each deleted document
 * lists (a tag without a row deletes nothing). Answers `n`, how many registrations went. `before` adds
 * CTEs in front (ending with a comma).
 */
export function deleteRegistrationsSql(where: string, using?: string, before = ''): string {
  return `WITH ${before} gone AS (
      DELETE FROM registrations r ${using ? `USING ${using}` : ''} WHERE ${where} RETURNING r.hub_key, r.seq, r.document),
    gone_tags AS (
      DELETE FROM registration_tags t USING gone, json_array_elements_text(gone.document::json -> 'tags') AS g(tag)
      WHERE t.hub_key = gone.hub_key AND t.tag = g.tag AND t.seq = gone.seq)
    SELECT count(*) AS n FROM gone`;
}

/**
 * Inserts tag rows for one registration: `$1` hub key, `$2` seq, `$3` the tags, `$4` its platform (each tag
 * row carries it, migration 0010, so a count by tag expression and platform reads no registration).
 */
const INSERT_TAG_ROWS = 'INSERT INTO registration_tags (hub_key, tag, seq, platform) SELECT $1, t, $2, $4 FROM unnest($3::text[]) AS t ON CONFLICT DO NOTHING';

/** A system tag an installation's registrations carry without tag rows, or undefined. */
function systemTag(tag: string): { by: 'installation' | 'user'; value: string } | undefined {
  const prefix = tag.endsWith('}') ? matchSystemTagPrefix(tag) : undefined;
  if (prefix === undefined || !tag.startsWith(prefix)) return undefined;
  return { by: prefix === '$InstallationId:{' ? 'installation' : 'user', value: tag.slice(prefix.length, -1) };
}

/** The condition on `r` that holds when it carries a system tag through its installation. Never NULL. */
function systemTagMatch(tag: string): SqlPredicate | undefined {
  const s = systemTag(tag);
  if (!s) return undefined;
  return s.by === 'installation'
    ? { sql: '(r.installation_id IS NOT NULL AND r.installation_id = ?)', params: [s.value] }
    : { sql: 'EXISTS (SELECT 1 FROM installations si WHERE si.hub_key = r.hub_key AND si.id = r.installation_id AND si.user_id = ?)', params: [s.value] };
}

/** A range of seqs, `after < seq <= until` (either end open when absent). */
interface SeqRange {
  after?: number | undefined;
  until?: number | undefined;
}

/** The seqs of a hub's registrations that carry any of `tags` (tag rows and system tags), within `within`. */
function registrationsWithTags(hubKey: string, tags: readonly string[], within: SeqRange, platform?: string): { sql: string; params: unknown[] } {
  const range = (alias: string) => (within.after === undefined ? '' : ` AND ${alias}.seq > ?`) + (within.until === undefined ? '' : ` AND ${alias}.seq <= ?`);
  const rangeParams = [...(within.after === undefined ? [] : [within.after]), ...(within.until === undefined ? [] : [within.until])];
  // A platform filter leaves out the other platforms' tag rows before any registration is read.
  const onPlatform = platform === undefined ? '' : ' AND t.platform = ?';
  const parts = [`SELECT t.seq FROM registration_tags t WHERE t.hub_key = ? AND t.tag = ANY(?::text[])${onPlatform}${range('t')}`];
  const params: unknown[] = [hubKey, [...tags], ...(platform === undefined ? [] : [platform]), ...rangeParams];
  for (const tag of tags) {
    const s = systemTag(tag);
    if (!s) continue;
    parts.push(
      s.by === 'installation'
        ? `SELECT s.seq FROM registrations s WHERE s.hub_key = ? AND s.installation_id = ?${range('s')}`
        : `SELECT s.seq FROM installations si JOIN registrations s ON s.hub_key = si.hub_key AND s.installation_id = si.id WHERE si.hub_key = ? AND si.user_id = ?${range('s')}`,
    );
    params.push(hubKey, s.value, ...rangeParams);
  }
  return { sql: parts.join(' UNION ALL '), params };
}

export const REG_COLUMNS = 'r.seq, r.id, r.kind, r.platform, r.handle, r.installation_id, r.document, r.etag, r.created_at, r.updated_at, r.expires_at';

/** The filter as SQL conditions with `?` placeholders (numbered once the statement is whole). */
function registrationWhere(hub: string, f: RegistryFilter, within: SeqRange = {}): { sql: string[]; params: unknown[] } {
  const sql = ['r.hub_key = ?'];
  const params: unknown[] = [key(hub)];
  // A tag, or an expression's anchors, drive the listing from the tag rows: a targeted send reads its few
  // rows, not the hub's; the whole expression still filters what the anchors find.
  const anchors = f.tag !== undefined ? [f.tag] : undefined;
  for (const tags of [anchors, f.tagExpression ? anchorTags(f.tagExpression) : undefined]) {
    if (!tags) continue;
    const w = registrationsWithTags(key(hub), tags, within, f.platform);
    sql.push(`r.seq IN (${w.sql})`);
    params.push(...w.params);
  }
  if (f.tagExpression) {
    const p = compileTagExpressionToSql(f.tagExpression, TAG_SCHEMA, { alsoMatches: systemTagMatch });
    sql.push(p.sql);
    params.push(...p.params);
  }
  if (f.handles) {
    sql.push('r.handle = ANY(?::text[])');
    params.push([...f.handles]);
  }
  if (f.platform) {
    sql.push('r.platform = ?');
    params.push(f.platform);
  }
  if (f.installationId !== undefined) {
    sql.push('r.installation_id = ?');
    params.push(f.installationId);
  }
  if (f.kinds) {
    sql.push('r.kind = ANY(?::text[])');
    params.push([...f.kinds]);
  }
  if (f.updatedSince !== undefined) {
    sql.push('r.updated_at >= ?');
    params.push(f.updatedSince);
  }
  if (f.updatedBefore !== undefined) {
    sql.push('r.updated_at < ?');
    params.push(f.updatedBefore);
  }
  if (f.liveAt !== undefined) {
    sql.push('(r.expires_at IS NULL OR r.expires_at > ?)');
    params.push(f.liveAt);
  }
  if (within.after !== undefined) {
    sql.push('r.seq > ?');
    params.push(within.after);
  }
  if (within.until !== undefined) {
    sql.push('r.seq <= ?');
    params.push(within.until);
  }
  return { sql, params };
}

/**
 * The cursors of this adapter's listings: the last seq of the page (listings are in seq order, a keyset on
 * (hub_key, seq)). A seq is taken from an identity sequence when the row is inserted, not when it commits,
 * so a row committed while a listing pages may have a seq behind the cursor and not appear in it. That is
 * safe: such a row was written concurrently with the listing, which may show it or not (as Azure's does),
 * and a keyset on (hub_key, id) would miss new ids behind its cursor alike; a row committed before the
 * listing started and not written since is in it exactly once, whatever else commits meanwhile. A send's
 * planning (listIds) is the same listing: a device registering while its send is planned may or may not get
 * it. Positions written before cursors were opaque (bare seqs) are still read.
 */
const REGISTRATION_CURSOR = cursorCodec('p1r', 1, { legacyDecimal: true });
const INSTALLATION_CURSOR = cursorCodec('p1i', 1, { legacyDecimal: true });
/** listIds' hints: the seq, which getMany reads a planned batch by (its rows sit side by side in the (hub_key, seq) index). */
const REGISTRATION_HINT = cursorCodec('p1h', 1);

/** A listing's bounds as seqs (a cursor this listing did not make is invalid_continuation_token). */
function seqRange(p: { after?: string | undefined; until?: string | undefined }): SeqRange {
  return {
    ...(p.after === undefined ? {} : { after: REGISTRATION_CURSOR.decode(p.after)[0]! }),
    ...(p.until === undefined ? {} : { until: REGISTRATION_CURSOR.decode(p.until)[0]! }),
  };
}

export function check(row: RegistrationRow | undefined, c: WriteCondition): void {
  // Azure: registrations materialised from an installation are managed through the installation API.
  // Checked first and in the write (the row is locked): no condition lets a classic write take an
  // installation's slot.
  if (row && row.installation_id !== null) throw ownedByInstallation(row.id);
  if (row && row.expires_at !== null && row.expires_at <= c.now) {
    throw new HubError('registration_gone', 'Cannot use specified location: the registration expired. Use a different registration ID.');
  }
  if (c.ifMatch === undefined) return;
  if (!row) throw new HubError('registration_not_found', 'Registration not found.');
  if (c.ifMatch !== '*' && row.etag !== c.ifMatch) {
    throw new HubError('etag_mismatch', `The registration has ETag ${row.etag}, not ${c.ifMatch}: it changed since it was read.`);
  }
}

async function selectForUpdate(db: PgQueryable, hubKey: string, id: string): Promise<RegistrationRow | undefined> {
  return (await db.query<RegistrationRow>(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = $1 AND r.id = $2 FOR UPDATE`, [hubKey, id])).rows[0];
}

async function upsertIn(db: PgQueryable, hub: string, reg: Omit<Registration, 'etag' | 'createdAt'>, c: WriteCondition): Promise<Registration> {
  const hubKey = key(hub);
  const row = await selectForUpdate(db, hubKey, reg.id);
  check(row, c);
  const etag = row ? row.etag + 1 : 1;
  const document = documentOf(reg);
  const installationId = reg.installationId ?? null;
  if (row) {
    await db.query(
      `UPDATE registrations SET kind = $3, platform = $4, handle = $5, installation_id = $6, document = $7, etag = $8, updated_at = $9, expires_at = $10
       WHERE hub_key = $1 AND id = $2`,
      [hubKey, reg.id, reg.kind, reg.handle.platform, reg.handle.value, installationId, document, etag, reg.updatedAt, reg.expiresAt ?? null],
    );
    // Clients re-register with the same tags on every start: then the tag rows are already right (unless it
    // was an installation's, whose system tags had no rows).
    const oldTags = (JSON.parse(row.document) as RegistrationDocument).tags;
    if (row.installation_id !== installationId || row.platform !== reg.handle.platform || !sameTags(oldTags, reg.tags)) {
      await db.query('DELETE FROM registration_tags WHERE hub_key = $1 AND seq = $2 AND tag = ANY($3::text[])', [hubKey, row.seq, [...new Set(oldTags)]]);
      await db.query(INSERT_TAG_ROWS, [hubKey, row.seq, tagRowsOf(reg.tags, installationId), reg.handle.platform]);
    }
  } else {
    await db.query(
      `WITH ins AS (
         INSERT INTO registrations (hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING seq)
       INSERT INTO registration_tags (hub_key, tag, seq, platform) SELECT $1, t, ins.seq, $4 FROM ins, unnest($11::text[]) AS t ON CONFLICT DO NOTHING`,
      [hubKey, reg.id, reg.kind, reg.handle.platform, reg.handle.value, installationId, document, etag, reg.updatedAt, reg.expiresAt ?? null, tagRowsOf(reg.tags, installationId)],
    );
  }
  // Its event, in the same transaction (issue 13).
  await appendEvents(db, hubKey, [registrationEvent(row ? 'registration.updated' : 'registration.created', reg)]);
  return { ...reg, etag, createdAt: row ? row.created_at : reg.updatedAt };
}

export function postgresRegistrationStore(pool: PgPool): RegistrationStore {
  const select = async <R>(columns: string, hub: string, filter: RegistryFilter, p: RangePageRequest): Promise<R[]> => {
    const w = registrationWhere(hub, filter, seqRange(p));
    const sql = `SELECT ${columns} FROM registrations r WHERE ${w.sql.join(' AND ')} ORDER BY r.seq LIMIT ?`;
    return (await pool.query<R>(toPostgresPlaceholders(sql), [...w.params, p.limit + 1])).rows;
  };

  return {
    // ANALYZE sends the invalidation that makes every connection plan its cached statements again (the
    // installation PUT function's among them), on the new statistics.
    refreshStatistics: async () => {
      await pool.query('ANALYZE installations, registrations, registration_tags');
    },
    get: async (hub, id) => {
      const row = (await pool.query<RegistrationRow>(prepared(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = $1 AND r.id = $2`), [key(hub), id])).rows[0];
      return row && toRegistration(row);
    },
    // By position first, when the planner's hints are given: a batch's rows sit side by side in the
    // (hub_key, seq) index (the listing's order), where their ids are scattered over the primary key.
    // Measured on 100,000 registrations, batches of 500: ~3 µs of server CPU per row by position, ~11 by
    // id. A row counts only if it still has that id; the others (re-created since) are looked up by id.
    getMany: async (hub, ids, at) => {
      if (ids.length === 0) return [];
      const out: Registration[] = [];
      let byId: readonly string[] = ids;
      if (at && at.length === ids.length) {
        // Hints are this adapter's opaque positions; a garbled one reads as no position (a lookup by id).
        const seqs = at.map((hint) => {
          try {
            return REGISTRATION_HINT.decode(hint)[0]!;
          } catch {
            return -1;
          }
        });
        const { rows } = await pool.query<RegistrationRow>(prepared(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = $1 AND r.seq = ANY($2::bigint[])`), [key(hub), seqs.filter((s) => s >= 0)]);
        const found = new Map(rows.map((r) => [Number(r.seq), r]));
        const missing: string[] = [];
        ids.forEach((id, i) => {
          const row = found.get(seqs[i]!);
          if (row && row.id === id) out.push(toRegistration(row));
          else missing.push(id);
        });
        byId = missing;
      }
      if (byId.length === 0) return out;
      const { rows } = await pool.query<RegistrationRow>(prepared(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = $1 AND r.id = ANY($2::text[])`), [key(hub), [...byId]]);
      return [...out, ...rows.map(toRegistration)];
    },
    upsert: async (hub, reg, c) => {
      try {
        return await inTransaction(pool, (db) => upsertIn(db, hub, reg, c));
      } catch (err) {
        // Another writer inserted the same id first: run again, now as an update of its row.
        if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
        return inTransaction(pool, (db) => upsertIn(db, hub, reg, c));
      }
    },
    upsertMany: (hub, rows) => upsertMany(pool, hub, rows),
    delete: (hub, id, c) =>
      inTransaction(pool, async (db) => {
        const row = await selectForUpdate(db, key(hub), id);
        // Deleting an expired registration is allowed: it is what a client cleaning up would do.
        check(row && row.expires_at !== null && row.expires_at <= c.now ? { ...row, expires_at: null } : row, c);
        if (!row) return false;
        await db.query(deleteRegistrationsSql('r.hub_key = $1 AND r.id = $2'), [key(hub), id]);
        await appendEvents(db, key(hub), [registrationEvent('registration.deleted', { id }, c.now)]);
        return true;
      }),
    list: async (hub, filter, p) => page(await select<RegistrationRow>(REG_COLUMNS, hub, filter, p), p.limit, toRegistration, REGISTRATION_CURSOR.encode),
    listIds: async (hub, filter, p) =>
      page(await select<{ seq: number; id: string }>('r.seq, r.id', hub, filter, p), p.limit, (r) => ({ id: r.id, at: REGISTRATION_HINT.encode(r.seq) }), REGISTRATION_CURSOR.encode),
    // Bounds at equal ranks of the hub's registrations (slices.ts boundRanks), each found by stepping from the
    // one before along the (hub_key, seq) index, which an index-only scan reads without the rows (measured:
    // 0.4-0.7 s for a million registrations, the count about half of it; once per send past its first page,
    // so under 1 us per device). A write between two steps only makes the slices a little uneven: any
    // increasing bounds partition the listing.
    slices: async (hub, r) => {
      let seq = r.after === undefined ? -1 : REGISTRATION_CURSOR.decode(r.after)[0]!;
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registrations WHERE hub_key = $1 AND seq > $2', [key(hub), seq]);
      const count = rows[0]!.n;
      const n = Math.min(r.max, Math.floor(count / Math.max(1, r.minSize)));
      const bounds: string[] = [];
      let rank = 0;
      for (const next of n <= 1 ? [] : boundRanks(count, n)) {
        const found = (await pool.query<{ seq: number }>('SELECT seq FROM registrations WHERE hub_key = $1 AND seq > $2 ORDER BY seq OFFSET $3 LIMIT 1', [key(hub), seq, next - rank - 1])).rows[0];
        if (!found) break;
        [seq, rank] = [Number(found.seq), next];
        bounds.push(REGISTRATION_CURSOR.encode(seq));
      }
      return slicesBetween(r.after, bounds);
    },
    count: async (hub, filter) => {
      // Liveness is a column of every registration: checking it reads each match's row. While no
      // registration of the hub has expired all are live, and the count stays in the indexes, as on SQLite.
      const { liveAt, ...always } = filter;
      const expired =
        liveAt !== undefined &&
        (await pool.query('SELECT 1 FROM registrations WHERE hub_key = $1 AND expires_at IS NOT NULL AND expires_at <= $2 LIMIT 1', [key(hub), liveAt])).rows.length > 0;
      const f: RegistryFilter = expired ? filter : always;
      // A count by tag expression (and platform) alone is answered from the tag rows, as on SQLite
      // (registry-rows.ts tagOnlyCount, tagRowCountParts): a sum over the anchors, each registration counted
      // on the first anchor it carries; no registration is read.
      const count = f.liveAt === undefined ? tagOnlyCount(f) : undefined;
      // No estimate of each tag's rows here: starting `news && lang_fr` from the rarer tag, as SQLite does,
      // did not make it faster on PostgreSQL in the portal bench (its index probes cost more).
      const anchors = count && anchorTags(count.expression);
      if (count && anchors) {
        const { expression, params } = tagRowCountSql(key(hub), count.platform, tagRowCountParts(count.expression, anchors));
        const { rows } = await pool.query<{ n: number }>(toPostgresPlaceholders(`SELECT ${expression}::int AS n`), params);
        return rows[0]!.n;
      }
      const w = registrationWhere(hub, f);
      const { rows } = await pool.query<{ n: number }>(toPostgresPlaceholders(`SELECT count(*) AS n FROM registrations r WHERE ${w.sql.join(' AND ')}`), w.params);
      return rows[0]!.n;
    },
    // Hub by hub through each hub's expiry index (every index is led by the hub key). The DELETE checks the
    // expiry again: a row renewed since it was picked stays.
    purgeExpired: async (before, limit) => {
      const { rows } = await pool.query<{ n: number }>(
        deleteRegistrationsSql(
          'r.hub_key = d.hub_key AND r.id = d.id AND r.expires_at IS NOT NULL AND r.expires_at < $1',
          'doomed d',
          `doomed AS (
             SELECT e.hub_key, e.id FROM hubs h CROSS JOIN LATERAL (
               SELECT hub_key, id FROM registrations WHERE hub_key = h.name_key AND expires_at IS NOT NULL AND expires_at < $1 LIMIT $2) e
             LIMIT $2),`,
        ),
        [before, limit],
      );
      return rows[0]!.n;
    },
  };
}

interface InstallationRow {
  seq: number;
  document: string;
}

function installationWhere(hub: string, f: InstallationFilter): { sql: string[]; params: unknown[] } {
  const sql = ['i.hub_key = ?'];
  const params: unknown[] = [key(hub)];
  if (f.tagExpression) {
    // An installation's tags (with its system tags) are those of its native registration.
    const p = compileTagExpressionToSql(f.tagExpression, TAG_SCHEMA, { alsoMatches: systemTagMatch });
    sql.push(`i.id IN (SELECT r.installation_id FROM registrations r WHERE r.hub_key = ? AND r.installation_id IS NOT NULL AND r.kind NOT LIKE '%Template' AND ${p.sql})`);
    params.push(key(hub), ...p.params);
  }
  if (f.platform) {
    sql.push('i.platform = ?');
    params.push(f.platform);
  }
  if (f.userId !== undefined) {
    sql.push('i.user_id = ?');
    params.push(f.userId);
  }
  if (f.handles) {
    sql.push('i.handle = ANY(?::text[])');
    params.push([...f.handles]);
  }
  if (f.updatedSince !== undefined) {
    sql.push('i.updated_at >= ?');
    params.push(f.updatedSince);
  }
  if (f.updatedBefore !== undefined) {
    sql.push('i.updated_at < ?');
    params.push(f.updatedBefore);
  }
  return { sql, params };
}

/** An installation PUT: the installation and the registrations materialised from it. */
export interface InstallationPut {
  hubKey: string;
  installation: Installation;
  registrations: readonly Registration[];
}

/** The SQLSTATE herald_put_installations raises when a registration id is another installation's. */
const ID_TAKEN = 'HR409';

/**
 * Writes installation PUTs, any number of them, in one statement whatever their number: a call of
 * herald_put_installations (migration 0007) with the group as arrays, unnested server-side. The function
 * upserts the installations (locking their rows; in key order, so two groups that share installations do
 * not deadlock), then, in a statement of its own with a snapshot taken after those locks (so it sees what
 * a concurrent PUT of the same installations committed on any node), deletes the registrations they had
 * and the classic registrations squatting on the new ids, with tag rows, and inserts the new ones with
 * theirs. Run outside a transaction it is one round trip and commits on its own; inside one (a PATCH), it
 * is one statement of it. The installations must be distinct.
 */
export async function putInstallations(db: PgQueryable, puts: readonly InstallationPut[]): Promise<void> {
  const sorted = [...puts].sort((a, b) =>
    a.hubKey === b.hubKey ? (a.installation.installationId < b.installation.installationId ? -1 : 1) : a.hubKey < b.hubKey ? -1 : 1,
  );
  const insts = sorted.map((p) => p.installation);
  // The installations' events go in the same call (migration 0011), so they commit with the PUTs or not at
  // all, also when `db` is the pool (a write group's statement commits on its own).
  const events = sorted.map((p) => installationUpserted(p.installation));
  const regs = sorted.flatMap((p) => p.registrations.map((reg) => ({ hubKey: p.hubKey, reg })));
  const tagHubs: string[] = [];
  const tagIds: string[] = [];
  const tags: string[] = [];
  for (const { hubKey, reg } of regs) {
    for (const t of tagRowsOf(reg.tags, reg.installationId)) {
      tagHubs.push(hubKey);
      tagIds.push(reg.id);
      tags.push(t);
    }
  }
  try {
    await db.query(
      prepared(`SELECT herald_put_installations($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[],
         $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::integer[], $18::bigint[], $19::bigint[], $20::bigint[],
         $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::bigint[], $27::text[])`),
      [
        sorted.map((p) => p.hubKey),
        insts.map((i) => i.installationId),
        insts.map((i) => i.platform),
        insts.map(installationHandle),
        insts.map((i) => i.userId ?? null),
        insts.map((i) => JSON.stringify(i)),
        insts.map((i) => i.createdAt),
        insts.map((i) => i.updatedAt),
        insts.map((i) => i.expiresAt ?? null),
        regs.map((r) => r.hubKey),
        regs.map((r) => r.reg.id),
        regs.map((r) => r.reg.kind),
        regs.map((r) => r.reg.handle.platform),
        regs.map((r) => r.reg.handle.value),
        regs.map((r) => r.reg.installationId ?? null),
        regs.map((r) => documentOf(r.reg)),
        regs.map((r) => r.reg.etag),
        regs.map((r) => r.reg.createdAt),
        regs.map((r) => r.reg.updatedAt),
        regs.map((r) => r.reg.expiresAt ?? null),
        tagHubs,
        tagIds,
        tags,
        sorted.map((p) => p.hubKey),
        events.map((e) => e.type),
        events.map((e) => e.time),
        events.map((e) => JSON.stringify(e.data)),
      ],
    );
  } catch (err) {
    // Materialised ids are predictable (registry/materialize.ts), so a classic registration may sit at
    // one: the installation replaces it (issue 10 item 9). What is left at those ids then is another
    // installation's (a SHA-256 collision): write_conflict.
    if (sqlState(err) === ID_TAKEN) throw new HubError('write_conflict', `Registration id ${(err as Error).message} is taken by another installation.`);
    throw err;
  }
}

export function postgresInstallationStore(pool: PgPool, writes: InstallationWriteGroup): InstallationStore {
  const deleteRegistrationsOf = deleteRegistrationsSql('r.hub_key = $1 AND r.installation_id = $2');
  return {
    get: async (hub, id) => {
      const row = (await pool.query<InstallationRow & { created_at: number }>('SELECT seq, document, created_at FROM installations WHERE hub_key = $1 AND id = $2', [key(hub), id])).rows[0];
      // The row's created_at is the first PUT's (a re-PUT does not change it), whatever the document says.
      return row && { ...(JSON.parse(row.document) as Installation), createdAt: row.created_at };
    },
    put: (hub, inst, regs) => writes.put({ hubKey: key(hub), installation: inst, registrations: regs }),
    // Read (with the row locked), change and write in one transaction: a concurrent patch or PUT of the
    // installation waits for it, a delete that committed first leaves nothing to patch (never re-created).
    patch: (hub, id, change) =>
      inTransaction(pool, async (db) => {
        const row = (await db.query<InstallationRow & { created_at: number }>('SELECT seq, document, created_at FROM installations WHERE hub_key = $1 AND id = $2 FOR UPDATE', [key(hub), id])).rows[0];
        if (!row) throw new HubError('installation_not_found', 'Installation not found.');
        const next = change({ ...(JSON.parse(row.document) as Installation), createdAt: row.created_at });
        if (next.installation.installationId !== id) throw new Error(`a patch of installation ${id} returned installation ${next.installation.installationId}`);
        await putInstallations(db, [{ hubKey: key(hub), installation: next.installation, registrations: next.registrations }]);
        return next.installation;
      }),
    // Device credentials (secure push): the PUT's upsert never sets credential_generation, so a PUT keeps it.
    credentialGeneration: async (hub, id, mode) => {
      const { rows } =
        mode === 'issue'
          ? await pool.query<{ g: string | null }>(
              "UPDATE installations SET credential_generation = coalesce(credential_generation, replace(gen_random_uuid()::text, '-', '')) WHERE hub_key = $1 AND id = $2 RETURNING credential_generation AS g",
              [key(hub), id],
            )
          : await pool.query<{ g: string | null }>('SELECT credential_generation AS g FROM installations WHERE hub_key = $1 AND id = $2', [key(hub), id]);
      return rows[0] === undefined ? undefined : rows[0].g;
    },
    revokeCredentials: async (hub, id) => ((await pool.query('UPDATE installations SET credential_generation = NULL WHERE hub_key = $1 AND id = $2', [key(hub), id])).rowCount ?? 0) > 0,
    // Without `now` (a caller with no clock at hand): the event carries the time of the delete.
    delete: (hub, id, now) =>
      inTransaction(pool, async (db) => {
        if (((await db.query('DELETE FROM installations WHERE hub_key = $1 AND id = $2', [key(hub), id])).rowCount ?? 0) === 0) return false;
        await db.query(deleteRegistrationsOf, [key(hub), id]);
        await appendEvents(db, key(hub), [installationDeleted(id, now ?? Date.now())]);
        return true;
      }),
    list: async (hub, filter, p) => {
      const w = installationWhere(hub, filter);
      if (p.after !== undefined) {
        w.sql.push('i.seq > ?');
        w.params.push(INSTALLATION_CURSOR.decode(p.after)[0]!);
      }
      const sql = `SELECT i.seq, i.document FROM installations i WHERE ${w.sql.join(' AND ')} ORDER BY i.seq LIMIT ?`;
      const { rows } = await pool.query<InstallationRow>(toPostgresPlaceholders(sql), [...w.params, p.limit + 1]);
      return page(rows, p.limit, (r) => JSON.parse(r.document) as Installation, INSTALLATION_CURSOR.encode);
    },
    count: async (hub, filter) => {
      const w = installationWhere(hub, filter);
      const { rows } = await pool.query<{ n: number }>(toPostgresPlaceholders(`SELECT count(*) AS n FROM installations i WHERE ${w.sql.join(' AND ')}`), w.params);
      return rows[0]!.n;
    },
  };
}
