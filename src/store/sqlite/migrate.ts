import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../../shared/errors.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Numbered plain-SQL files, `NNNN_name.sql`, applied in order. */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      id: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(join(dir, file), 'utf8'),
    }));
}

/** Applies every migration not yet applied, each in its own transaction. Returns the ids applied. */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[] = readMigrations()): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: number }[]).map((r) => r.id));
  const newest = Math.max(0, ...migrations.map((m) => m.id));
  const unknown = [...applied].filter((id) => id > newest);
  if (unknown.length > 0) {
    // A newer Herald wrote this database: running an older one on it could corrupt it.
    throw new HubError(
      'data_dir_unusable',
      `the store has schema migration ${Math.max(...unknown)}, newer than this Herald knows (${newest}); upgrade Herald`,
    );
  }
  const done: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, m.name, Date.now());
    })();
    done.push(m.id);
  }
  return done;
}
