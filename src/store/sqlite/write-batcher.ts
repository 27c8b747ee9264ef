/**
 * Group commit: writes that arrive in the same turn of the event loop are committed together in one
 * SQLite transaction, each inside its own savepoint (better-sqlite3 nests transactions as savepoints),
 * so one write that fails rolls back alone and the others still commit. The cost of a commit (the WAL
 * append and, at checkpoints, the fsync) is then paid once per batch instead of once per request.
 * Every caller's promise settles only after the batch has committed.
 */
import type { SqliteDatabase } from './sqlite-database.ts';

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Upper bound of one batch: keeps a batch's latency and its hold on the event loop small. */
const MAX_BATCH = 256;

export class WriteBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly commit: (batch: Pending[]) => Array<{ ok: true; value: unknown } | { ok: false; error: unknown }>;

  constructor(db: SqliteDatabase) {
    this.commit = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return { ok: true as const, value: p.write() };
        } catch (error) {
          return { ok: false as const, error };
        }
      }),
    );
  }

  /** `write` must be a better-sqlite3 transaction function, so that it runs as a savepoint here. */
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
      let results: ReturnType<WriteBatcher['commit']>;
      try {
        results = this.commit(batch);
      } catch (error) {
        // The commit itself failed (disk full, I/O error): nothing of the batch was stored.
        for (const p of batch) p.reject(error);
        continue;
      }
      batch.forEach((p, i) => {
        const r = results[i]!;
        if (r.ok) p.resolve(r.value);
        else p.reject(r.error);
      });
    }
  }
}
