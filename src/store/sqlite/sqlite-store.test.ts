import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../store-contract.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { migrate, readMigrations } from './migrate.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { HubError } from '../../shared/errors.ts';

storeContract('sqlite (memory)', async () => openSqliteStore({ path: ':memory:' }));
storeContract('sqlite (file, WAL)', async () =>
  openSqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'herald-store-')), 'herald.db') }),
);

test('a file store keeps its data across reopen and uses WAL', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'herald-store-')), 'herald.db');
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
  const path = join(mkdtempSync(join(tmpdir(), 'herald-store-')), 'herald.db');
  writeFileSync(path, 'this is not a database, just some text that is long enough '.repeat(200));
  assert.throws(
    () => openSqliteStore({ path }),
    (e: unknown) => e instanceof HubError && e.code === 'data_dir_unusable' && e.message.includes(path) && /not a database/.test(e.message),
  );
});
