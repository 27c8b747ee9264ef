/**
 * The embedded Store: SQLite in WAL mode through better-sqlite3. Synchronous calls are wrapped in
 * promises to fit the Store interface; each operation is one short statement or transaction.
 */
import { BACKSTOP_PAGES, startCheckpointer } from './checkpointer.ts';
import { HubError } from '../../shared/errors.ts';
import type {
  CredentialRecord,
  CredentialStore,
  HubRecord,
  HubSettings,
  HubStore,
  RuleRecord,
  RegistrationStore,
  RuleStore,
  Store,
} from '../store.ts';
import { migrate } from './migrate.ts';
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.ts';
import { registrationInserter, sqliteInstallationStore, sqliteRegistrationStore } from './registry-store.ts';
import { WriteBatcher } from './write-batcher.ts';
import { announcing, ChangeSubscribers, ruleScopeChange } from '../changes.ts';
import { sqliteJobStore } from './job-store.ts';
import { sqliteDispatchStore } from './dispatch-store.ts';
import { EnqueueSignal, sqliteQueue } from './queue.ts';
import { EventSignal, sqliteEventStore, sqliteWebhookStore } from './event-store.ts';
import { key, toCredential, toHub, toRule, type CredentialRow, type HubRow, type RuleRow } from '../rows.ts';


