import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batch, OWNER, RULES, storeContract } from '../store-contract.ts';
import { eventsContract } from '../events-contract.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { migrate, readMigrations } from './migrate.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { HubError } from '../../shared/errors.ts';
import { parseTagExpression } from '../../tags/index.ts';

/** Temporary directories of this file, removed when its tests are done. */
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

storeContract('sqlite (memory)', async () => openSqliteStore({ path: ':memory:' }));
eventsContract('sqlite (memory)', async () => openSqliteStore({ path: ':memory:' }));
// Listings driven by tag rows read seq windows: with a window of 2 seqs every such listing spans many.
storeContract('sqlite (memory, tiny listing windows)', async () => openSqliteStore({ path: ':memory:', listingWindow: 2 }));
// The file variant also runs the concurrency contract with two instances (two connections) on one file.
const storeDirs: string[] = [];
const storeFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  storeDirs.push(dir);
  return join(dir, 'herald.db');
};
after(() => {
  for (const dir of storeDirs) rmSync(dir, { recursive: true, force: true });
});
storeContract(
  'sqlite (file, WAL)',
  async () => openSqliteStore({ path: storeFile() }),
  async () => {
    const path = storeFile();
    return [openSqliteStore({ path }), openSqliteStore({ path })];
  },
);

