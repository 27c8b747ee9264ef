import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batch, OTHER, OWNER, RULES, storeContract } from '../store-contract.ts';
import { eventsContract } from '../events-contract.ts';
import { openPostgresStore } from './postgres-store.ts';
import { createServer, type AddressInfo } from 'node:net';
import { HubError } from '../../shared/errors.ts';
import type { Installation, Registration } from '../../registry/model.ts';
import { migrate, readMigrations } from './migrate.ts';
import { openPgPool } from './pg-database.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';
import { parseTagExpression } from '../../tags/index.ts';

const postgres = usePostgresServer();

/** One database for the suite, migrated by its first store and emptied before each later one. */
function suiteDatabase(): () => Promise<string> {
  let url: string | undefined;
  return async () => {
    if (url === undefined) url = await postgres.createDatabase();
    else await postgres.emptyDatabase(url);
    return url;
  };
}

const contractDatabase = suiteDatabase();
// The concurrency contract also runs with two stores (two pools, as two Herald nodes) on one database.
const pairDatabase = suiteDatabase();
const eventsDatabase = suiteDatabase();
eventsContract('postgres', async () => openPostgresStore({ url: await eventsDatabase() }));
storeContract(
  'postgres',
  async () => openPostgresStore({ url: await contractDatabase() }),
  async () => {
    const url = await pairDatabase();
    return [await openPostgresStore({ url }), await openPostgresStore({ url })];
  },
);

test('three stores opening an empty database at once migrate it once, under the advisory lock', async () => {
  const url = await postgres.createDatabase();
  const pools = [openPgPool({ connectionString: url }), openPgPool({ connectionString: url }), openPgPool({ connectionString: url })];
  try {
    const applied = await Promise.all(pools.map((p) => migrate(p)));
    const all = readMigrations().map((m) => m.id);
    assert.deepEqual(applied.map((ids) => ids.length > 0).filter(Boolean).length, 1, `exactly one migrated: ${JSON.stringify(applied)}`);
    assert.deepEqual(applied.find((ids) => ids.length > 0), all);
    const { rows } = await pools[0]!.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
    assert.deepEqual(rows.map((r) => r.id), all);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
  // Stores opening together on the migrated database all work.
  const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore({ url })));
  await stores[0]!.hubs.create({ name: 'seen', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
  assert.equal((await stores[2]!.hubs.get('SEEN'))?.name, 'seen');
  await Promise.all(stores.map((s) => s.close()));
});

test('a database migrated by a newer Herald is refused with a clear error, and left as it was', async () => {
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ url });
  await store.close();
  const pool = openPgPool({ connectionString: url });
  try {
    await pool.query("INSERT INTO schema_migrations (id, name, applied_at) VALUES (9999, 'future', 0)");
    await assert.rejects(
      openPostgresStore({ url }),
      (e: unknown) => e instanceof HubError && e.code === 'store_unusable' && /schema migration 9999, newer than this Herald knows \(\d+\); upgrade Herald/.test(e.message),
    );
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
    assert.deepEqual(rows.map((r) => r.id), [...readMigrations().map((m) => m.id), 9999]);
  } finally {
    await pool.end();
  }
});

test('a server that cannot be reached is refused naming the URL without its password', async () => {
  // A port nothing listens on: a listener bound and closed again.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
  await assert.rejects(
    openPostgresStore({ url: `postgres://herald:s3cret-pw@127.0.0.1:${port}/herald` }),
    (e: unknown) =>
      e instanceof HubError &&
      e.code === 'store_unusable' &&
      e.message.includes(`postgres://herald:***@127.0.0.1:${port}/herald`) &&
      !e.message.includes('s3cret-pw') &&
      /ECONNREFUSED/.test(e.message),
  );
});