function hubStore(db: SqliteDatabase): HubStore {
  const insertHub = db.prepare(
    'INSERT INTO hubs (name_key, name, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const insertRule = db.prepare(
    'INSERT INTO authorization_rules (scope_key, name, rights, primary_key, secondary_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const selectHub = db.prepare('SELECT name, settings, created_at, updated_at FROM hubs WHERE name_key = ?');
  const selectHubs = db.prepare('SELECT name, settings, created_at, updated_at FROM hubs ORDER BY name_key');
  const deleteHub = db.prepare('DELETE FROM hubs WHERE name_key = ?');
  const updateSettings = db.prepare('UPDATE hubs SET settings = ?, updated_at = ? WHERE name_key = ?');
  // The merge reads the stored settings in the transaction that writes them: no change is lost to another.
  const changeSettings = db.transaction((name: string, changes: Partial<HubSettings>, at: number): HubRecord | undefined => {
    const row = selectHub.get(key(name)) as HubRow | undefined;
    if (!row) return undefined;
    updateSettings.run(JSON.stringify({ ...(JSON.parse(row.settings) as HubSettings), ...changes }), at, key(name));
    return toHub(selectHub.get(key(name)) as HubRow);
  });
  const deleteRules = db.prepare('DELETE FROM authorization_rules WHERE scope_key = ?');

  const create = db.transaction((hub: HubRecord, rules: readonly RuleRecord[]) => {
    const { changes } = insertHub.run(key(hub.name), hub.name, JSON.stringify(hub.settings), hub.createdAt, hub.updatedAt);
    if (changes === 0) throw new HubError('hub_exists', `A hub named '${hub.name}' already exists.`);
    for (const r of rules) {
      insertRule.run(key(hub.name), r.name, r.rights.join(','), r.primaryKey, r.secondaryKey, r.createdAt, r.updatedAt);
    }
  });
  const remove = db.transaction((name: string) => {
    // registration_tags has no foreign key to cascade from (0002_registry.sql): its rows go by their key's
    // first column. Prepared here, not with the others: a hub's delete is rare.
    db.prepare('DELETE FROM registration_tags WHERE hub_key = ?').run(key(name));
    // The send pipeline's rows have no foreign key either (jobs outlive nothing but their hub).
    for (const table of ['dispatch_jobs', 'device_outcome_batches', 'pns_feedback', 'secure_reads']) db.prepare(`DELETE FROM ${table} WHERE hub_key = ?`).run(key(name));
    deleteRules.run(key(name));
    return deleteHub.run(key(name)).changes > 0;
  });

  return {
    create: async (hub, rules) => create(hub, rules),
    get: async (name) => {
      const row = selectHub.get(key(name)) as HubRow | undefined;
      return row && toHub(row);
    },
    list: async () => (selectHubs.all() as HubRow[]).map(toHub),
    updateSettings: async (name, changes, at) => changeSettings.immediate(name, changes, at),
    delete: async (name) => remove(name),
  };
}

function ruleStore(db: SqliteDatabase): RuleStore {
  const cols = 'scope_key, name, rights, primary_key, secondary_key, created_at, updated_at';
  const selectAll = db.prepare(`SELECT ${cols} FROM authorization_rules WHERE scope_key = ? ORDER BY created_at, name`);
  const selectOne = db.prepare(`SELECT ${cols} FROM authorization_rules WHERE scope_key = ? AND name = ?`);
  const count = db.prepare('SELECT count(*) AS n FROM authorization_rules WHERE scope_key = ?');
  const insert = db.prepare(`INSERT INTO authorization_rules (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
  const update = db.prepare(
    'UPDATE authorization_rules SET primary_key = coalesce(?, primary_key), secondary_key = coalesce(?, secondary_key), updated_at = ? WHERE scope_key = ? AND name = ?',
  );
  const remove = db.prepare('DELETE FROM authorization_rules WHERE scope_key = ? AND name = ?');

  const insertChecked = db.transaction((r: RuleRecord, maxRules: number) => {
    const scope = key(r.scope);
    if ((count.get(scope) as { n: number }).n >= maxRules) {
      throw new HubError('too_many_rules', `At most ${maxRules} authorization rules are allowed per entity.`);
    }
    const { changes } = insert.run(scope, r.name, r.rights.join(','), r.primaryKey, r.secondaryKey, r.createdAt, r.updatedAt);
    if (changes === 0) throw new HubError('rule_exists', `An authorization rule named '${r.name}' already exists.`);
  });
  const updateKeys = db.transaction(
    (scope: string, name: string, keys: { primaryKey?: string; secondaryKey?: string }, at: number) => {
      if (update.run(keys.primaryKey ?? null, keys.secondaryKey ?? null, at, key(scope), name).changes === 0) return undefined;
      return toRule(selectOne.get(key(scope), name) as RuleRow);
    },
  );

  return {
    list: async (scope) => (selectAll.all(key(scope)) as RuleRow[]).map(toRule),
    get: async (scope, name) => {
      const row = selectOne.get(key(scope), name) as RuleRow | undefined;
      return row && toRule(row);
    },
    insert: async (rule, maxRules) => insertChecked(rule, maxRules),
    updateKeys: async (scope, name, keys, at) => updateKeys(scope, name, keys, at),
    delete: async (scope, name) => remove.run(key(scope), name).changes > 0,
  };
}

function credentialStore(db: SqliteDatabase): CredentialStore {
  const cols = 'h.name AS hub_name, c.platform, c.sealed, c.summary, c.endpoint, c.updated_at';
  const upsert = db.prepare(
    `INSERT INTO pns_credentials (hub_key, platform, sealed, summary, endpoint, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (hub_key, platform) DO UPDATE SET sealed = excluded.sealed, summary = excluded.summary,
       endpoint = excluded.endpoint, updated_at = excluded.updated_at`,
  );
  const selectOne = db.prepare(
    `SELECT ${cols} FROM pns_credentials c JOIN hubs h ON h.name_key = c.hub_key WHERE c.hub_key = ? AND c.platform = ?`,
  );
  const selectAll = db.prepare(
    `SELECT ${cols} FROM pns_credentials c JOIN hubs h ON h.name_key = c.hub_key WHERE c.hub_key = ? ORDER BY c.platform`,
  );
  const remove = db.prepare('DELETE FROM pns_credentials WHERE hub_key = ? AND platform = ?');
  const hubExists = db.prepare('SELECT 1 FROM hubs WHERE name_key = ?');

  const put = db.transaction((r: CredentialRecord) => {
    if (!hubExists.get(key(r.hub))) throw new HubError('hub_not_found', `Notification hub '${r.hub}' was not found.`);
    upsert.run(key(r.hub), r.platform, r.sealed, JSON.stringify(r.summary), r.endpoint, r.updatedAt);
  });

  return {
    put: async (r) => put(r),
    get: async (hub, platform) => {
      const row = selectOne.get(key(hub), platform) as CredentialRow | undefined;
      return row && toCredential(row);
    },
    list: async (hub) => (selectAll.all(key(hub)) as CredentialRow[]).map(toCredential),
    delete: async (hub, platform) => remove.run(key(hub), platform).changes > 0,
  };
}

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for tests. */
  path: string;
  /** Seqs in the first window of a listing driven by tag rows (registry-store.ts `select`); tests make it tiny. */
  listingWindow?: number;
  /** Told when a background WAL checkpoint fails (it is retried on the next tick). */
  onCheckpointError?: (message: string) => void;
}

/**
 * A constraint of the schema that a write broke, as the HubError it means: never a 500 (issue 10 item 9).
 * Every table's hub key references the hub, so a broken foreign key is a hub deleted while the request ran;
 * any other (a UNIQUE or PRIMARY KEY) is a write that collided with the stored state.
 */
function constraintError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return err;
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new HubError('hub_not_found', 'The notification hub was deleted while this request ran.');
  return new HubError('write_conflict', 'The write collided with data stored at the same time; read the current state and try again.');
}

/** Every method of `part`, with constraint failures turned into HubErrors (constraintError). */
function guarded<T extends object>(part: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(part)) {
    if (typeof value !== 'function') {
      out[name] = value;
      continue;
    }
    out[name] = (...args: unknown[]) => {
      try {
        const result = (value as (...a: unknown[]) => unknown)(...args);
        return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(constraintError(err))) : result;
      } catch (err) {
        throw constraintError(err);
      }
    };
  }
  return out as T;
}

/** A bulk write's refusals, row by row, as guarded() makes a single write's. */
function eachGuarded(store: RegistrationStore): RegistrationStore {
  return { ...store, upsertMany: async (hub, writes) => (await store.upsertMany(hub, writes)).map((r) => (r instanceof Error ? (constraintError(r) as Error) : r)) };
}

/**
 * Opens (creating if needed) the database, sets WAL and applies pending migrations. A file that is
 * not a SQLite database, or cannot be opened, gives HubError `data_dir_unusable` naming the path.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  let db: SqliteDatabase;
  try {
    db = openSqliteDatabase(options.path);
    // WAL lets readers go on while one writer commits; NORMAL sync is durable across process crashes.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // 64 MiB of page cache: the registry's index b-trees stay in memory for a few million devices.
    db.pragma('cache_size = -65536');
    // Checkpoints run on a worker thread (checkpointer.ts) for a file store: a checkpoint inside a commit
    // runs on the event loop and fsyncs twice, and the pages every write dirties (b-tree tails, interior
    // pages) are copied once per checkpoint however often they changed. Checkpointing every 8,000 pages
    // instead of 1,000 took installation PUTs at 64 clients from 2,220-3,380/s to 2,930-4,130/s, but each
    // of those checkpoints stalled the loop ~100 ms; the worker takes them off it entirely. In memory there
    // is no WAL.
    db.pragma(`wal_autocheckpoint = ${options.path === ':memory:' ? 8000 : BACKSTOP_PAGES}`);
    migrate(db);
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw new HubError('data_dir_unusable', `cannot open the store ${options.path}: ${(err as Error).message}`);
  }
  const ping = db.prepare('SELECT 1');
  const writes = new WriteBatcher(db);
  const enqueued = new EnqueueSignal();
  const appended = new EventSignal();
  const checkpointer = options.path === ':memory:' ? undefined : startCheckpointer(options.path, options.onCheckpointError);
  let open = true;
  const changes = new ChangeSubscribers();
  const claimTask = db.prepare(
    'INSERT INTO cluster_tasks (name, next_run) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET next_run = excluded.next_run WHERE cluster_tasks.next_run <= ?',
  );
  return {
    kind: 'sqlite',
    capabilities: { sharedAcrossProcesses: false },
    hubs: announcing(guarded(hubStore(db)), changes, {
      create: (hub: HubRecord) => ({ hub: hub.name }),
      updateSettings: (name: string) => ({ hub: name }),
      delete: (name: string) => ({ hub: name }),
    }),
    rules: announcing(guarded(ruleStore(db)), changes, {
      insert: (rule: RuleRecord) => ruleScopeChange(rule.scope),
      updateKeys: (scope: string) => ruleScopeChange(scope),
      delete: (scope: string) => ruleScopeChange(scope),
    }),
    credentials: announcing(guarded(credentialStore(db)), changes, {
      put: (record: CredentialRecord) => ({ hub: record.hub }),
      delete: (hub: string) => ({ hub }),
    }),
    changes,
    tasks: {
      claimDue: (name, now, intervalMs) => writes.run(() => claimTask.run(name, now + intervalMs, now).changes > 0),
      heartbeat: (nodeId, now, staleMs) =>
        writes.run(() => {
          db.prepare('INSERT INTO cluster_nodes (node_id, last_seen) VALUES (?, ?) ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen').run(nodeId, now);
          db.prepare('DELETE FROM cluster_nodes WHERE last_seen < ?').run(now - staleMs);
          return (db.prepare('SELECT count(*) AS n FROM cluster_nodes').get() as { n: number }).n;
        }),
      leave: (nodeId) => writes.run(() => void db.prepare('DELETE FROM cluster_nodes WHERE node_id = ?').run(nodeId)),
    },
    registrations: eachGuarded(guarded(sqliteRegistrationStore(db, writes, options.listingWindow, appended))),
    installations: guarded(sqliteInstallationStore(db, writes, registrationInserter(db), appended)),
    jobs: guarded(sqliteJobStore(db)),
    dispatch: guarded(sqliteDispatchStore(db, writes, enqueued, appended)),
    events: guarded(sqliteEventStore(db, writes, appended)),
    webhooks: guarded(sqliteWebhookStore(db, writes)),
    queue: guarded(sqliteQueue(db, enqueued)),
    ping: async () => {
      ping.get();
    },
    close: async () => {
      if (!open) return;
      open = false;
      await checkpointer?.stop();
      db.close();
    },
  };
}
