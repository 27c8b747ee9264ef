/**
 * The part of `pg` this adapter uses, and nothing more (house style: narrow interfaces over vendor
 * libraries). Bigints (int8: positions, times, counts) arrive as JS numbers: every one the store keeps is
 * below 2^53 (times are milliseconds, positions and counts are far smaller).
 */
import { createHash } from 'node:crypto';
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
  const query = (target: { query: (...args: any[]) => Promise<any> }, text: string, params?: readonly unknown[]) => {
    const name = params === undefined ? undefined : PREPARED.get(text);
    return name === undefined ? target.query(text, params) : target.query({ name, text, values: params });
  };
  return {
    query: (text: string, params?: readonly unknown[]) => query(pool, text, params),
    connect: async () => {
      const client = await pool.connect();
      return { query: (text: string, params?: readonly unknown[]) => query(client, text, params), release: (err?: Error) => client.release(err) };
    },
    end: () => pool.end(),
  } as PgPool;
}

/** The statements `prepared` marked, by text: their names. */
const PREPARED = new Map<string, string>();

/**
 * Marks a statement to run as a named prepared statement: each connection parses it once and, after a few
 * runs, plans it once (PostgreSQL's plan cache) instead of at every run. For the hot paths whose statements
 * look rows up by key (a delivery batch's steps, queue claims, installation writes), where a generic plan
 * is as good as a custom one; not for statements whose best plan depends on the values (a tag's
 * frequency). The name is a hash of the text: one name is always one text. Returns the text.
 */
export function prepared(text: string): string {
  if (!PREPARED.has(text)) PREPARED.set(text, `h${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`);
  return text;
}

/** The SQLSTATE of a failed statement, if the server sent one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether `err` means the server cannot be reached right now (refused, reset, shut down, starting up),
 * rather than that a statement failed: SQLSTATE class 08 (connection exception), 57P01-57P03 (shut down,
 * crash shut down, cannot connect now), a socket error, or pg's own "Connection terminated".
 */
export function isConnectionError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || ['57P01', '57P02', '57P03'].includes(state);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error|Connection closed/i.test(message);
}

/** unique_violation: a row with that key exists (or was inserted by a transaction that committed first). */
export const UNIQUE_VIOLATION = '23505';
/** deadlock_detected, serialization_failure: the transaction did nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Runs `work`, one statement that commits on its own (outside a transaction), again (a few times) if
 * PostgreSQL aborted it as a deadlock victim: it did nothing then.
 */
export async function retryingDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const state = sqlState(err);
      if (attempt < 5 && state !== undefined && RETRYABLE.has(state)) continue;
      throw err;
    }
  }
}

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

export interface PgListenerOptions {
  connectionString: string;
  channel: string;
  onNotification(payload: string | undefined): void;
  /** The connection was lost and is back: notifications sent meanwhile were not heard. */
  onReconnected(): void;
  onError(err: Error): void;
}

export interface PgListener {
  close(): Promise<void>;
}

/** Waits between reconnection attempts: a quarter second at first, doubling up to five seconds. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/**
 * One connection that LISTENs on `channel`, reconnecting by itself when it is lost (the server restarted
 * or went away), for as long as the store is open. Resolves once the first LISTEN is in place. The waits
 * between attempts are real time: they pace reconnection to a server, nothing a test steps through.
 */
export async function openPgListener(options: PgListenerOptions): Promise<PgListener> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = RECONNECT_MIN_MS;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: options.connectionString });
    c.on('notification', (msg) => {
      if (msg.channel === options.channel) options.onNotification(msg.payload);
    });
    c.on('error', (err) => {
      options.onError(err);
      lost(c);
    });
    c.on('end', () => lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`);
    } catch (err) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    delay = RECONNECT_MIN_MS;
  };

  const lost = (c: pg.Client): void => {
    if (client !== c || closed) return;
    client = undefined;
    c.removeAllListeners('end');
    c.end().catch(() => undefined);
    schedule();
  };

  const schedule = (): void => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          if (!closed) options.onReconnected();
        },
        (err: Error) => {
          options.onError(err);
          delay = Math.min(RECONNECT_MAX_MS, delay * 2);
          schedule();
        },
      );
    }, delay);
    retry.unref();
  };

  await connect();
  return {
    close: async () => {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      c?.removeAllListeners('end');
      await c?.end().catch(() => undefined);
    },
  };
}
