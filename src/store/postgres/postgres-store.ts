/**
 * The scale-out Store: PostgreSQL through `pg`. Many Herald processes may share one database; every
 * conditional write is checked inside the transaction that writes (row locks), so two processes cannot
 * both win a race. Each store operation is one statement or one short transaction.
 */
import { HubError } from '../../shared/errors.ts';
import type { CredentialRecord, CredentialStore, HubRecord, HubSettings, HubStore, RegistrationStore, RuleRecord, RuleStore, Store, StoreChange } from '../store.ts';
import { ChangeSubscribers, EVERYTHING, ruleScopeChange } from '../changes.ts';
import { migrate } from './migrate.ts';
import { inTransaction, isConnectionError, prepared, openPgListener, openPgPool, sqlState, type PgPool, type PgQueryable } from './pg-database.ts';
import { JOBS_CHANNEL, postgresQueue } from './queue.ts';
import { postgresInstallationStore, postgresRegistrationStore } from './registry-store.ts';
import { postgresJobStore } from './job-store.ts';
import { postgresFileStore } from './file-store.ts';
import { InstallationWriteGroup } from './write-group.ts';
import { postgresDispatchStore } from './dispatch-store.ts';
import { EVENTS_CHANNEL, postgresEventStore, postgresWebhookStore } from './event-store.ts';
import { key, toCredential, toHub, toRule, type CredentialRow, type HubRow, type RuleRow } from '../rows.ts';


/** Tables of a hub's send pipeline and tags: no foreign key to cascade from, so a hub's delete clears them. */
const HUB_ROWS_WITHOUT_CASCADE = ['registration_tags', 'dispatch_jobs', 'device_outcome_batches', 'pns_feedback', 'secure_reads'];

/** The channel of the change signal (changes.ts); a NOTIFY is delivered to the listeners when its transaction commits. */
export const CHANGES_CHANNEL = 'herald_changes';

/** Announces a change from inside the writing transaction: nothing is heard of a write that rolls back. */
async function announce(db: PgQueryable, change: StoreChange): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
}

/** A change as NOTIFY carried it; anything unreadable is taken as "anything may have changed". */
function parseChange(payload: string | undefined): StoreChange {
  try {
    const v = JSON.parse(payload ?? '') as { hub?: unknown };
    if (typeof v.hub === 'string' || v.hub === null) return { hub: v.hub };
  } catch {
    // below
  }
  return EVERYTHING;
}

function hubStore(pool: PgPool): HubStore {
  const hubCols = 'name, settings, created_at, updated_at';
  return {
    create: (hub, rules) =>
      inTransaction(pool, async (db) => {
        const { rowCount } = await db.query(
          'INSERT INTO hubs (name_key, name, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [key(hub.name), hub.name, JSON.stringify(hub.settings), hub.createdAt, hub.updatedAt],
        );
        if (rowCount === 0) throw new HubError('hub_exists', `A hub named '${hub.name}' already exists.`);
        await announce(db, { hub: hub.name });
        if (rules.length === 0) return;
        // One statement for all rules; a repeated name fails it (and the transaction: no hub either).
        await db.query(
          `INSERT INTO authorization_rules (scope_key, name, rights, primary_key, secondary_key, created_at, updated_at)
           SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])`,
          [
            key(hub.name),
            rules.map((r) => r.name),
            rules.map((r) => r.rights.join(',')),
            rules.map((r) => r.primaryKey),
            rules.map((r) => r.secondaryKey),
            rules.map((r) => r.createdAt),
            rules.map((r) => r.updatedAt),
          ],
        );
      }),
    get: async (name) => {
      const row = (await pool.query<HubRow>(prepared(`SELECT ${hubCols} FROM hubs WHERE name_key = $1`), [key(name)])).rows[0];
      return row && toHub(row);
    },
    list: async () => (await pool.query<HubRow>(`SELECT ${hubCols} FROM hubs ORDER BY name_key`)).rows.map(toHub),
    // The merge reads the stored settings (row locked) in the transaction that writes them: no change is
    // lost to another.
    updateSettings: (name, changes, at) =>
      inTransaction(pool, async (db) => {
        const stored = (await db.query<{ settings: string }>('SELECT settings FROM hubs WHERE name_key = $1 FOR UPDATE', [key(name)])).rows[0];
        if (!stored) return undefined;
        const settings = { ...(JSON.parse(stored.settings) as HubSettings), ...changes };
        await announce(db, { hub: name });
        const row = (await db.query<HubRow>(`UPDATE hubs SET settings = $1, updated_at = $2 WHERE name_key = $3 RETURNING ${hubCols}`, [JSON.stringify(settings), at, key(name)])).rows[0];
        return row && toHub(row);
      }),
    delete: (name) =>
      inTransaction(pool, async (db) => {
        // The hub first: its cascade deletes the notifications, waiting for a pipeline step that holds one
        // (dispatch-store.ts orphaned); the tables without a cascade are cleared after, so what such a step
        // committed meanwhile goes too, and a step that runs later finds its notification gone.
        const deleted = ((await db.query('DELETE FROM hubs WHERE name_key = $1', [key(name)])).rowCount ?? 0) > 0;
        for (const table of HUB_ROWS_WITHOUT_CASCADE) await db.query(`DELETE FROM ${table} WHERE hub_key = $1`, [key(name)]);
        await db.query('DELETE FROM authorization_rules WHERE scope_key = $1', [key(name)]);
        await announce(db, { hub: name });
        return deleted;
      }),
  };
}

