/**
 * Registrations and installations in SQLite. Every conditional write (If-Match, expiry) is checked
 * inside the transaction that writes, so two requests cannot both win an ETag race.
 */
import { HubError } from '../../shared/errors.ts';
import { anchorTags, compileTagExpressionToSql, type SqlPredicate } from '../../tags/index.ts';
import { matchSystemTagPrefix } from '../../tags/tag.ts';
import type { Installation, PlatformName, Registration } from '../../registry/model.ts';
import type {
  InstallationFilter,
  InstallationStore,
  ListingSlice,
  PageRequest,
  RangePageRequest,
  RegistrationStore,
  RegistryFilter,
  WriteCondition,
} from '../store.ts';
import { cursorCodec } from '../cursor.ts';
import { documentOf, installationHandle, ownedByInstallation, page, sameTags, TAG_SCHEMA, tagOnlyCount, tagRowCountParts, tagRowCountSql, toRegistration, type RegistrationDocument, type RegistrationRow } from '../registry-rows.ts';
import { boundRanks, slicesBetween } from '../slices.ts';
import type { SqliteDatabase, SqliteStatement } from './sqlite-database.ts';
import type { WriteBatcher } from './write-batcher.ts';
import { eventAppender, type EventSignal } from './event-store.ts';
import { installationDeleted, installationUpserted, registrationEvent } from '../../events/model.ts';

/** A registry write's promise, telling the hub's event readers once it has committed (its events with it). */
function announcer(signal: EventSignal | undefined) {
  return <T>(hub: string, write: Promise<T>): Promise<T> => (signal ? write.then((v) => (signal.fire(hub.toLowerCase()), v)) : write);
}

const key = (name: string) => name.toLowerCase();

/**
 * The tag rows of registrations. registration_tags has no foreign key (0002_registry.sql: a cascade would
 * need a second b-tree keyed by seq), so every write that deletes or replaces a registration deletes its
 * tag rows here, given the registration's stored document: it lists exactly the tags that were inserted,
 * so each row is found by its primary key (hub_key, tag, seq).
 * Both directions read the tags from the same JSON text with json_each, inside SQLite: one statement per
 * registration instead of one per tag, and inserted and deleted tags are decoded the same way.
 * An installation's registrations get no rows for their system tags (the only tags that start with '$':
 * an installation's own tags cannot be system tags): `$InstallationId:{…}` and `$UserId:{…}` are answered
 * from the installation_id column and the installation's user_id instead (systemTagMatch), which saves
 * the two longest rows of each registration (0007_installation_system_tags.sql).
 * Each row carries its registration's platform (0016_tag_rows_platform.sql), so a count by tag expression
 * and platform reads no registration; whoever changes a registration's platform rewrites its tag rows.
 */
export function tagRows(db: SqliteDatabase) {
  const rowTags = `FROM json_each(?, '$.tags') WHERE ? IS NULL OR substr(value, 1, 1) <> '$'`;
  const insert = db.prepare(`INSERT OR IGNORE INTO registration_tags (hub_key, tag, seq, platform) SELECT ?, value, ?, ? ${rowTags}`);
  const remove = db.prepare(`DELETE FROM registration_tags WHERE hub_key = ? AND seq = ? AND tag IN (SELECT value ${rowTags})`);
  return {
    /** `document`: the registration's document as stored (documentOf); `platform`, `installationId`: its columns. */
    insert: (hubKey: string, seq: number | bigint, platform: string, document: string, installationId: string | null): void => {
      insert.run(hubKey, seq, platform, document, installationId);
    },
    remove: (hubKey: string, seq: number, document: string, installationId: string | null): void => {
      remove.run(hubKey, seq, document, installationId);
    },
  };
}

/**
 * The system tags of an installation's registrations, which have no tag rows (tagRows): a condition on the
 * registration `r` that holds when it carries `tag` that way. Registrations created through the
 * registrations API keep rows for every tag, system-looking ones included, and are found by those.
 */
