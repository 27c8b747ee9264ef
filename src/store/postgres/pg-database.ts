/**
 * The part of `pg` this adapter uses, and nothing more (house style: narrow interfaces over vendor
 * libraries). Bigints (int8: positions, times, counts) arrive as JS numbers: every one the store keeps is
 * below 2^53 (times are milliseconds, positions and counts are far smaller).
 */
import pg from 'pg';

export interface PgResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** Something that runs a statement: the pool (each query on any free connection) or one checked-out client. */
export interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<PgResult<R>>;
}

export interface PgClient extends PgQueryable {
  /** Back to the pool; with an error, the connection is closed instead (it may be in a bad state). */
  release(err?: Error): void;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

export interface PgPoolOptions {
  /** A `postgres://user:password@host:port/database` URL. */
  connectionString: string;
  /** Connections at most; pg's default is 10. */
  max?: number;
  /** Told when an idle connection fails (the server went away); without a listener pg would throw. */
  onIdleError?: (err: Error) => void;
}

const INT8 = 20;
const parseInt8 = (text: string): number => Number(text);

export function openPgPool(options: PgPoolOptions): PgPool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    ...(options.max === undefined ? {} : { max: options.max }),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool as unknown as PgPool;
}

/** The SQLSTATE of a failed statement, if the server sent one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** unique_violation: a row with that key exists (or was inserted by a transaction that committed first). */
export const UNIQUE_VIOLATION = '23505';
/** deadlock_detected, serialization_failure: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws.
 * A transaction PostgreSQL aborted as a deadlock victim is run again (a few times): `work` must only
 * read and write the database.
 */
export async function inTransaction<T>(pool: PgPool, work: (client: PgQueryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      const state = sqlState(err);
      if (attempt < 5 && state !== undefined && RETRYABLE.has(state)) continue;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

export interface PgListener {
  /** Resolves once LISTEN is in place (or its first attempt failed; it is retried). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface PgListenerOptions {
  connectionString: string;
  channel: string;
  /** A notification on the channel; also once after a lost connection is back (some may have been missed). */
  onNotify: () => void;
  onError?: (err: Error) => void;
  /** Wait before connecting again after the connection failed (ms). */
  reconnectMs?: number;
}

/**
 * One dedicated connection that LISTENs on `channel` (a pooled connection cannot: the pool hands it to other
 * queries and LISTEN is per session). A lost connection is opened again after `reconnectMs`.
 */
export function listenPg(options: PgListenerOptions): PgListener {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const connect = async (again: boolean): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString: options.connectionString });
    client = c;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      // Start-up does not wait for a connection that fails: the worker's safety poll covers the gap.
      resolveReady();
      c.end().catch(() => undefined);
      if (closed) return;
      options.onError?.(err);
      retry = setTimeout(() => void connect(true), options.reconnectMs ?? 1000);
      retry.unref();
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('the LISTEN connection ended')));
    c.on('notification', (m) => {
      if (m.channel === options.channel) options.onNotify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${options.channel}`);
      resolveReady();
      if (again) options.onNotify();
    } catch (err) {
      fail(err as Error);
    }
  };
  void connect(false);
  return {
    ready,
    close: async () => {
      closed = true;
      clearTimeout(retry);
      resolveReady();
      await client?.end().catch(() => undefined);
    },
  };
}