test('a file store checkpoints its WAL on a worker thread: the main file grows without a checkpoint on the event loop', async () => {
  const path = join(tempDir(), 'herald.db');
  const store = openSqliteStore({ path });
  await store.hubs.create({ name: 'wal', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
  const before = statSync(path).size;
  // ~2,000 pages of WAL, far below the main connection's own checkpoint mark (BACKSTOP_PAGES).
  await Promise.all(
    Array.from({ length: 2000 }, (_, i) =>
      store.registrations.upsert('wal', { id: `r${i}`, kind: 'Apple', handle: { platform: 'apns', value: 'ab'.repeat(32) }, tags: [`t${i}`, 'x'.repeat(100)], pushVariables: { pad: 'p'.repeat(1500) }, updatedAt: 1 }, { now: 1 }),
    ),
  );
  // The worker checkpoints on its own; the bound only stops a hung test.
  const deadline = Date.now() + 60_000;
  while (statSync(path).size <= before + 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(statSync(path).size > before + 1_000_000, `the main file grew from ${before} to ${statSync(path).size} bytes`);
  await store.close();
});

test('a file store keeps its data across reopen and uses WAL', async () => {
  const path = join(tempDir(), 'herald.db');
  const a = openSqliteStore({ path });
  await a.hubs.create({ name: 'kept', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
  await a.close();
  const b = openSqliteStore({ path });
  assert.equal((await b.hubs.get('kept'))?.name, 'kept');
  await b.close();
  const db = openSqliteDatabase(path);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('migrations are applied once, in order', () => {
  const db = openSqliteDatabase(':memory:');
  const all = readMigrations();
  assert.ok(all.length >= 1);
  assert.deepEqual(migrate(db), all.map((m) => m.id));
  assert.deepEqual(migrate(db), []);
  db.close();
});

test('a store written by a newer Herald is refused', () => {
  const db = openSqliteDatabase(':memory:');
  migrate(db);
  db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (9999, ?, 0)').run('future');
  assert.throws(() => migrate(db), (e: unknown) => e instanceof HubError && /newer than this Herald/.test(e.message));
  db.close();
});

test('a corrupt database file is refused with its path and the reason', () => {
  const path = join(tempDir(), 'herald.db');
  writeFileSync(path, 'this is not a database, just some text that is long enough '.repeat(200));
  assert.throws(
    () => openSqliteStore({ path }),
    (e: unknown) => e instanceof HubError && e.code === 'data_dir_unusable' && e.message.includes(path) && /not a database/.test(e.message),
  );
});

test("0007: an installation's registrations lose their system-tag rows, and are still found by those tags", async () => {
  const path = join(tempDir(), 'herald.db');
  const db = openSqliteDatabase(path);
  migrate(db, readMigrations().filter((m) => m.id <= 6));
  // Rows as 0006 wrote them: every tag of every registration.
  db.exec(`
    INSERT INTO hubs VALUES ('h', 'h', '{"registrationTtlSeconds":null}', 1, 1);
    INSERT INTO installations (seq, hub_key, id, platform, handle, user_id, document, created_at, updated_at)
      VALUES (1, 'h', 'i1', 'fcmv1', 'chan', 'u1', '{"installationId":"i1","platform":"fcmv1","pushChannel":"chan","pushChannelExpired":false,"userId":"u1","tags":["t"],"createdAt":1,"updatedAt":1}', 1, 1);
    INSERT INTO registrations (seq, hub_key, id, kind, platform, handle, installation_id, document, etag, created_at, updated_at)
      VALUES (1, 'h', 'r1', 'FcmV1', 'fcmv1', 'chan', 'i1', '{"handle":{"platform":"fcmv1","value":"chan"},"tags":["$InstallationId:{i1}","$UserId:{u1}","t"]}', 1, 1, 1),
             (2, 'h', 'plain', 'FcmV1', 'fcmv1', 'other', NULL, '{"handle":{"platform":"fcmv1","value":"other"},"tags":["$UserId:{u1}","t"]}', 1, 1, 1);
    INSERT INTO registration_tags VALUES ('h', '$InstallationId:{i1}', 1), ('h', '$UserId:{u1}', 1), ('h', 't', 1), ('h', '$UserId:{u1}', 2), ('h', 't', 2);
  `);
  db.close();
  const store = openSqliteStore({ path });
  const list = async (text: string) =>
    (await store.registrations.list('h', { tagExpression: parseTagExpression(text).ast }, { limit: 10 })).items.map((r) => [r.id, r.tags, r.handle]);
  assert.deepEqual(await list('$UserId:{u1}'), [
    ['r1', ['$InstallationId:{i1}', '$UserId:{u1}', 't'], { platform: 'fcmv1', value: 'chan' }],
    ['plain', ['$UserId:{u1}', 't'], { platform: 'fcmv1', value: 'other' }],
  ]);
  assert.deepEqual((await list('$InstallationId:{i1} && t')).map((r) => r[0]), ['r1']);
  await store.close();
  const after = openSqliteDatabase(path);
  assert.deepEqual(after.prepare('SELECT tag, seq FROM registration_tags ORDER BY seq, tag').all(), [
    { tag: 't', seq: 1 },
    { tag: '$UserId:{u1}', seq: 2 },
    { tag: 't', seq: 2 },
  ]);
  after.close();
});

test("0016: tag rows written before get their registration's platform, and a count by expression and platform reads them (#13)", async () => {
  const path = join(tempDir(), 'herald.db');
  const db = openSqliteDatabase(path);
  migrate(db, readMigrations().filter((m) => m.id <= 15));
  db.exec(`
    INSERT INTO hubs VALUES ('h', 'h', '{"registrationTtlSeconds":null}', 1, 1);
    INSERT INTO registrations (seq, hub_key, id, kind, platform, handle, document, etag, created_at, updated_at)
      VALUES (1, 'h', 'f', 'FcmV1', 'fcmv1', 'tok', '{"tags":["a","b"]}', 1, 1, 1), (2, 'h', 'p', 'Apple', 'apns', 'AB', '{"tags":["a"]}', 1, 1, 1);
    INSERT INTO registration_tags VALUES ('h', 'a', 1), ('h', 'b', 1), ('h', 'a', 2);
  `);
  db.close();
  const store = openSqliteStore({ path });
  const a = parseTagExpression('a || b').ast;
  assert.equal(await store.registrations.count('h', { tagExpression: a, platform: 'apns' }), 1);
  assert.equal(await store.registrations.count('h', { tagExpression: a, platform: 'fcmv1' }), 1);
  assert.deepEqual((await store.registrations.list('h', { tagExpression: a, platform: 'fcmv1' }, { limit: 10 })).items.map((r) => r.id), ['f']);
  await store.close();
  const after = openSqliteDatabase(path);
  assert.deepEqual(after.prepare('SELECT tag, seq, platform FROM registration_tags ORDER BY seq, tag').all(), [
    { tag: 'a', seq: 1, platform: 'fcmv1' },
    { tag: 'b', seq: 1, platform: 'fcmv1' },
    { tag: 'a', seq: 2, platform: 'apns' },
  ]);
  after.close();
});

test('0010: a secure notification stored before keeps its sealed payload beside it, no longer in its request', async () => {
  const db = openSqliteDatabase(':memory:');
  migrate(db, readMigrations().filter((m) => m.id <= 9));
  db.exec(`
    INSERT INTO hubs VALUES ('h', 'h', '{"registrationTtlSeconds":null}', 1, 1);
    INSERT INTO notifications (hub_key, id, state, request, counts, enqueued_at)
      VALUES ('h', 'n1', 'Completed', '{"body":"[secure payload]","secure":{"notificationId":"n1","sealed":"SEALED","expiresAt":5000}}', '{}', 1),
             ('h', 'n2', 'Completed', '{"body":"plain"}', '{}', 1);
  `);
  migrate(db);
  assert.deepEqual(db.prepare('SELECT hub_key, notification_id, sealed, expires_at FROM secure_payloads').all(), [{ hub_key: 'h', notification_id: 'n1', sealed: 'SEALED', expires_at: 5000 }]);
  assert.deepEqual(
    (db.prepare('SELECT request FROM notifications ORDER BY id').all() as Array<{ request: string }>).map((r) => JSON.parse(r.request)),
    [{ body: '[secure payload]', secure: { notificationId: 'n1', expiresAt: 5000 } }, { body: 'plain' }],
  );
  db.close();
});

test('a bare seq, as plan jobs and continuation tokens carried it before cursors were opaque, still resumes the listing (#11 cursors)', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  try {
    await store.hubs.create({ name: 'old', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    for (const id of ['a', 'b', 'c']) {
      await store.registrations.upsert('old', { id, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `t-${id}` }, tags: ['x'], updatedAt: 1 }, { now: 1 });
      await store.installations.put('old', { installationId: id, platform: 'fcmv1', pushChannel: `c-${id}`, pushChannelExpired: false, tags: [], createdAt: 1, updatedAt: 1 }, []);
    }
    // A fresh database hands out rowids from 1.
    assert.deepEqual((await store.registrations.listIds('old', {}, { limit: 10, after: '1' })).items.map((r) => r.id), ['b', 'c']);
    assert.deepEqual((await store.registrations.list('old', { tag: 'x' }, { limit: 10, after: '2' })).items.map((r) => r.id), ['c']);
    // A plan job's JSON payload from before holds the seq as a number.
    assert.deepEqual((await store.registrations.listIds('old', {}, { limit: 10, after: 2 as unknown as string })).items.map((r) => r.id), ['c']);
    assert.deepEqual((await store.installations.list('old', {}, { limit: 10, after: '1' })).items.map((i) => i.installationId), ['b', 'c']);
    await assert.rejects(store.dispatch.listOutcomes('old', 'n', {}, { limit: 10, after: '1' }), (e: unknown) => e instanceof HubError && e.code === 'invalid_continuation_token', 'outcome positions were never persisted: no bare form');
  } finally {
    await store.close();
  }
});

test('0011: jobs leased before have no owner and run again (attempt + 1); counts become rows; job ids are never reused', async () => {
  const path = join(tempDir(), 'herald.db');
  const db = openSqliteDatabase(path);
  migrate(db, readMigrations().filter((m) => m.id <= 10));
  const batchJson = JSON.stringify(batch('x'));
  db.exec(`
    INSERT INTO hubs VALUES ('h', 'H', '{"registrationTtlSeconds":null}', 1, 1);
    INSERT INTO notifications (hub_key, id, state, request, counts, targets, pending_jobs, enqueued_at)
      VALUES ('h', 'n1', 'Processing', '{}', '{"apns":{"Success":3,"WrongToken":1}}', 7, 3, 1);
    INSERT INTO dispatch_jobs (id, hub_key, notification_id, kind, payload, attempt, run_at, leased_until) VALUES
      (1, 'h', 'n1', 'deliver', '${batchJson}', 0, 5, NULL),
      (2, 'h', 'n1', 'deliver', '${batchJson}', 0, 5, 999999),
      (3, 'h', 'n1', 'deliver', '${batchJson}', 2, 5, 0);
  `);
  db.close();
  const store = openSqliteStore({ path });
  try {
    assert.deepEqual((await store.dispatch.getNotification('h', 'n1'))?.counts, { apns: { Success: 3, WrongToken: 1 } });
    // Nothing waits for the old lease: the job it held is runnable at once, as one taken back.
    const jobs = await store.queue.claim(OWNER, 10, 10, 1000);
    assert.deepEqual(jobs.map((j) => [j.id, j.attempt]), [[1, 0], [2, 1], [3, 3]]);
    for (const j of jobs) assert.equal(await store.dispatch.finishDelivery(j, { outcomes: [], counts: { apns: { Success: 1 } }, expired: [], now: 11 }, RULES), 'done');
    const n = await store.dispatch.getNotification('h', 'n1');
    assert.deepEqual(n?.counts, { apns: { Success: 6, WrongToken: 1 } }, 'the migrated counts and the new rows add up');
    assert.equal(n?.state, 'Completed');
    await store.dispatch.createNotification({ hub: 'h', id: 'n2', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 12 }, { kind: 'deliver', payload: batch('y'), runAt: 12 });
    const [fresh] = await store.queue.claim(OWNER, 12, 10, 1000);
    assert.ok(fresh!.id > 3, `a new job never takes a finished job's id (its counts are keyed by it): ${fresh!.id}`);
  } finally {
    await store.close();
  }
});