test('every index is led by the hub key, and every text key column compares bytes (COLLATE "C")', async () => {
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ url });
  await store.close();
  const pool = openPgPool({ connectionString: url });
  try {
    const { rows } = await pool.query<{ index: string; table: string; first: string }>(
      `SELECT i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS table, a.attname AS first
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE ns.nspname = 'public' AND c.relname <> 'schema_migrations'`,
    );
    assert.ok(rows.length > 10);
    const hubKeys = new Set(['hub_key', 'name_key', 'scope_key']);
    // cluster_tasks and cluster_nodes hold the cluster's own schedule and members (a few rows), no hub's data.
    assert.deepEqual(rows.filter((r) => !hubKeys.has(r.first) && !['cluster_tasks', 'cluster_nodes'].includes(r.table)), [], 'indexes not led by the hub key');
    const { rows: text } = await pool.query<{ table: string; column: string; collation: string | null }>(
      `SELECT DISTINCT c.relname AS table, a.attname AS column, co.collname AS collation
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       WHERE ns.nspname = 'public' AND c.relname <> 'schema_migrations' AND a.atttypid = 'text'::regtype`,
    );
    assert.ok(text.length > 10);
    assert.deepEqual(text.filter((t) => t.collation !== 'C'), [], 'indexed text columns without COLLATE "C"');
  } finally {
    await pool.end();
  }
});

