/** The queue contract on SQLite: two Store instances on one database file (two processes sharing it). */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queueContract } from '../../queue/queue-contract.ts';
import { openSqliteStore } from './sqlite-store.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

queueContract('sqlite (file, two instances)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-queue-'));
  dirs.push(dir);
  const path = join(dir, 'herald.db');
  return [openSqliteStore({ path }), openSqliteStore({ path })];
});