function ruleStore(pool: PgPool): RuleStore {
  const cols = 'scope_key, name, rights, primary_key, secondary_key, created_at, updated_at';
  return {
    list: async (scope) => (await pool.query<RuleRow>(`SELECT ${cols} FROM authorization_rules WHERE scope_key = $1 ORDER BY created_at, name`, [key(scope)])).rows.map(toRule),
    get: async (scope, name) => {
      const row = (await pool.query<RuleRow>(`SELECT ${cols} FROM authorization_rules WHERE scope_key = $1 AND name = $2`, [key(scope), name])).rows[0];
      return row && toRule(row);
    },
    insert: (r, maxRules) =>
      inTransaction(pool, async (db) => {
        const scope = key(r.scope);
        // Two inserts into one scope at once must not both pass the count: the scope's lock orders them.
        await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`herald:rules:${scope}`]);
        const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM authorization_rules WHERE scope_key = $1', [scope]);
        if (rows[0]!.n >= maxRules) throw new HubError('too_many_rules', `At most ${maxRules} authorization rules are allowed per entity.`);
        const { rowCount } = await db.query(
          `INSERT INTO authorization_rules (${cols}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [scope, r.name, r.rights.join(','), r.primaryKey, r.secondaryKey, r.createdAt, r.updatedAt],
        );
        if (rowCount === 0) throw new HubError('rule_exists', `An authorization rule named '${r.name}' already exists.`);
        await announce(db, ruleScopeChange(r.scope));
      }),
    updateKeys: (scope, name, keys, at) =>
      inTransaction(pool, async (db) => {
        const row = (
          await db.query<RuleRow>(
            `UPDATE authorization_rules SET primary_key = coalesce($1, primary_key), secondary_key = coalesce($2, secondary_key), updated_at = $3
             WHERE scope_key = $4 AND name = $5 RETURNING ${cols}`,
            [keys.primaryKey ?? null, keys.secondaryKey ?? null, at, key(scope), name],
          )
        ).rows[0];
        await announce(db, ruleScopeChange(scope));
        return row && toRule(row);
      }),
    delete: (scope, name) =>
      inTransaction(pool, async (db) => {
        const deleted = ((await db.query('DELETE FROM authorization_rules WHERE scope_key = $1 AND name = $2', [key(scope), name])).rowCount ?? 0) > 0;
        await announce(db, ruleScopeChange(scope));
        return deleted;
      }),
  };
}

function credentialStore(pool: PgPool): CredentialStore {
  const cols = 'h.name AS hub_name, c.platform, c.sealed, c.summary, c.endpoint, c.updated_at';
  return {
    put: async (r) => {
      try {
        await inTransaction(pool, async (db) => {
          await db.query(
            `INSERT INTO pns_credentials (hub_key, platform, sealed, summary, endpoint, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (hub_key, platform) DO UPDATE SET sealed = excluded.sealed, summary = excluded.summary,
               endpoint = excluded.endpoint, updated_at = excluded.updated_at`,
            [key(r.hub), r.platform, r.sealed, JSON.stringify(r.summary), r.endpoint, r.updatedAt],
          );
          await announce(db, { hub: r.hub });
        });
      } catch (err) {
        // foreign_key_violation: the hub is not there (or was deleted meanwhile).
        if (sqlState(err) === '23503') throw new HubError('hub_not_found', `Notification hub '${r.hub}' was not found.`);
        throw err;
      }
    },
    get: async (hub, platform) => {
      const row = (
        await pool.query<CredentialRow>(`SELECT ${cols} FROM pns_credentials c JOIN hubs h ON h.name_key = c.hub_key WHERE c.hub_key = $1 AND c.platform = $2`, [key(hub), platform])
      ).rows[0];
      return row && toCredential(row);
    },
    list: async (hub) =>
      (await pool.query<CredentialRow>(`SELECT ${cols} FROM pns_credentials c JOIN hubs h ON h.name_key = c.hub_key WHERE c.hub_key = $1 ORDER BY c.platform`, [key(hub)])).rows.map(toCredential),
    delete: (hub, platform) =>
      inTransaction(pool, async (db) => {
        const deleted = ((await db.query('DELETE FROM pns_credentials WHERE hub_key = $1 AND platform = $2', [key(hub), platform])).rowCount ?? 0) > 0;
        await announce(db, { hub });
        return deleted;
      }),
  };
}

/**
 * A constraint of the schema that a write broke, as the HubError it means: never a 500 (issue 10 item 9).
 * Every table's hub key references the hub, so a broken foreign key (23503) is a hub deleted while the
 * request ran; any other integrity violation (class 23: unique, check, ...) is a write that collided with
 * the stored state.
 */
function constraintError(err: unknown): unknown {
  // The server went away (or is restarting): 503 with Retry-After; nothing of the request was acknowledged.
  if (isConnectionError(err)) return new HubError('store_unavailable', 'The store cannot be reached right now; retry shortly.', { retryAfterSeconds: STORE_RETRY_AFTER_SECONDS });
  const state = sqlState(err);
  if (state === undefined || !state.startsWith('23')) return err;
  if (state === '23503') return new HubError('hub_not_found', 'The notification hub was deleted while this request ran.');
  return new HubError('write_conflict', 'The write collided with data stored at the same time; read the current state and try again.');
}

/** What a client is told to wait when the database cannot be reached. */
const STORE_RETRY_AFTER_SECONDS = 2;

/** Every method of `part`, with constraint failures turned into HubErrors (constraintError). */
function guarded<T extends object>(part: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(part)) {
    out[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: unknown) => Promise.reject(constraintError(err)))
        : value;
  }
  return out as T;
}

/** A bulk write's refusals, row by row, as guarded() makes a single write's. */
function eachGuarded(store: RegistrationStore): RegistrationStore {
  return { ...store, upsertMany: async (hub, writes) => (await store.upsertMany(hub, writes)).map((r) => (r instanceof Error ? (constraintError(r) as Error) : r)) };
}

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Connections in the pool at most (pg's default is 10). */
  maxConnections?: number;
  /** Told when an idle connection fails (the server restarted or went away). */
  onConnectionError?: (message: string) => void;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable PostgreSQL URL)';
  }
}

/**
 * Connects, applies pending migrations (under an advisory lock, so nodes starting together migrate once)
 * and returns the store. A server that cannot be reached, or a database written by a newer Herald, gives
 * HubError `store_unusable` naming the URL without its password.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const pool = openPgPool({
    connectionString: options.url,
    ...(options.maxConnections === undefined ? {} : { max: options.maxConnections }),
    onIdleError: (err) => options.onConnectionError?.(err.message),
  });
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof HubError) throw err;
    throw new HubError('store_unusable', `cannot open the PostgreSQL store ${redactUrl(options.url)}: ${(err as Error).message}`);
  }
  const changes = new ChangeSubscribers();
  // One LISTEN connection per store. After it reconnects, changes made meanwhile were not heard: every
  // cache drops everything.
  const listener = await openPgListener({
    connectionString: options.url,
    channel: CHANGES_CHANNEL,
    onNotification: (payload) => changes.emit(parseChange(payload)),
    onReconnected: () => changes.emit(EVERYTHING),
    onError: (err) => options.onConnectionError?.(`change listener: ${err.message}`),
  }).catch(async (err: Error) => {
    await pool.end().catch(() => undefined);
    throw new HubError('store_unusable', `cannot open the PostgreSQL store ${redactUrl(options.url)}: ${err.message}`);
  });
  // Enqueued jobs (any node's NOTIFY, on commit) wake this node's workers; after a reconnection too, as
  // a NOTIFY may have been missed meanwhile.
  const enqueueListeners = new Set<() => void>();
  const wakeWorkers = () => {
    for (const l of [...enqueueListeners]) l();
  };
  const jobsListener = await openPgListener({
    connectionString: options.url,
    channel: JOBS_CHANNEL,
    onNotification: wakeWorkers,
    onReconnected: wakeWorkers,
    onError: (err) => options.onConnectionError?.(`job listener: ${err.message}`),
  }).catch(async (err: Error) => {
    await listener.close();
    await pool.end().catch(() => undefined);
    throw new HubError('store_unusable', `cannot open the PostgreSQL store ${redactUrl(options.url)}: ${err.message}`);
  });
  // Appended events (the trigger's NOTIFY, on commit, from any node) wake this node's SSE streams; after a
  // reconnection every stream reads again (a NOTIFY may have been missed; the hub's name '' means any).
  const eventListeners = new Set<(hub: string) => void>();
  const eventsAppended = (hub: string) => {
    for (const l of [...eventListeners]) l(hub);
  };
  const eventsListener = await openPgListener({
    connectionString: options.url,
    channel: EVENTS_CHANNEL,
    onNotification: (payload) => eventsAppended(payload ?? ''),
    onReconnected: () => eventsAppended(''),
    onError: (err) => options.onConnectionError?.(`event listener: ${err.message}`),
  }).catch(async (err: Error) => {
    await Promise.all([listener.close(), jobsListener.close()]);
    await pool.end().catch(() => undefined);
    throw new HubError('store_unusable', `cannot open the PostgreSQL store ${redactUrl(options.url)}: ${err.message}`);
  });
  let open = true;
  return {
    kind: 'postgres',
    capabilities: { sharedAcrossProcesses: true },
    hubs: guarded(hubStore(pool)),
    rules: guarded(ruleStore(pool)),
    credentials: guarded(credentialStore(pool)),
    registrations: eachGuarded(guarded(postgresRegistrationStore(pool))),
    installations: guarded(postgresInstallationStore(pool, new InstallationWriteGroup(pool))),
    jobs: guarded(postgresJobStore(pool)),
    files: postgresFileStore(pool),
    dispatch: guarded(postgresDispatchStore(pool)),
    events: (() => {
      const events = postgresEventStore(pool, eventListeners);
      return { ...guarded(events), onAppend: events.onAppend };
    })(),
    webhooks: guarded(postgresWebhookStore(pool)),
    // Not guarded: the queue writes no row a constraint could refuse, and onEnqueue answers synchronously.
    queue: postgresQueue(pool, enqueueListeners),
    changes,
    // The row's lock orders concurrent claims and the WHERE is checked again on the row as the first
    // claim left it: of the nodes that find a task due, one moves its next run on.
    tasks: {
      claimDue: async (name, now, intervalMs) =>
        ((
          await pool.query(
            `INSERT INTO cluster_tasks (name, next_run) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET next_run = excluded.next_run
             WHERE cluster_tasks.next_run <= $3`,
            [name, now + intervalMs, now],
          )
        ).rowCount ?? 0) > 0,
      heartbeat: (nodeId, now, staleMs) =>
        inTransaction(pool, async (db) => {
          await db.query('INSERT INTO cluster_nodes (node_id, last_seen) VALUES ($1, $2) ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen', [nodeId, now]);
          await db.query('DELETE FROM cluster_nodes WHERE last_seen < $1', [now - staleMs]);
          return Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM cluster_nodes')).rows[0]!.n);
        }).catch((err: unknown) => Promise.reject(constraintError(err))),
      leave: async (nodeId) => {
        await pool.query('DELETE FROM cluster_nodes WHERE node_id = $1', [nodeId]);
      },
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: async () => {
      if (!open) return;
      open = false;
      await Promise.all([listener.close(), jobsListener.close(), eventsListener.close()]);
      await pool.end();
    },
  };
}
