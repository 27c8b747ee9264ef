/**
 * Group commit: writes that arrive in the same turn of the event loop are committed together in one
 * SQLite transaction, so the cost of a commit (the WAL append and, at checkpoints, the fsync) is paid
 * once per batch instead of once per request. Every caller's promise settles only after the batch has
 * committed.
 *
 * A batch first runs with no savepoint around its writes. A savepoint per write would let one failing
 * write roll back alone, but SQLite then copies every page a write touches into the sub-journal before
 * changing it, once per savepoint: for an installation PUT (about 15 b-tree pages) that was half of the
 * store's CPU time. Writes rarely fail, so a batch pays for savepoints only when one of its writes throws:
 * the whole transaction is rolled back and the batch runs again, each write in its own savepoint, so
 * the failing write fails alone and the others commit, in the same order as before.
 */
import type { SqliteDatabase } from './sqlite-database.ts';

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Upper bound of one batch: keeps a batch's latency and its hold on the event loop small. */
const MAX_BATCH = 256;

export class WriteBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly commitAll: (batch: Pending[]) => Result[];
  private readonly commitEach: (batch: Pending[]) => Result[];

  constructor(db: SqliteDatabase) {
    // BEGIN IMMEDIATE: a batch's writes read before they write (conditions, read-modify-write), and another
    // connection to the same file must not commit between the read and the write. IMMEDIATE takes the write
    // lock first (waiting up to busy_timeout); a deferred transaction would fail with SQLITE_BUSY_SNAPSHOT.
    const all = db.transaction((batch: Pending[]) => batch.map((p): Result => ({ ok: true, value: p.write() })));
    this.commitAll = (batch) => all.immediate(batch);
    // Inside a transaction, better-sqlite3 runs a transaction function as a savepoint.
    const savepoint = db.transaction((write: () => unknown) => write());
    const each = db.transaction((batch: Pending[]) =>
      batch.map((p): Result => {
        try {
          return { ok: true, value: savepoint(p.write) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
    this.commitEach = (batch) => each.immediate(batch);
  }

  /**
   * `write` runs inside the batch's transaction and may run twice (see above): it must only read and
   * write the database and compute its result, with no other effect. It needs no transaction of its own.
   */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      let results: Result[];
      try {
        results = this.commitAll(batch);
      } catch (firstError) {
        if (batch.length === 1) {
          // The write itself or the commit failed; either way nothing of it was stored.
          batch[0]!.reject(firstError);
          continue;
        }
        try {
          results = this.commitEach(batch);
        } catch (error) {
          // The commit itself failed (disk full, I/O error): nothing of the batch was stored.
          for (const p of batch) p.reject(error);
          continue;
        }
      }
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(r.error);
      });
    }
  }
}
