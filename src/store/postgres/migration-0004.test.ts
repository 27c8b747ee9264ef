/** Migration 0004: the file area's tables, and batch JSON stored without compression (see the migration). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usePostgresServer } from '../../../test/postgres-server.ts';
import { migrate } from './migrate.ts';
import { openPgPool } from './pg-database.ts';

const postgres = usePostgresServer();

test('migration 0004: files and file_chunks led by the hub key; deliver payloads and batch outcomes stored uncompressed', async () => {
  const pool = openPgPool({ connectionString: await postgres.createDatabase() });
  try {
    await migrate(pool);
    const { rows: keys } = await pool.query<{ table: string; first: string }>(
      `SELECT c.relname AS table, a.attname AS first FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] WHERE c.relname IN ('files', 'file_chunks') ORDER BY 1`,
    );
    assert.deepEqual(keys, [{ table: 'file_chunks', first: 'hub_key' }, { table: 'files', first: 'hub_key' }]);
    const { rows } = await pool.query<{ column: string; storage: string }>(
      `SELECT c.relname || '.' || a.attname AS column, a.attstorage AS storage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       WHERE (c.relname, a.attname) IN (('dispatch_jobs', 'payload'), ('device_outcome_batches', 'outcomes')) ORDER BY 1`,
    );
    assert.deepEqual(rows, [{ column: 'device_outcome_batches.outcomes', storage: 'e' }, { column: 'dispatch_jobs.payload', storage: 'e' }]);
  } finally {
    await pool.end();
  }
});