function systemTagMatch(tag: string): SqlPredicate | undefined {
  const prefix = tag.endsWith('}') ? matchSystemTagPrefix(tag) : undefined;
  if (prefix === undefined || !tag.startsWith(prefix)) return undefined;
  const value = tag.slice(prefix.length, -1);
  // IS, not =: never NULL for a registration without an installation, so NOT stays two-valued.
  return prefix === '$InstallationId:{'
    ? { sql: 'r.installation_id IS ?', params: [value] }
    : { sql: 'EXISTS (SELECT 1 FROM installations si WHERE si.hub_key = r.hub_key AND si.id = r.installation_id AND si.user_id = ?)', params: [value] };
}

/** A window of seqs, `after < seq <= upTo`, that a paged listing reads at a time (see `select`). */
interface SeqWindow {
  after: number;
  upTo: number;
}

/**
 * The seqs of a hub's registrations that carry any of `tags`, from tag rows and system tags alike; only
 * those inside `window` when one is given.
 */
function registrationsWithTags(hubKey: string, tags: readonly string[], window?: SeqWindow, platform?: string): { sql: string; params: unknown[] } {
  const range = (alias: string): string => (window ? ` AND ${alias}.seq > ? AND ${alias}.seq <= ?` : '');
  const rangeParams = window ? [window.after, window.upTo] : [];
  // A platform filter leaves out the other platforms' tag rows before any registration is read.
  const onPlatform = platform === undefined ? '' : ' AND t.platform = ?';
  const parts = [`SELECT t.seq FROM registration_tags t WHERE t.hub_key = ? AND t.tag IN (${tags.map(() => '?').join(', ')})${onPlatform}${range('t')}`];
  const params: unknown[] = [hubKey, ...tags, ...(platform === undefined ? [] : [platform]), ...rangeParams];
  for (const tag of tags) {
    const system = systemTagMatch(tag);
    if (!system) continue;
    // CROSS JOIN makes SQLite start from the user's installations (installations_by_user); without
    // statistics it would rather read every registration of the hub by installation.
    parts.push(
      system.sql.startsWith('r.installation_id IS')
        ? `SELECT s.seq FROM registrations s WHERE s.hub_key = ? AND s.installation_id = ?${range('s')}`
        : `SELECT s.seq FROM installations si CROSS JOIN registrations s ON s.hub_key = si.hub_key AND s.installation_id = si.id WHERE si.hub_key = ? AND si.user_id = ?${range('s')}`,
    );
    params.push(hubKey, ...system.params, ...rangeParams);
  }
  return { sql: parts.join(' UNION ALL '), params };
}

