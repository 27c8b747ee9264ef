import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileStoreContract } from '../../files/file-store-contract.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';
import { CHUNK_BYTES, fileHubKey, postgresFileStore } from './file-store.ts';
import { migrate } from './migrate.ts';
import { openPgPool, type PgPool } from './pg-database.ts';

const postgres = usePostgresServer();
let url: string | undefined;

/** One database for the file, migrated once and emptied for each test. */
async function database(): Promise<string> {
  if (url === undefined) {
    url = await postgres.createDatabase();
    const pool = openPgPool({ connectionString: url });
    await migrate(pool);
    await pool.end();
  } else await postgres.emptyDatabase(url);
  return url;
}

fileStoreContract(
  'postgres',
  async () => {
    const pool = openPgPool({ connectionString: await database() });
    return { store: postgresFileStore(pool), done: () => pool.end() };
  },
  async () => {
    const at = await database();
    const pools: PgPool[] = [openPgPool({ connectionString: at }), openPgPool({ connectionString: at })];
    return { stores: [postgresFileStore(pools[0]!), postgresFileStore(pools[1]!)], done: async () => void (await Promise.all(pools.map((p) => p.end()))) };
  },
);

test('postgres file store: rows are keyed by hub, chunks are bounded, and a replaced or aborted file leaves no chunks', async () => {
  assert.equal(fileHubKey('hubs/MyHub/in.txt'), 'myhub');
  assert.equal(fileHubKey('hubs/in.txt'), '');
  assert.equal(fileHubKey('jobs/h/1/Output.txt'), '');
  const pool = openPgPool({ connectionString: await database() });
  try {
    const store = postgresFileStore(pool);
    const w = await store.create('hubs/MyHub/in.txt', { whole: true });
    await w.write(Buffer.alloc(CHUNK_BYTES * 2 + 1, 1));
    await w.close();
    const chunks = async () => (await pool.query<{ hub_key: string; n: number; len: number }>('SELECT hub_key, n, length(data) AS len FROM file_chunks ORDER BY n')).rows;
    assert.deepEqual((await chunks()).map((c) => c.hub_key), ['myhub']);
    const again = await store.create('hubs/MyHub/in.txt', { whole: true });
    await again.write('small');
    await again.close();
    assert.deepEqual((await chunks()).map((c) => c.len), [5], "the replaced file's chunks went with it");
    const aborted = await store.create('hubs/MyHub/other.txt', { whole: true });
    for (let i = 0; i < 3; i++) await aborted.write(Buffer.alloc(CHUNK_BYTES, 2));
    await aborted.abort();
    assert.equal((await chunks()).length, 1);
  } finally {
    await pool.end();
  }
});