test('two stores on one database: claims are disjoint, one of two ETag writes wins, concurrent batches count exactly', async () => {
  const url = await postgres.createDatabase();
  const [a, b] = await Promise.all([openPostgresStore({ url }), openPostgresStore({ url })]);
  try {
    await a.hubs.create({ name: 'race', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    // 40 deliver jobs of one notification, claimed by both stores at once, a few at a time.
    const n = { hub: 'race', id: 'n1', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 };
    await a.dispatch.createNotification(n, { kind: 'plan', payload: { after: null }, runAt: 1 });
    const [plan] = await a.queue.claim(OWNER, 1, 10, 60_000);
    await a.dispatch.finishPlanStep(plan!, { batches: Array.from({ length: 40 }, (_, i) => batch(String(i))), targets: 40, now: 2 }, RULES);
    const claimed = (await Promise.all(Array.from({ length: 10 }, (_, k) => (k % 2 ? a : b).queue.claim(k % 2 ? OWNER : OTHER, 3, 5, 60_000)))).flat();
    assert.equal(claimed.length, 40);
    assert.equal(new Set(claimed.map((j) => j.id)).size, 40, 'no job handed out twice');
    // Every batch finished at once, half on each store: counts add up, outcomes are numbered apart, and the
    // last one to finish completes the notification.
    await Promise.all(
      claimed.map((job, k) =>
        (k % 2 ? a : b).dispatch.finishDelivery(job, {
          outcomes: [{ handle: `h${k}`, platform: 'apns', outcome: 'Success', attempts: 1, at: 4 }],
          counts: { apns: { Success: 1 } },
          expired: [],
          now: 4,
        }, RULES),
      ),
    );
    const done = await b.dispatch.getNotification('race', 'n1');
    assert.equal(done?.state, 'Completed');
    assert.deepEqual(done?.counts, { apns: { Success: 40 } });
    assert.equal((await a.dispatch.listOutcomes('race', 'n1', {}, { limit: 100 })).items.length, 40);

    // Two writes with the same If-Match: exactly one wins.
    await a.registrations.upsert('race', { id: 'r', kind: 'Apple', handle: { platform: 'apns', value: 'AB' }, tags: ['x'], updatedAt: 1 }, { now: 1 });
    const writes = await Promise.allSettled(
      [a, b].map((s, k) => s.registrations.upsert('race', { id: 'r', kind: 'Apple', handle: { platform: 'apns', value: 'AB' }, tags: [`w${k}`], updatedAt: 2 }, { now: 2, ifMatch: 1 })),
    );
    assert.equal(writes.filter((w) => w.status === 'fulfilled').length, 1);
    const refused = writes.find((w) => w.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof HubError && refused.reason.code === 'etag_mismatch');
    assert.equal((await a.registrations.get('race', 'r'))?.etag, 2);
    // The same new id created by both at once: both succeed, one after the other (ETags 1 and 2).
    const created = await Promise.all([a, b].map((s) => s.registrations.upsert('race', { id: 'new', kind: 'Apple', handle: { platform: 'apns', value: 'CD' }, tags: ['n'], updatedAt: 3 }, { now: 3 })));
    assert.deepEqual(created.map((r) => r.etag).sort(), [1, 2]);
    assert.equal(await a.registrations.count('race', { tag: 'n' }), 1);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('installation PUTs arriving together are written as one group; a failing one fails alone, a repeated one wins in order', async () => {
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ url });
  try {
    await store.hubs.create({ name: 'grp', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    const inst = (id: string, tag: string): Installation => ({ installationId: id, platform: 'apns', pushChannel: `AB${id}`, pushChannelExpired: false, tags: [tag], createdAt: 1, updatedAt: 1 });
    const regs = (id: string, tag: string): Registration[] =>
      [id, `${id}-t`].map((rid) => ({ id: rid, kind: 'Apple', handle: { platform: 'apns', value: `AB${id}` }, tags: [`$InstallationId:{${id}}`, tag], installationId: id, etag: 1, createdAt: 1, updatedAt: 1 }));
    const puts = Array.from({ length: 50 }, (_, i) => store.installations.put('grp', inst(`i${i}`, 'first'), regs(`i${i}`, 'first')));
    // In the same turn: a hub that does not exist, and a second PUT of i7.
    const missing = store.installations.put('nohub', inst('x', 'first'), regs('x', 'first'));
    const again = store.installations.put('grp', inst('i7', 'second'), regs('i7', 'second'));
    const settled = await Promise.allSettled([...puts, missing, again]);
    assert.equal(settled.filter((s) => s.status === 'rejected').length, 1);
    assert.equal(settled[50]!.status, 'rejected', 'the PUT into a missing hub');
    assert.equal(await store.installations.count('grp', {}), 50);
    assert.equal(await store.installations.count('nohub', {}), 0);
    assert.equal(await store.registrations.count('grp', {}), 100);
    assert.equal(await store.registrations.count('grp', { tag: 'first' }), 98);
    assert.deepEqual((await store.registrations.list('grp', { tag: '$InstallationId:{i7}' }, { limit: 10 })).items.map((r) => r.tags), [
      ['$InstallationId:{i7}', 'second'],
      ['$InstallationId:{i7}', 'second'],
    ]);
    assert.deepEqual((await store.installations.get('grp', 'i7'))?.tags, ['second'], 'the later PUT of i7 won');
  } finally {
    await store.close();
  }
});

test('0002: a secure notification stored before keeps its sealed payload beside it, no longer in its request', async () => {
  const url = await postgres.createDatabase();
  const pool = openPgPool({ connectionString: url });
  try {
    await migrate(pool, readMigrations().filter((m) => m.id <= 1));
    await pool.query(`
      INSERT INTO hubs (name_key, name, settings, created_at, updated_at) VALUES ('h', 'h', '{"registrationTtlSeconds":null}', 1, 1);
      INSERT INTO notifications (hub_key, id, state, request, enqueued_at)
        VALUES ('h', 'n1', 'Completed', '{"body":"[secure payload]","secure":{"notificationId":"n1","sealed":"SEALED","expiresAt":5000}}', 1),
               ('h', 'n2', 'Completed', '{"body":"plain"}', 1);`);
    await migrate(pool);
    const { rows } = await pool.query('SELECT hub_key, notification_id, sealed, expires_at FROM secure_payloads');
    assert.deepEqual(rows, [{ hub_key: 'h', notification_id: 'n1', sealed: 'SEALED', expires_at: 5000 }]);
    const { rows: requests } = await pool.query<{ request: string }>('SELECT request FROM notifications ORDER BY id');
    assert.deepEqual(
      requests.map((r) => JSON.parse(r.request)),
      [{ body: '[secure payload]', secure: { notificationId: 'n1', expiresAt: 5000 } }, { body: 'plain' }],
    );
    // The store reads it until its expiry.
    const store = await openPostgresStore({ url });
    assert.equal(await store.dispatch.securePayload('h', 'n1', 4999), 'SEALED');
    assert.equal(await store.dispatch.securePayload('h', 'n1', 5000), undefined);
    await store.close();
  } finally {
    await pool.end();
  }
});

test("0010: tag rows written before get their registration's platform, and installation PUTs write it (#13)", async () => {
  const url = await postgres.createDatabase();
  const pool = openPgPool({ connectionString: url });
  try {
    await migrate(pool, readMigrations().filter((m) => m.id <= 9));
    await pool.query(`
      INSERT INTO hubs (name_key, name, settings, created_at, updated_at) VALUES ('h', 'h', '{"registrationTtlSeconds":null}', 1, 1);
      INSERT INTO registrations (hub_key, id, kind, platform, handle, document, etag, created_at, updated_at)
        VALUES ('h', 'f', 'FcmV1', 'fcmv1', 'tok', '{"tags":["a","b"]}', 1, 1, 1), ('h', 'p', 'Apple', 'apns', 'AB', '{"tags":["a"]}', 1, 1, 1);
      INSERT INTO registration_tags (hub_key, tag, seq) SELECT 'h', t, r.seq FROM registrations r, json_array_elements_text(r.document::json -> 'tags') AS t;`);
    await migrate(pool);
    const { rows } = await pool.query('SELECT r.id, t.tag, t.platform FROM registration_tags t JOIN registrations r ON r.seq = t.seq ORDER BY 1, 2');
    assert.deepEqual(rows, [
      { id: 'f', tag: 'a', platform: 'fcmv1' },
      { id: 'f', tag: 'b', platform: 'fcmv1' },
      { id: 'p', tag: 'a', platform: 'apns' },
    ]);
    await assert.rejects(pool.query(`INSERT INTO registration_tags (hub_key, tag, seq) VALUES ('h', 'x', 1)`), /platform/, 'no default: a write that forgets the platform fails');
    const store = await openPostgresStore({ url });
    const a = parseTagExpression('a || b').ast;
    assert.equal(await store.registrations.count('h', { tagExpression: a, platform: 'apns' }), 1);
    // herald_put_installations, replaced by 0010, writes the platform too.
    const inst: Installation = { installationId: 'i', platform: 'apns', pushChannel: 'CD', pushChannelExpired: false, tags: ['b'], createdAt: 1, updatedAt: 1 };
    const regs: Registration[] = [{ id: 'i-0', kind: 'Apple', handle: { platform: 'apns', value: 'CD' }, tags: ['$InstallationId:{i}', 'b'], installationId: 'i', etag: 1, createdAt: 1, updatedAt: 1 }];
    await store.installations.put('h', inst, regs);
    assert.equal(await store.registrations.count('h', { tagExpression: a, platform: 'apns' }), 2);
    assert.equal(await store.registrations.count('h', { tagExpression: a, platform: 'fcmv1' }), 1);
    await store.close();
  } finally {
    await pool.end();
  }
});

test('a bare seq, as plan jobs and continuation tokens carried it before cursors were opaque, still resumes the listing (#11 cursors)', async () => {
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ url });
  const pool = openPgPool({ connectionString: url });
  try {
    await store.hubs.create({ name: 'old', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    for (const id of ['a', 'b', 'c']) {
      await store.registrations.upsert('old', { id, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `t-${id}` }, tags: ['x'], updatedAt: 1 }, { now: 1 });
      await store.installations.put('old', { installationId: id, platform: 'fcmv1', pushChannel: `c-${id}`, pushChannelExpired: false, tags: [], createdAt: 1, updatedAt: 1 }, []);
    }
    const seqOf = async (table: string, id: string) => String((await pool.query<{ seq: number }>(`SELECT seq FROM ${table} WHERE hub_key = 'old' AND id = $1`, [id])).rows[0]!.seq);
    assert.deepEqual((await store.registrations.listIds('old', {}, { limit: 10, after: await seqOf('registrations', 'a') })).items.map((r) => r.id), ['b', 'c']);
    assert.deepEqual((await store.registrations.list('old', { tag: 'x' }, { limit: 10, after: await seqOf('registrations', 'b') })).items.map((r) => r.id), ['c']);
    // A plan job's JSON payload from before holds the seq as a number.
    assert.deepEqual((await store.registrations.listIds('old', {}, { limit: 10, after: Number(await seqOf('registrations', 'b')) as unknown as string })).items.map((r) => r.id), ['c']);
    assert.deepEqual((await store.installations.list('old', {}, { limit: 10, after: await seqOf('installations', 'a') })).items.map((i) => i.installationId), ['b', 'c']);
  } finally {
    await pool.end();
    await store.close();
  }
});

test('0003: jobs leased before have no owner and run again (attempt + 1); counts become rows keyed by job', async () => {
  const url = await postgres.createDatabase();
  const pool = openPgPool({ connectionString: url });
  try {
    await migrate(pool, readMigrations().filter((m) => m.id <= 2));
    const payload = JSON.stringify(batch('x'));
    await pool.query(`
      INSERT INTO hubs (name_key, name, settings, created_at, updated_at) VALUES ('h', 'H', '{"registrationTtlSeconds":null}', 1, 1);
      INSERT INTO notifications (hub_key, id, state, request, targets, pending_jobs, enqueued_at) VALUES ('h', 'n1', 'Processing', '{}', 7, 2, 1);
      INSERT INTO notification_counts (hub_key, notification_id, platform, outcome, n) VALUES ('h', 'n1', 'apns', 'Success', 3), ('h', 'n1', 'apns', 'WrongToken', 1);`);
    await pool.query(
      `INSERT INTO dispatch_jobs (hub_key, notification_id, kind, payload, attempt, run_at, leased_until) VALUES
         ('h', 'n1', 'deliver', $1, 0, 5, NULL), ('h', 'n1', 'deliver', $1, 0, 5, 999999)`,
      [payload],
    );
    await migrate(pool);
  } finally {
    await pool.end();
  }
  const store = await openPostgresStore({ url });
  try {
    assert.deepEqual((await store.dispatch.getNotification('h', 'n1'))?.counts, { apns: { Success: 3, WrongToken: 1 } });
    const jobs = await store.queue.claim(OWNER, 10, 10, 1000);
    assert.deepEqual(jobs.map((j) => j.attempt), [0, 1], 'the job leased before runs again at once, as one taken back');
    for (const j of jobs) assert.equal(await store.dispatch.finishDelivery(j, { outcomes: [], counts: { apns: { Success: 1 } }, expired: [], now: 11 }, RULES), 'done');
    const n = await store.dispatch.getNotification('h', 'n1');
    assert.deepEqual(n?.counts, { apns: { Success: 5, WrongToken: 1 } });
    assert.equal(n?.state, 'Completed');
  } finally {
    await store.close();
  }
});

test('events of two nodes: each hears the other\'s appends, and a reader never passes an event still being committed (#13 item 1)', async () => {
  const url = await postgres.createDatabase();
  const a = await openPostgresStore({ url });
  const b = await openPostgresStore({ url });
  const raw = openPgPool({ connectionString: url });
  try {
    await a.hubs.create({ name: 'two', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    const heard: string[] = [];
    b.events.onAppend((hub) => heard.push(hub));
    let position = await b.events.head('two', 1);
    // A transaction of node A that appended an event and has not committed yet...
    const slow = await raw.connect();
    await slow.query('BEGIN');
    await slow.query("INSERT INTO events (hub_key, type, at, data) VALUES ('two', 'registration.created', 5, '{\"n\":1}')");
    // ...while node A commits a later one: B hears it, but reads nothing past the one still in flight.
    await a.events.append('two', [{ type: 'registration.created', time: 6, data: { n: 2 } }]);
    while (!heard.includes('two')) await new Promise((r) => setImmediate(r));
    const early = await b.events.read('two', position, { limit: 10, retainedSince: 0 });
    assert.deepEqual(early.events, [], 'held back behind the running transaction');
    position = early.next ?? position;
    await slow.query('COMMIT');
    slow.release();
    const late = await b.events.read('two', position, { limit: 10, retainedSince: 0 });
    assert.deepEqual(late.events.map((e) => e.data.n), [1, 2], 'both, in commit-safe order, none lost');
  } finally {
    await raw.end();
    await Promise.all([a.close(), b.close()]);
  }
});

test("refreshStatistics after a bulk write: the planner's row counts follow the registry at once (import jobs call it, #11)", async () => {
  const url = await postgres.createDatabase();
  const store = await openPostgresStore({ url });
  const pool = openPgPool({ connectionString: url });
  try {
    await store.hubs.create({ name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    // Autovacuum would analyse the table by itself some time later: kept out, so only the call can.
    await pool.query('ALTER TABLE registrations SET (autovacuum_enabled = false)');
    const writes = Array.from({ length: 400 }, (_, i) => ({
      reg: { id: `r${i}`, kind: 'FcmV1' as const, handle: { platform: 'fcmv1' as const, value: `t${i}` }, tags: ['news'], updatedAt: 10 },
      condition: { now: 10 },
    }));
    assert.equal((await store.registrations.upsertMany('h', writes)).filter((r) => r instanceof Error).length, 0);
    const estimate = async () => (await pool.query<{ n: number }>("SELECT reltuples::int AS n FROM pg_class WHERE relname = 'registrations'")).rows[0]!.n;
    assert.ok((await estimate()) < 400, 'not analysed yet');
    await store.registrations.refreshStatistics();
    assert.equal(await estimate(), 400);
  } finally {
    await pool.end();
    await store.close();
  }
});
