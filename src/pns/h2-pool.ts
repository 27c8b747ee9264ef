/**
 * A small pool of HTTP/2 sessions to one origin, shared by the APNs, FCM and Web Push connectors
 * (design.md "Where the time goes": multiplex up to the server's advertised stream limit over a small pool).
 *
 * - Streams per session never exceed the server's SETTINGS_MAX_CONCURRENT_STREAMS. Until the server's first
 *   SETTINGS arrive a session carries one stream: APNs allows one stream until a token-auth push succeeds
 *   and raises the limit afterwards (pns-protocols.md §2.1), so requests wait in the pool's queue rather
 *   than being refused.
 * - A session that got GOAWAY or closed takes no new streams; the next queued request opens a new one.
 * - Every request gets exactly one callback: a response, or a transport error (with no answer, the
 *   request may be re-sent by the retry policy; this pool never re-sends).
 */
import * as http2 from 'node:http2';

export type H2Result =
  | { ok: true; status: number; headers: http2.IncomingHttpHeaders; body: Buffer }
  | { ok: false; error: string };

export type H2Callback = (result: H2Result) => void;

export interface H2PoolOptions {
  /** TLS options for http2.connect (ca, cert/key for APNs certificate auth). */
  connect?: http2.SecureClientSessionOptions;
  /** Sessions opened at most; another is opened only when every open one is full. Default 1. */
  maxSessions?: number;
  requestTimeoutMs?: number;
  /** Limit assumed before the server's SETTINGS arrive. Default 1. */
  initialStreams?: number;
}

interface Pending {
  headers: http2.OutgoingHttpHeaders;
  body: string | Buffer;
  cb: H2Callback;
}

interface InFlight {
  deadline: number;
  stream: http2.ClientHttp2Stream;
  finish: (result: H2Result) => void;
}

interface Slot {
  session: http2.ClientHttp2Session;
  active: number;
  limit: number;
  usable: boolean;
}

const EMPTY = Buffer.alloc(0);
const { NGHTTP2_CANCEL } = http2.constants;

export class H2Pool {
  private readonly slots: Slot[] = [];
  private queue: Pending[] = [];
  private head = 0;
  private closed = false;
  private readonly maxSessions: number;
  private readonly timeoutMs: number;
  /** One sweep timer for all in-flight requests: cheaper than a timer per stream at thousands of streams. */
  private readonly inFlight = new Set<InFlight>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly origin: string,
    private readonly opts: H2PoolOptions = {},
  ) {
    this.maxSessions = Math.max(1, opts.maxSessions ?? 1);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /** Sessions currently open (for tests: a GOAWAY leads to a new one). */
  get sessionCount(): number {
    return this.slots.length;
  }

  request(headers: http2.OutgoingHttpHeaders, body: string | Buffer, cb: H2Callback): void {
    if (this.closed) return cb({ ok: false, error: 'connector closed' });
    this.queue.push({ headers, body, cb });
    this.pump();
  }

  requestAsync(headers: http2.OutgoingHttpHeaders, body: string | Buffer): Promise<H2Result> {
    return new Promise((resolve) => this.request(headers, body, resolve));
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const slot = this.freeSlot();
      if (!slot) break;
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      this.start(slot, next);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.usable && s.active < s.limit && (!best || s.active < best.active)) best = s;
    }
    if (best) return best;
    if (this.slots.filter((s) => s.usable).length < this.maxSessions) return this.open();
    return undefined;
  }

  private open(): Slot {
    const session = http2.connect(this.origin, this.opts.connect ?? {});
    const slot: Slot = { session, active: 0, limit: this.opts.initialStreams ?? 1, usable: true };
    this.slots.push(slot);
    const retire = (): void => {
      if (!slot.usable) return;
      slot.usable = false;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      // Queued requests go to another (or a new) session.
      setImmediate(() => this.pump());
    };
    session.on('remoteSettings', (settings) => {
      // RFC 9113 §6.5.2: absent means unlimited; cap at what one session sensibly carries.
      slot.limit = Math.max(1, Math.min(settings.maxConcurrentStreams ?? 1000, 10_000));
      this.pump();
    });
    session.on('goaway', retire);
    session.on('close', retire);
    // Errors reach each stream as well; the session's own error only retires it.
    session.on('error', retire);
    // An idle pool session must not keep a process alive on its own (tests, CLI); a busy one does.
    session.unref();
    return slot;
  }

  private start(slot: Slot, p: Pending): void {
    if (slot.active++ === 0) slot.session.ref();
    let done = false;
    let status = 0;
    let resHeaders: http2.IncomingHttpHeaders = {};
    let chunks: Buffer[] | undefined;
    const entry: InFlight = { deadline: Date.now() + this.timeoutMs, stream: undefined as unknown as http2.ClientHttp2Stream, finish: () => undefined };
    const finish = (result: H2Result): void => {
      if (done) return;
      done = true;
      this.inFlight.delete(entry);
      if (--slot.active === 0 && !slot.session.destroyed) slot.session.unref();
      p.cb(result);
      this.pump();
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = slot.session.request(p.headers, { endStream: false });
    } catch (err) {
      slot.usable = false;
      return finish({ ok: false, error: (err as Error).message });
    }
    stream.on('response', (h) => {
      status = Number(h[':status']);
      resHeaders = h;
    });
    stream.on('data', (c: Buffer) => (chunks ??= []).push(c));
    stream.on('end', () => {
      if (status === 0) return;
      finish({ ok: true, status, headers: resHeaders, body: chunks ? Buffer.concat(chunks) : EMPTY });
    });
    stream.on('error', (err: Error) => finish({ ok: false, error: err.message }));
    stream.on('close', () => {
      if (status !== 0) return finish({ ok: true, status, headers: resHeaders, body: chunks ? Buffer.concat(chunks) : EMPTY });
      finish({ ok: false, error: `stream closed without an answer (code ${stream.rstCode ?? 'none'})` });
    });
    entry.stream = stream;
    entry.finish = finish;
    this.inFlight.add(entry);
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.timeoutMs / 4)));
    stream.end(p.body);
  }

  private sweep(): void {
    const now = Date.now();
    for (const e of this.inFlight) {
      if (e.deadline > now) continue;
      e.finish({ ok: false, error: `no answer within ${this.timeoutMs} ms` });
      e.stream.close(NGHTTP2_CANCEL);
    }
    if (this.inFlight.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const waiting = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    for (const p of waiting) p.cb({ ok: false, error: 'connector closed' });
    await Promise.all(
      this.slots.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.session.closed || s.session.destroyed) return resolve();
            const t = setTimeout(() => {
              s.session.destroy();
              resolve();
            }, 1000);
            s.session.close(() => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
  }
}
