/**
 * The file area in PostgreSQL (migration 0004): every node of a cluster sees the same files, so an import
 * uploaded to one node runs on whichever node takes the job, and its output can be downloaded from any.
 * Bytes travel in chunks of CHUNK_BYTES (bytea rows), in both directions: neither an upload nor a
 * download is ever held whole in memory.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FileStore, FileWriter } from '../../files/file-store.ts';
import { HubError } from '../../shared/errors.ts';
import { inTransaction, type PgPool, type PgQueryable } from './pg-database.ts';

/** Bytes per chunk row: large enough that a 2 GB upload is ~8,000 rows, small enough to buffer. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks read per query when streaming a file out. */
const CHUNKS_PER_READ = 4;
/** Publishing a name checks the folders around it: one lock orders those checks across nodes (uploads are rare). */
const PUBLISH_LOCK = 'herald:files';

/** The hub a name belongs to (the lower-cased `<hub>` of `hubs/<hub>/...`), '' for the rest of the area. */
export function fileHubKey(name: string): string {
  const parts = name.split('/');
  return parts.length >= 3 && parts[0] === 'hubs' ? parts[1]!.toLowerCase() : '';
}

/** A file where a folder of `name` is needed, or a folder at `name` (names under it): as a local disk refuses. */
async function checkPlace(db: PgQueryable, name: string): Promise<void> {
  const parts = name.split('/');
  const folders = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
  if (folders.length > 0) {
    const { rows } = await db.query<{ path: string }>('SELECT path FROM files WHERE (hub_key, path) IN (SELECT * FROM unnest($1::text[], $2::text[])) LIMIT 1', [
      folders.map(fileHubKey),
      folders,
    ]);
    if (rows.length > 0) throw new HubError('file_conflict', `Cannot write ${name}: a file stands where a folder is needed (${rows[0]!.path}).`);
  }
  // Names under `name/` sort between `name/` and `name0` ('0' follows '/' in byte order, COLLATE "C").
  const { rows } = await db.query('SELECT 1 FROM files WHERE hub_key = $1 AND path >= $2 AND path < $3 LIMIT 1', [fileHubKey(`${name}/x`), `${name}/`, `${name}0`]);
  if (rows.length > 0) throw new HubError('file_conflict', `Cannot write ${name}: a folder stands there.`);
}

/** Points `name` at `content` (the file appears or is replaced) and drops the content it had, in `db`'s transaction. */
async function publish(db: PgQueryable, name: string, content: string, bytes: number, now: number): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [PUBLISH_LOCK]);
  await checkPlace(db, name);
  const hubKey = fileHubKey(name);
  const { rows } = await db.query<{ content: string }>('SELECT content FROM files WHERE hub_key = $1 AND path = $2 FOR UPDATE', [hubKey, name]);
  await db.query(
    `INSERT INTO files (hub_key, path, content, bytes, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (hub_key, path) DO UPDATE SET content = excluded.content, bytes = excluded.bytes, updated_at = excluded.updated_at`,
    [hubKey, name, content, bytes, now],
  );
  if (rows[0] && rows[0].content !== content) await db.query('DELETE FROM file_chunks WHERE hub_key = $1 AND content = $2', [hubKey, rows[0].content]);
}

export function postgresFileStore(pool: PgPool, now: () => number = Date.now): FileStore {
  const find = async (name: string) =>
    (await pool.query<{ content: string; bytes: number }>('SELECT content, bytes FROM files WHERE hub_key = $1 AND path = $2', [fileHubKey(name), name])).rows[0];

  async function* chunks(name: string): AsyncGenerator<Buffer> {
    const file = await find(name);
    if (!file) throw new HubError('not_found', `No file ${name} in the file area.`);
    const hubKey = fileHubKey(name);
    for (let n = 0; ; n += CHUNKS_PER_READ) {
      const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM file_chunks WHERE hub_key = $1 AND content = $2 AND n >= $3 ORDER BY n LIMIT $4', [
        hubKey,
        file.content,
        n,
        CHUNKS_PER_READ,
      ]);
      for (const r of rows) yield r.data;
      if (rows.length < CHUNKS_PER_READ) return;
    }
  }

  return {
    kind: 'postgres',
    stat: async (name) => {
      const file = await find(name);
      return file && { bytes: file.bytes };
    },
    read: (name) => Readable.from(chunks(name), { objectMode: false }),
    create: async (name, options): Promise<FileWriter> => {
      const hubKey = fileHubKey(name);
      const content = randomUUID();
      // Output shows as it is written: the name points at the new content from the start.
      if (!options.whole) await inTransaction(pool, (db) => publish(db, name, content, 0, now()));
      else await checkPlace(pool, name);
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let n = 0;
      let bytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const data = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await pool.query('INSERT INTO file_chunks (hub_key, content, n, data) VALUES ($1, $2, $3, $4)', [hubKey, content, n++, data]);
        if (!options.whole) await pool.query('UPDATE files SET bytes = $3, updated_at = $4 WHERE hub_key = $1 AND path = $2 AND content = $5', [hubKey, name, bytes, now(), content]);
      };
      return {
        write: async (data) => {
          const buf = typeof data === 'string' ? Buffer.from(data) : data;
          pending.push(buf);
          pendingBytes += buf.length;
          bytes += buf.length;
          if (pendingBytes >= CHUNK_BYTES) await flush();
        },
        close: async () => {
          await flush();
          if (options.whole) await inTransaction(pool, (db) => publish(db, name, content, bytes, now()));
        },
        abort: async () => {
          pending = [];
          await inTransaction(pool, async (db) => {
            if (!options.whole) await db.query('DELETE FROM files WHERE hub_key = $1 AND path = $2 AND content = $3', [hubKey, name, content]);
            await db.query('DELETE FROM file_chunks WHERE hub_key = $1 AND content = $2', [hubKey, content]);
          }).catch(() => undefined);
        },
      };
    },
    removeHubFolder: async (hub) => {
      const hubKey = hub.toLowerCase();
      await inTransaction(pool, async (db) => {
        await db.query('DELETE FROM files WHERE hub_key = $1', [hubKey]);
        await db.query('DELETE FROM file_chunks WHERE hub_key = $1', [hubKey]);
      });
    },
  };
}