/** Prepared statements for SQL built from filters, kept by their text (the shapes are few). */
function statementCache(db: SqliteDatabase): (sql: string) => SqliteStatement {
  const cache = new Map<string, SqliteStatement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      if (cache.size > 200) cache.clear();
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

/** Seqs per window of an anchored listing, at first and at most (see `select`). */
const WINDOW = 65_536;
const MAX_WINDOW = 1 << 24;

const REG_COLUMNS = 'r.seq, r.id, r.kind, r.platform, r.handle, r.installation_id, r.document, r.etag, r.created_at, r.updated_at, r.expires_at';

/** Whether a filter's listing is driven from the tag rows (then `select` reads it in seq windows). */
function isAnchored(f: RegistryFilter): boolean {
  return f.tag !== undefined || (f.tagExpression !== undefined && anchorTags(f.tagExpression) !== undefined);
}

/** Index rows a set of anchor tags reads, estimated by the store (see `anchorTags`); absent: by tag count. */
type AnchorCost = (hubKey: string, tags: readonly string[]) => number;

function registrationWhere(hub: string, f: RegistryFilter, window?: SeqWindow, cost?: AnchorCost): { sql: string[]; params: unknown[] } {
  // With a tag, the unary + keeps SQLite from driving the query from an index on hub_key (it would read
  // every registration of the hub and sort them): the tag's rows, in seq order under the primary key
  // (hub_key, tag, seq), drive it instead, and listing one tag of a large hub reads only that tag's rows.
  // (sqlite.org/optoverview.html, "Disqualifying WHERE clause terms using unary +".)
  const sql = [f.tag !== undefined ? '+r.hub_key = ?' : 'r.hub_key = ?'];
  const params: unknown[] = [key(hub)];
  if (f.tag !== undefined) {
    const w = registrationsWithTags(key(hub), [f.tag], window, f.platform);
    sql.push(`r.seq IN (${w.sql})`);
    params.push(...w.params);
  }
  if (f.tagExpression) {
    // Start from the tag index when the expression has anchors (a targeted send reads its few rows, not
    // the hub's); the whole expression still filters what the anchors find.
    const anchors = anchorTags(f.tagExpression, cost && ((tags) => cost(key(hub), tags)));
    if (anchors) {
      // `+` keeps SQLite from scanning the hub's index instead (it has no statistics to know better).
      sql[0] = '+r.hub_key = ?';
      const w = registrationsWithTags(key(hub), anchors, window, f.platform);
      sql.push(`r.seq IN (${w.sql})`);
      params.push(...w.params);
    }
    const p = compileTagExpressionToSql(f.tagExpression, TAG_SCHEMA, { alsoMatches: systemTagMatch });
    sql.push(p.sql);
    params.push(...p.params);
  }
  if (f.handles) {
    sql.push(f.handles.length === 0 ? '0' : `r.handle IN (${f.handles.map(() => '?').join(', ')})`);
    params.push(...f.handles);
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
    sql.push(f.kinds.length === 0 ? '0' : `r.kind IN (${f.kinds.map(() => '?').join(', ')})`);
    params.push(...f.kinds);
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
  return { sql, params };
}

/**
 * The cursors of this adapter's listings: the last seq of the page, listings being in seq order. A new row
 * takes a rowid above every row there is, under SQLite's one writer, so a row written while a listing pages
 * comes after the pages already read. Positions written before cursors were opaque (bare seqs) still read.
 */
const REGISTRATION_CURSOR = cursorCodec('s1r', 1, { legacyDecimal: true });
const INSTALLATION_CURSOR = cursorCodec('s1i', 1, { legacyDecimal: true });
/** getMany's hints: a registration's seq (rowid). */
const REGISTRATION_HINT = cursorCodec('s1h', 1);

/** `listingWindow`: the first seq window of an anchored listing (see `select`); small in tests. */
export function sqliteRegistrationStore(db: SqliteDatabase, writes: WriteBatcher, listingWindow = WINDOW, signal?: EventSignal): RegistrationStore {
  const appendEvents = eventAppender(db);
  const announced = announcer(signal);
  const prepared = statementCache(db);
  const selectOne = db.prepare(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = ? AND r.id = ?`);
  const insert = db.prepare(
    `INSERT INTO registrations (hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE registrations SET kind = ?, platform = ?, handle = ?, installation_id = ?, document = ?, etag = ?, updated_at = ?, expires_at = ?
     WHERE seq = ?`,
  );
  const tags = tagRows(db);
  const deleteOne = db.prepare('DELETE FROM registrations WHERE seq = ?');
  const expired = db.prepare('SELECT seq, hub_key, document, installation_id FROM registrations WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?');

  const check = (row: RegistrationRow | undefined, c: WriteCondition): void => {
    // Azure: registrations materialised from an installation are managed through the installation API.
    // Checked first and in the write: no condition lets a classic write take an installation's slot.
    if (row && row.installation_id !== null) throw ownedByInstallation(row.id);
    if (row && row.expires_at !== null && row.expires_at <= c.now) {
      throw new HubError('registration_gone', 'Cannot use specified location: the registration expired. Use a different registration ID.');
    }
    if (c.ifMatch === undefined) return;
    if (!row) throw new HubError('registration_not_found', 'Registration not found.');
    if (c.ifMatch !== '*' && row.etag !== c.ifMatch) {
      throw new HubError('etag_mismatch', `The registration has ETag ${row.etag}, not ${c.ifMatch}: it changed since it was read.`);
    }
  };

  // Writes run inside the write batcher's transaction (write-batcher.ts), so they need none of their own.
  const upsert = (hub: string, reg: Omit<Registration, 'etag' | 'createdAt'>, c: WriteCondition, withEvent = true): Registration => {
    const row = selectOne.get(key(hub), reg.id) as RegistrationRow | undefined;
    check(row, c);
    const platform: PlatformName = reg.handle.platform;
    const etag = row ? row.etag + 1 : 1;
    const hubKey = key(hub);
    const document = documentOf(reg);
    let seq: number;
    if (row) {
      seq = row.seq;
      update.run(reg.kind, platform, reg.handle.value, reg.installationId ?? null, document, etag, reg.updatedAt, reg.expiresAt ?? null, seq);
      // Clients re-register with the same tags on every start: then the tag rows are already right (unless
      // the registration was an installation's, whose system tags had no rows).
      const installationId = reg.installationId ?? null;
      if (row.installation_id !== installationId || row.platform !== platform || !sameTags((JSON.parse(row.document) as RegistrationDocument).tags, reg.tags)) {
        tags.remove(hubKey, seq, row.document, row.installation_id);
        tags.insert(hubKey, seq, platform, document, installationId);
      }
    } else {
      seq = Number(
        insert.run(hubKey, reg.id, reg.kind, platform, reg.handle.value, reg.installationId ?? null, document, etag, reg.updatedAt, reg.updatedAt, reg.expiresAt ?? null).lastInsertRowid,
      );
      tags.insert(hubKey, seq, platform, document, reg.installationId ?? null);
    }
    // Its event, in the same transaction (issue 13); a bulk import's rows record none (volume).
    if (withEvent) appendEvents(hubKey, [registrationEvent(row ? 'registration.updated' : 'registration.created', reg)]);
    return { ...reg, etag, createdAt: row ? row.created_at : reg.updatedAt };
  };

  const remove = (hub: string, id: string, c: WriteCondition): boolean => {
    const row = selectOne.get(key(hub), id) as RegistrationRow | undefined;
    // Deleting an expired registration is allowed: it is what a client cleaning up would do.
    check(row && row.expires_at !== null && row.expires_at <= c.now ? { ...row, expires_at: null } : row, c);
    if (!row) return false;
    tags.remove(key(hub), row.seq, row.document, row.installation_id);
    deleteOne.run(row.seq);
    appendEvents(key(hub), [registrationEvent('registration.deleted', { id }, c.now)]);
    return true;
  };

  const maxSeq = db.prepare('SELECT max(seq) AS m FROM registrations WHERE hub_key = ?');
  // About how many tag rows each anchor has, from where its 1000th row sits among the hub's seqs (a few
  // index steps; SQLite keeps no per-value statistics without STAT4). A tag with fewer rows is counted.
  const SAMPLE = 1000;
  const tagFirstSeq = db.prepare('SELECT min(seq) AS s FROM registration_tags WHERE hub_key = ? AND tag = ?');
  const tagSampleSeq = db.prepare(`SELECT seq AS s FROM registration_tags WHERE hub_key = ? AND tag = ? ORDER BY seq LIMIT 1 OFFSET ${SAMPLE - 1}`);
  const tagRowsUpTo = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM registration_tags WHERE hub_key = ? AND tag = ? LIMIT ${SAMPLE})`);
  const anchorTagRows = (hubKey: string, tag: string): number => {
    const sample = tagSampleSeq.get(hubKey, tag) as { s: number } | undefined;
    if (!sample) return (tagRowsUpTo.get(hubKey, tag) as { n: number }).n;
    const first = (tagFirstSeq.get(hubKey, tag) as { s: number }).s;
    const last = (maxSeq.get(hubKey) as { m: number | null }).m ?? sample.s;
    return Math.round((SAMPLE * (last - first + 1)) / Math.max(1, sample.s - first + 1));
  };
  const anchorRows: AnchorCost = (hubKey, tags) => tags.reduce((n, tag) => n + anchorTagRows(hubKey, tag), 0);
  // Read from the expiry index (only registrations with a lifetime are in it): without INDEXED BY, SQLite
  // would rather scan the hub's registrations by hub_key, a million of them.
  const expiredOne = db.prepare('SELECT 1 FROM registrations INDEXED BY registrations_by_expiry WHERE expires_at IS NOT NULL AND expires_at <= ? AND +hub_key = ? LIMIT 1');
  /**
   * A count by tag expression (and platform) alone, answered from the tag rows without reading a
   * registration: a sum over the anchors, biggest first, each registration counted on the first anchor it
   * carries (registry-rows.ts tagRowCountParts), the platform read from the tag row itself. Only when
   * nothing else filters, the expression names no system tag (those are answered from registration
   * columns), and liveness needs no check (`count` drops liveAt while nothing of the hub has expired).
   * The portal's registry page counts `news && lang_fr` over a million registrations this way (100,000
   * index entries and probes, no table rows), and `sports || lang_fr` on FCM (433,000 entries, 50,000
   * probes).
   */
  const countOnTagRows = (hub: string, f: RegistryFilter): { sql: string; params: unknown[] } | undefined => {
    const count = f.liveAt === undefined ? tagOnlyCount(f) : undefined;
    if (!count) return undefined;
    const hubKey = key(hub);
    const rows = new Map<string, number>();
    const estimate = (tag: string): number => rows.get(tag) ?? rows.set(tag, anchorTagRows(hubKey, tag)).get(tag)!;
    const anchors = anchorTags(count.expression, (tags) => tags.reduce((n, tag) => n + estimate(tag), 0));
    if (!anchors) return undefined;
    const parts = tagRowCountParts(count.expression, [...anchors].sort((a, b) => estimate(b) - estimate(a)));
    const { expression, params } = tagRowCountSql(hubKey, count.platform, parts);
    return { sql: `SELECT ${expression} AS n`, params };
  };

  /**
   * One page of a filtered listing, in seq order, one row more than asked (to know if there is more).
   *
   * A listing driven from tag rows reads them in windows of seqs: SQLite gathers an anchor's seqs into a
   * list before it walks them in order, so without a window every page of `h1 || h2` over a million
   * registrations gathered all ~300,000 of them again (a 6-tag expression took longer than listing the
   * whole hub). A window starts at WINDOW seqs and doubles while it finds less than a page.
   */
  const select = (columns: string, hub: string, filter: RegistryFilter, p: RangePageRequest): unknown[] => {
    const start = p.after === undefined ? undefined : REGISTRATION_CURSOR.decode(p.after)[0]!;
    const until = p.until === undefined ? undefined : REGISTRATION_CURSOR.decode(p.until)[0]!;
    if (!isAnchored(filter)) {
      const w = registrationWhere(hub, filter);
      if (start !== undefined) {
        w.sql.push('r.seq > ?');
        w.params.push(start);
      }
      if (until !== undefined) {
        w.sql.push('r.seq <= ?');
        w.params.push(until);
      }
      return prepared(`SELECT ${columns} FROM registrations r WHERE ${w.sql.join(' AND ')} ORDER BY r.seq LIMIT ?`).all(...w.params, p.limit + 1);
    }
    // The windows stop at the range's end: `until` is inclusive, as a window's `upTo` is.
    const last = Math.min((maxSeq.get(key(hub)) as { m: number | null }).m ?? 0, until ?? Number.MAX_SAFE_INTEGER);
    const rows: unknown[] = [];
    let after = start ?? 0;
    let size = listingWindow;
    while (rows.length <= p.limit && after < last) {
      const window = { after, upTo: Math.min(last, after + size) };
      const w = registrationWhere(hub, filter, window);
      w.sql.push('r.seq > ?');
      w.params.push(window.after);
      const found = prepared(`SELECT ${columns} FROM registrations r WHERE ${w.sql.join(' AND ')} ORDER BY r.seq LIMIT ?`).all(...w.params, p.limit + 1 - rows.length);
      rows.push(...found);
      after = window.upTo;
      if (found.length < (p.limit + 1) / 2) size = Math.min(size * 2, MAX_WINDOW);
    }
    return rows;
  };

  /**
   * Slice bounds: the seqs at equal ranks of the hub's registrations (slices.ts boundRanks), each found by
   * stepping from the one before along the (hub_key, seq) index (a covering index: no row is read; ~70 ms
   * for a million registrations). The event loop gets a turn between bounds. A write between two steps
   * only makes the slices a little uneven: any increasing bounds partition the listing.
   */
  const countAfter = db.prepare('SELECT count(*) AS n FROM registrations WHERE hub_key = ? AND seq > ?');
  const seqAfter = db.prepare('SELECT seq FROM registrations WHERE hub_key = ? AND seq > ? ORDER BY seq LIMIT 1 OFFSET ?');
  const slices = async (hub: string, r: { max: number; minSize: number; after?: string }): Promise<ListingSlice[]> => {
    let seq = r.after === undefined ? -1 : REGISTRATION_CURSOR.decode(r.after)[0]!;
    const count = (countAfter.get(key(hub), seq) as { n: number }).n;
    const n = Math.min(r.max, Math.floor(count / Math.max(1, r.minSize)));
    const bounds: string[] = [];
    let rank = 0;
    for (const next of n <= 1 ? [] : boundRanks(count, n)) {
      await new Promise((resolve) => setImmediate(resolve));
      const row = seqAfter.get(key(hub), seq, next - rank - 1) as { seq: number } | undefined;
      if (!row) break;
      [seq, rank] = [row.seq, next];
      bounds.push(REGISTRATION_CURSOR.encode(seq));
    }
    return slicesBetween(r.after, bounds);
  };

  const purge = db.transaction((before: number, limit: number): number => {
    const rows = expired.all(before, limit) as { seq: number; hub_key: string; document: string; installation_id: string | null }[];
    for (const r of rows) {
      tags.remove(r.hub_key, r.seq, r.document, r.installation_id);
      deleteOne.run(r.seq);
    }
    return rows.length;
  });

  return {
    // SQLite's own advice after a schema's contents changed much: it analyses what needs it, cheaply.
    refreshStatistics: async () => {
      db.pragma('optimize');
    },
    get: async (hub, id) => {
      const row = selectOne.get(key(hub), id) as RegistrationRow | undefined;
      return row && toRegistration(row);
    },
    getMany: async (hub, ids, at) => {
      const out: Registration[] = [];
      let byId: readonly string[] = ids;
      if (at && at.length === ids.length) {
        // By position first: rowid lookups, half the cost of going through the (hub_key, id) index. A row
        // counts only if it is still this hub's registration with that id; the others are looked up by id
        // (a hint this adapter did not make reads as seq 0, which no row has).
        const seqs = at.map((h) => REGISTRATION_HINT.tryDecode(h)?.[0] ?? 0);
        const missing: string[] = [];
        for (let i = 0; i < ids.length; i += 500) {
          const part = seqs.slice(i, i + 500);
          const rows = prepared(`SELECT r.hub_key, ${REG_COLUMNS} FROM registrations r WHERE r.seq IN (${part.map(() => '?').join(', ')})`).all(...part) as Array<RegistrationRow & { hub_key: string }>;
          const found = new Map(rows.map((r) => [r.seq, r]));
          for (let j = 0; j < part.length; j++) {
            const row = found.get(part[j]!);
            if (row && row.hub_key === key(hub) && row.id === ids[i + j]) out.push(toRegistration(row));
            else missing.push(ids[i + j]!);
          }
        }
        byId = missing;
      }
      // In chunks: one statement per batch, not per device; SQLite binds at most 32766 values.
      for (let i = 0; i < byId.length; i += 500) {
        const part = byId.slice(i, i + 500);
        const rows = prepared(`SELECT ${REG_COLUMNS} FROM registrations r WHERE r.hub_key = ? AND r.id IN (${part.map(() => '?').join(', ')})`).all(key(hub), ...part) as RegistrationRow[];
        out.push(...rows.map(toRegistration));
      }
      return out;
    },
    upsert: (hub, reg, c) => announced(hub, writes.run(() => upsert(hub, reg, c))),
    // Concurrent writes: the write batcher commits them in groups, as it does concurrent requests.
    upsertMany: (hub, many) =>
      Promise.all(many.map(({ reg, condition }) => writes.run(() => upsert(hub, reg, condition, false)).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))))),
    delete: (hub, id, c) => announced(hub, writes.run(() => remove(hub, id, c))),
    list: async (hub, filter, p: PageRequest) => page(select(REG_COLUMNS, hub, filter, p) as RegistrationRow[], p.limit, toRegistration, REGISTRATION_CURSOR.encode),
    slices,
    listIds: async (hub, filter, p: RangePageRequest) =>
      page(select('r.seq, r.id', hub, filter, p) as Array<{ seq: number; id: string }>, p.limit, (r) => ({ id: r.id, at: REGISTRATION_HINT.encode(r.seq) }), REGISTRATION_CURSOR.encode),
    count: async (hub, filter) => {
      // Liveness is a column of every registration: checking it reads each match's row. While no
      // registration of the hub has expired (one step of the expiry index says so) all are live, and the
      // count stays in the indexes: the whole hub's in registrations_by_hub, a platform's in
      // registrations_by_platform, an expression's in the tag rows.
      const { liveAt, ...always } = filter;
      const f: RegistryFilter = liveAt !== undefined && expiredOne.get(liveAt, key(hub)) ? filter : always;
      const onTags = countOnTagRows(hub, f);
      if (onTags) return (prepared(onTags.sql).get(...onTags.params) as { n: number }).n;
      // A count reads every match, so it starts from the rarest operand of an `&&` (the portal's registry
      // page counts `news && lang_fr` over a million registrations: 100,000 rows read, not 1,000,000).
      const w = registrationWhere(hub, f, undefined, anchorRows);
      return (prepared(`SELECT count(*) AS n FROM registrations r WHERE ${w.sql.join(' AND ')}`).get(...w.params) as { n: number }).n;
    },
    purgeExpired: async (before, limit) => purge(before, limit),
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
    sql.push(f.handles.length === 0 ? '0' : `i.handle IN (${f.handles.map(() => '?').join(', ')})`);
    params.push(...f.handles);
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

export function sqliteInstallationStore(
  db: SqliteDatabase,
  writes: WriteBatcher,
  registrations: { insertForInstallation(hub: string, regs: readonly Registration[]): void },
  signal?: EventSignal,
): InstallationStore {
  const appendEvents = eventAppender(db);
  const announced = announcer(signal);
  const prepared = statementCache(db);
  const selectOne = db.prepare('SELECT seq, document, created_at FROM installations WHERE hub_key = ? AND id = ?');
  const upsert = db.prepare(
    `INSERT INTO installations (hub_key, id, platform, handle, user_id, document, created_at, updated_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (hub_key, id) DO UPDATE SET platform = excluded.platform, handle = excluded.handle, user_id = excluded.user_id,
       document = excluded.document, updated_at = excluded.updated_at, expires_at = excluded.expires_at
`,
  );
  const tags = tagRows(db);
  // RETURNING hands back the documents that list the tag rows to delete; a new installation (the common
  // PUT) has no registrations yet and then costs this one index probe.
  const deleteRegistrations = db.prepare('DELETE FROM registrations WHERE hub_key = ? AND installation_id = ? RETURNING seq, document');
  const deleteOne = db.prepare('DELETE FROM installations WHERE hub_key = ? AND id = ?');
  const deleteRegs = (hubKey: string, installationId: string): void => {
    for (const r of deleteRegistrations.all(hubKey, installationId) as { seq: number; document: string }[]) tags.remove(hubKey, r.seq, r.document, installationId);
  };

  // Device credentials (secure push): the upsert above never touches credential_generation, so a PUT keeps it.
  const readGeneration = db.prepare('SELECT credential_generation AS g FROM installations WHERE hub_key = ? AND id = ?');
  const takeGeneration = db.prepare(
    'UPDATE installations SET credential_generation = coalesce(credential_generation, lower(hex(randomblob(16)))) WHERE hub_key = ? AND id = ? RETURNING credential_generation AS g',
  );
  const clearGeneration = db.prepare('UPDATE installations SET credential_generation = NULL WHERE hub_key = ? AND id = ?');

  // Writes run inside the write batcher's transaction (write-batcher.ts), so they need none of their own.
  const put = (hub: string, inst: Installation, regs: readonly Registration[]) => {
    appendEvents(key(hub), [installationUpserted(inst)]);
    upsert.run(key(hub), inst.installationId, inst.platform, installationHandle(inst), inst.userId ?? null, JSON.stringify(inst), inst.createdAt, inst.updatedAt, inst.expiresAt ?? null);
    deleteRegs(key(hub), inst.installationId);
    registrations.insertForInstallation(hub, regs);
  };
  const read = (hub: string, id: string): Installation | undefined => {
    const row = selectOne.get(key(hub), id) as (InstallationRow & { created_at: number }) | undefined;
    // The row's created_at is the first PUT's (a re-PUT does not change it), whatever the document says.
    return row && { ...(JSON.parse(row.document) as Installation), createdAt: row.created_at };
  };
  // Read, change and write in the same transaction (the write batcher's): nothing commits in between.
  const patch = (hub: string, id: string, change: (current: Installation) => { installation: Installation; registrations: readonly Registration[] }): Installation => {
    const current = read(hub, id);
    if (!current) throw new HubError('installation_not_found', 'Installation not found.');
    const next = change(current);
    if (next.installation.installationId !== id) throw new Error(`a patch of installation ${id} returned installation ${next.installation.installationId}`);
    put(hub, next.installation, next.registrations);
    return next.installation;
  };
  const remove = (hub: string, id: string, now: number): boolean => {
    // No read first: the delete's own count says whether there was one (an installation's registrations
    // exist only while it does).
    if (deleteOne.run(key(hub), id).changes === 0) return false;
    deleteRegs(key(hub), id);
    appendEvents(key(hub), [installationDeleted(id, now)]);
    return true;
  };

  return {
    get: async (hub, id) => read(hub, id),
    put: (hub, inst, regs) => announced(hub, writes.run(() => put(hub, inst, regs))),
    patch: (hub, id, change) => announced(hub, writes.run(() => patch(hub, id, change))),
    // Without `now` (a caller with no clock at hand): the event carries the time of the delete.
    delete: (hub, id, now) => announced(hub, writes.run(() => remove(hub, id, now ?? Date.now()))),
    credentialGeneration: (hub, id, mode) => {
      const row = (mode === 'issue' ? writes.run(() => takeGeneration.get(key(hub), id)) : Promise.resolve(readGeneration.get(key(hub), id))) as Promise<{ g: string | null } | undefined>;
      return row.then((r) => (r === undefined ? undefined : r.g));
    },
    revokeCredentials: (hub, id) => writes.run(() => clearGeneration.run(key(hub), id).changes > 0),
    list: async (hub, filter, p) => {
      const w = installationWhere(hub, filter);
      if (p.after !== undefined) {
        w.sql.push('i.seq > ?');
        w.params.push(INSTALLATION_CURSOR.decode(p.after)[0]!);
      }
      const rows = prepared(`SELECT i.seq, i.document FROM installations i WHERE ${w.sql.join(' AND ')} ORDER BY i.seq LIMIT ?`).all(...w.params, p.limit + 1) as InstallationRow[];
      return page(rows, p.limit, (r) => JSON.parse(r.document) as Installation, INSTALLATION_CURSOR.encode);
    },
    count: async (hub, filter) => {
      const w = installationWhere(hub, filter);
      return (prepared(`SELECT count(*) AS n FROM installations i WHERE ${w.sql.join(' AND ')}`).get(...w.params) as { n: number }).n;
    },
  };
}

/**
 * Inserts of an installation's registrations (inside the installation's transaction, after its previous
 * registrations were deleted). Materialised ids are predictable (registry/materialize.ts), so a classic
 * registration may already sit at one: the installation replaces it (issue 10 item 9). The common case
 * costs nothing more: the insert does nothing on a taken id, and only then is the id looked at.
 */
export function registrationInserter(db: SqliteDatabase): { insertForInstallation(hub: string, regs: readonly Registration[]): void } {
  const insert = db.prepare(
    `INSERT INTO registrations (hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hub_key, id) DO NOTHING`,
  );
  const taken = db.prepare('SELECT seq, installation_id, document FROM registrations WHERE hub_key = ? AND id = ?');
  const deleteOne = db.prepare('DELETE FROM registrations WHERE seq = ?');
  const tags = tagRows(db);
  return {
    insertForInstallation(hub, regs) {
      const hubKey = key(hub);
      for (const reg of regs) {
        const document = documentOf(reg);
        const installationId = reg.installationId ?? null;
        const row = () => insert.run(hubKey, reg.id, reg.kind, reg.handle.platform, reg.handle.value, installationId, document, reg.etag, reg.createdAt, reg.updatedAt, reg.expiresAt ?? null);
        let inserted = row();
        if (inserted.changes === 0) {
          const other = taken.get(hubKey, reg.id) as { seq: number; installation_id: string | null; document: string };
          // Another installation's: two installations whose materialised ids collide (a SHA-256 collision).
          if (other.installation_id !== null && other.installation_id !== installationId) {
            throw new HubError('write_conflict', `Registration id ${reg.id} is taken by another installation.`);
          }
          tags.remove(hubKey, other.seq, other.document, other.installation_id);
          deleteOne.run(other.seq);
          inserted = row();
        }
        tags.insert(hubKey, inserted.lastInsertRowid, reg.handle.platform, document, installationId);
      }
    },
  };
}
