/**
 * The live stream of a hub's events over Server-Sent Events (issue 13 item 1). Each stream reads the
 * hub's event log from its position and writes what it finds; it reads again when the store says events
 * of its hub were committed (by any node: EventStore.onAppend) and on a slow poll (a missed signal, and on
 * PostgreSQL events held back behind a transaction that was still running). A client that does not read
 * is disconnected once `maxBufferBytes` wait unsent: a stream never holds more than that in memory.
 */
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../shared/clock.ts';
import type { EventStore } from '../store/store.ts';
import { envelope } from './model.ts';
import { HubError } from '../shared/errors.ts';

export interface EventStreamOptions {
  /** Events older than this are purged: a position before it gets a `reset` event first. */
  retentionMs: number;
  maxBufferBytes: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  keepAliveMs?: number;
  /** Reads again this often even without a signal. */
  pollMs?: number;
  /** Events per read. */
  pageSize?: number;
}

export interface PreparedStream {
  hub: string;
  types: readonly string[] | undefined;
  position: string;
  reset: boolean;
}

interface Stream {
  hub: string;
  res: ServerResponse;
  types: readonly string[] | undefined;
  position: string | undefined;
  reading: Promise<void> | undefined;
  again: boolean;
  closed: boolean;
}

/** One `text/event-stream` frame. Data is one JSON line (JSON never holds a raw newline). */
export const frame = (id: string | undefined, event: string, data: unknown) => `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private readonly unsubscribe: () => void;
  private readonly timers: TimerHandle[] = [];
  /** Streams ended because their client did not read (metrics, tests). */
  slowClientsDisconnected = 0;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly options: EventStreamOptions,
  ) {
    this.unsubscribe = store.onAppend((hub) => {
      for (const s of this.streams) if (hub === '' || s.hub.toLowerCase() === hub) this.pump(s);
    });
    this.timers.push(clock.setInterval(() => this.streams.forEach((s) => this.pump(s)), options.pollMs ?? 1_000).unref());
    this.timers.push(clock.setInterval(() => this.streams.forEach((s) => this.write(s, ': keep-alive\n\n')), options.keepAliveMs ?? 15_000).unref());
  }

  /** Streams open now. */
  get open(): number {
    return this.streams.size;
  }

  /**
   * Checks the position: one that is not an event id of this store is HubError `invalid_event_id`, thrown
   * before anything is sent. Then `attach` answers 200 with the stream.
   */
  async prepare(hub: string, request: { after?: string; types?: readonly string[] }): Promise<PreparedStream> {
    const now = this.clock.now();
    let reset = false;
    if (request.after !== undefined) {
      try {
        reset = (await this.store.read(hub, request.after, { limit: 1, retainedSince: now - this.options.retentionMs })).reset;
      } catch (err) {
        if (err instanceof HubError && err.code === 'invalid_continuation_token') {
          throw new HubError('invalid_event_id', `'${request.after.slice(0, 64)}' (Last-Event-ID or ?after=) is not an event id of this hub; reconnect without it to follow from now.`);
        }
        throw err;
      }
    }
    return { hub, types: request.types, position: request.after ?? (await this.store.head(hub, now)), reset };
  }

  /** Answers 200 with the stream and keeps it open until the client goes or `close`. */
  attach(prepared: PreparedStream, res: ServerResponse): void {
    const { hub, position } = prepared;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The reconnection delay EventSource uses after a drop (it then sends Last-Event-ID).
    res.write('retry: 2000\n\n');
    if (prepared.reset) {
      res.write(frame(undefined, 'reset', { reason: 'position_expired', message: `Events older than the retention window (${Math.round(this.options.retentionMs / 3_600_000)} h) are purged: some events after this position may be missing. The stream goes on from the oldest event kept.` }));
    }
    const stream: Stream = { hub, res, types: prepared.types, position, reading: undefined, again: false, closed: false };
    this.streams.add(stream);
    res.on('close', () => {
      stream.closed = true;
      this.streams.delete(stream);
    });
    this.pump(stream);
  }

  /** Resolves when no stream is reading (tests). */
  async settled(): Promise<void> {
    while ([...this.streams].some((s) => s.reading)) await Promise.all([...this.streams].map((s) => s.reading));
  }

  /** Ends every stream (shutdown) and stops the timers. */
  close(): void {
    this.unsubscribe();
    for (const t of this.timers) this.clock.clearTimer(t);
    for (const s of [...this.streams]) s.res.end();
    this.streams.clear();
  }

  private pump(s: Stream): void {
    if (s.closed) return;
    if (s.reading) {
      s.again = true;
      return;
    }
    s.reading = this.readAll(s)
      .catch(() => {
        // The store failed (restarting, unreachable): the next signal or poll reads again.
      })
      .finally(() => {
        s.reading = undefined;
        if (s.again) {
          s.again = false;
          this.pump(s);
        }
      });
  }

  private async readAll(s: Stream): Promise<void> {
    for (;;) {
      const page = await this.store.read(s.hub, s.position, {
        limit: this.options.pageSize ?? 500,
        retainedSince: 0,
        ...(s.types ? { types: s.types } : {}),
      });
      for (const e of page.events) if (!this.write(s, frame(e.id, e.type, envelope(e)))) return;
      if (page.next !== undefined) s.position = page.next;
      if (!page.more || s.closed) return;
    }
  }

  /** Writes, or disconnects a client that lets more than maxBufferBytes wait; false when the stream is gone. */
  private write(s: Stream, text: string): boolean {
    if (s.closed) return false;
    s.res.write(text);
    if (s.res.writableLength > this.options.maxBufferBytes) {
      this.slowClientsDisconnected++;
      s.closed = true;
      this.streams.delete(s);
      s.res.destroy();
      return false;
    }
    return true;
  }
}
