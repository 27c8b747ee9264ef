/**
 * Numbered plain-SQL migrations (`migrations/NNNN_name.sql`), applied under an advisory lock: any number
 * of Herald nodes may start at once on one database, and the first to take the lock migrates while the
 * others wait for it, then find nothing left to do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../../shared/errors.ts';
import type { PgPool } from './pg-database.ts';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * The advisory lock's key: any constant the database's other users do not take. Advisory locks are per
 * database, so Herald stores in other databases of the same server never wait for each other.
 */
export const MIGRATION_LOCK_KEY = 0x4865_7261_6c64; // "Herald"

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({ id: Number(file.slice(0, 4)), name: file.slice(5, -4), sql: readFileSync(join(dir, file), 'utf8') }));
}

/**
 * Applies every migration not yet applied, each in its own transaction (DDL is transactional in
 * PostgreSQL: a migration that fails leaves nothing behind). Returns the ids this call applied.
 * A database with a migration newer than this Herald's is refused: an older Herald could damage it.
 */
export async function migrate(pool: PgPool, migrations: readonly Migration[] = readMigrations()): Promise<number[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // A session lock (not a transaction's): it spans the migrations' own transactions, and PostgreSQL
    // drops it if this connection dies half-way, so a node killed while migrating blocks no one.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
      );
      const applied = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      const newest = Math.max(0, ...migrations.map((m) => m.id));
      const unknown = [...applied].filter((id) => id > newest);
      if (unknown.length > 0) {
        throw new HubError(
          'store_unusable',
          `the PostgreSQL store has schema migration ${Math.max(...unknown)}, newer than this Herald knows (${newest}); upgrade Herald`,
        );
      }
      const done: number[] = [];
      for (const m of migrations) {
        if (applied.has(m.id)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new HubError('store_unusable', `schema migration ${m.id} (${m.name}) failed: ${(err as Error).message}`);
        }
        done.push(m.id);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    client.release(broken);
  }
}
