/** A large send planned in slices by two nodes, on SQLite: two Store instances on one database file. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slicedPlanContract } from '../../dispatch/sliced-plan-contract.ts';
import { openSqliteStore } from './sqlite-store.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

slicedPlanContract('sqlite (file, two instances)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-slices-'));
  dirs.push(dir);
  const path = join(dir, 'herald.db');
  return [openSqliteStore({ path }), openSqliteStore({ path })];
});
