/**
 * A small pool of HTTP/2 connections (src/pns/h2/h2-connection.ts) to one origin, shared by the APNs, FCM and Web Push connectors
 * (design.md "Where the time goes": multiplex up to the server's advertised stream limit over a small pool).
 *
 * - Streams per session never exceed the server's SETTINGS_MAX_CONCURRENT_STREAMS. Until the server's first
 *   SETTINGS arrive a session carries one stream: APNs allows one stream until a token-auth push succeeds
 *   and raises the limit afterwards (pns-protocols.md §2.1), so requests wait in the pool's queue rather
 *   than being refused.
 * - A session that got GOAWAY or closed takes no new streams; the next queued request opens a new one.
 * - Every request gets exactly one callback: a response, or a transport error (with no answer, the
 *   request may be re-sent by the retry policy). The one re-send done here: a stream the server certainly
 *   did not process (REFUSED_STREAM, or above a GOAWAY's last stream id, RFC 9113 §8.7) goes back to the
 *   queue once, for another connection.
 */
import type * as tls from 'node:tls';
import { systemClock, type Clock, type TimerHandle } from '../shared/clock.ts';
import { H2Connection, type H2Headers } from './h2/h2-connection.ts';
import type { HeaderField } from './h2/hpack.ts';

export type H2Result = { ok: true; status: number; headers: H2Headers; body: Buffer } | { ok: false; error: string };

export type H2Callback = (result: H2Result) => void;

/** Request headers: pseudo-headers `:method` and `:path`, then the request's own (names lower-cased). */
export type H2RequestHeaders = Record<string, string | number | undefined>;

export interface H2PoolOptions {
  /** TLS options (ca, cert/key for APNs certificate auth). */
  connect?: tls.ConnectionOptions;
  /** Connections opened at most; another is opened only when every open one is full. Default 1. */
  maxSessions?: number;
  requestTimeoutMs?: number;
  /** Time source of the request timeouts: a test moves a ManualClock past them instead of waiting. */
  clock?: Clock;
}

interface Pending {
  method: string;
  path: string;
  fields: HeaderField[];
  body: Buffer;
  cb: H2Callback;
  resent: boolean;
}

interface InFlight {
  deadline: number;
  conn: H2Connection;
  id: number;
}

function toPending(headers: H2RequestHeaders, body: string | Buffer, cb: H2Callback): Pending {
  const fields: HeaderField[] = [];
  let method = 'GET';
  let path = '/';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (name === ':method') method = String(v);
    else if (name === ':path') path = String(v);
    else if (name[0] !== ':') fields.push([name.toLowerCase(), String(v)]);
  }
  return { method, path, fields, body: typeof body === 'string' ? Buffer.from(body) : body, cb, resent: false };
}

export class H2Pool {
  private readonly conns: H2Connection[] = [];
  private queue: Pending[] = [];
  private head = 0;
  private closed = false;
  private readonly maxSessions: number;
  private readonly timeoutMs: number;
  /** One sweep timer for all in-flight requests: cheaper than a timer per stream at thousands of streams. */
  private readonly inFlight = new Set<InFlight>();
  private sweeper: TimerHandle | undefined;
  private pumpScheduled = false;
  private readonly clock: Clock;

  constructor(
    readonly origin: string,
    private readonly opts: H2PoolOptions = {},
  ) {
    this.maxSessions = Math.max(1, opts.maxSessions ?? 1);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.clock = opts.clock ?? systemClock;
  }

  /** Connections currently usable (for tests: a GOAWAY leads to a new one). */
  get sessionCount(): number {
    return this.conns.length;
  }

  /** Requests queued or in flight (for tests: a test moves its clock past a timeout once only the slow one is left). */
  get pending(): number {
    return this.queue.length - this.head + this.inFlight.size;
  }

  request(headers: H2RequestHeaders, body: string | Buffer, cb: H2Callback): void {
    if (this.closed) return cb({ ok: false, error: 'connector closed' });
    this.queue.push(toPending(headers, body, cb));
    this.pump();
  }

  requestAsync(headers: H2RequestHeaders, body: string | Buffer): Promise<H2Result> {
    return new Promise((resolve) => this.request(headers, body, resolve));
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const conn = this.freeConnection();
      if (!conn) break;
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      this.start(conn, next);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private freeConnection(): H2Connection | undefined {
    let best: H2Connection | undefined;
    for (const c of this.conns) {
      if (c.usable && c.active < c.limit && (!best || c.active < best.active)) best = c;
    }
    if (best) return best;
    if (this.conns.length < this.maxSessions) return this.open();
    return undefined;
  }

  private open(): H2Connection {
    const conn: H2Connection = new H2Connection({
      origin: this.origin,
      tls: this.opts.connect,
      onLimit: () => this.pump(),
      onRetire: () => {
        const i = this.conns.indexOf(conn);
        if (i >= 0) this.conns.splice(i, 1);
        // Queued requests go to another (or a new) connection.
        this.schedulePump();
      },
    });
    this.conns.push(conn);
    return conn;
  }

  private start(conn: H2Connection, p: Pending): void {
    const entry: InFlight = { deadline: this.clock.now() + this.timeoutMs, conn, id: 0 };
    entry.id = conn.request(p.method, p.path, p.fields, p.body, (r) => {
      this.inFlight.delete(entry);
      if (!r.ok && r.refused && !p.resent && !this.closed) {
        p.resent = true;
        this.queue.push(p);
        this.schedulePump();
        return;
      }
      p.cb(r.ok ? r : { ok: false, error: r.error });
      if (this.head < this.queue.length) this.pump();
    });
    if (entry.id === 0) return;
    this.inFlight.add(entry);
    this.sweeper ??= this.clock.setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.timeoutMs / 4))).unref();
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const e of this.inFlight) {
      if (e.deadline > now) continue;
      e.conn.cancel(e.id, `no answer within ${this.timeoutMs} ms`);
    }
    if (this.inFlight.size === 0 && this.sweeper) {
      this.clock.clearTimer(this.sweeper);
      this.sweeper = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimer(this.sweeper);
    this.sweeper = undefined;
    const waiting = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const p of waiting) p.cb({ ok: false, error: 'connector closed' });
    const conns = this.conns.splice(0);
    await Promise.all(conns.map((c) => c.closeGracefully(1000)));
  }
}
