import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteDatabase } from './sqlite-database.ts';
import { WriteBatcher } from './write-batcher.ts';

function setup() {
  const db = openSqliteDatabase(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const rows = () => db.prepare('SELECT k, v FROM t ORDER BY rowid').all();
  return { db, insert, rows, writes: new WriteBatcher(db) };
}

test('writes of one turn commit together, each settling with its own result', async () => {
  const { insert, rows, writes } = setup();
  const results = await Promise.all(['a', 'b', 'c'].map((k, i) => writes.run(() => insert.run(k, i).changes)));
  assert.deepEqual(results, [1, 1, 1]);
  assert.deepEqual(rows(), [{ k: 'a', v: 0 }, { k: 'b', v: 1 }, { k: 'c', v: 2 }]);
});

test('a write that fails half-way fails alone: its own changes are undone, the others of its batch commit in order', async () => {
  const { insert, rows, writes } = setup();
  const settled = await Promise.allSettled([
    writes.run(() => insert.run('a', 1)),
    writes.run(() => {
      insert.run('b', 2);
      insert.run('a', 3); // duplicate key: fails after 'b' was written
    }),
    writes.run(() => {
      insert.run('c', 4);
      throw new Error('refused after writing');
    }),
    writes.run(() => insert.run('d', 5)),
  ]);
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /UNIQUE/);
  assert.equal((settled[2] as PromiseRejectedResult).reason.message, 'refused after writing');
  assert.deepEqual(rows(), [{ k: 'a', v: 1 }, { k: 'd', v: 5 }]);
});

test('a write alone in its batch that fails stores nothing', async () => {
  const { insert, rows, writes } = setup();
  await assert.rejects(writes.run(() => {
    insert.run('a', 1);
    throw new Error('no');
  }), /no/);
  assert.deepEqual(rows(), []);
  await writes.run(() => insert.run('b', 2));
  assert.deepEqual(rows(), [{ k: 'b', v: 2 }]);
});
