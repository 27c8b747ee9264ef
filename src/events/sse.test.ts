/**
 * The SSE stream's bounds (issue 13 item 1): a client that never reads is disconnected once its unsent
 * events pass the buffer limit (a stream never holds more in memory), and a position older than the
 * retention window gets an explicit `reset` first.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../shared/clock.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { EventStreams } from './sse.ts';

describe('SSE streams', () => {
  let store: Store;
  let clock: ManualClock;
  let server: Server;
  let streams: EventStreams;
  let port: number;
  let after: string | undefined;
  beforeEach(async () => {
    store = openSqliteStore({ path: ':memory:' });
    clock = new ManualClock(1_800_000_000_000);
    await store.hubs.create({ name: 'live', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    streams = new EventStreams(store.events, clock, { retentionMs: 3_600_000, maxBufferBytes: 64 * 1024 });
    server = createServer((_req, res) => {
      void streams.prepare('live', after === undefined ? {} : { after }).then((p) => streams.attach(p, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    streams.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });

  test('a client that never reads is disconnected once its unsent events pass the buffer limit', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause(); // never reads: the kernel's buffers fill, then the stream's own
    while (streams.open === 0) await new Promise((r) => setImmediate(r));
    const big = 'x'.repeat(16 * 1024);
    // However large the kernel's socket buffers, the stream ends after a bounded number of events; no timing.
    for (let i = 0; i < 4000 && streams.slowClientsDisconnected === 0; i++) {
      await store.events.append('live', Array.from({ length: 16 }, () => ({ type: 'registration.created', time: clock.now(), data: { big } })));
      await streams.settled();
    }
    assert.equal(streams.slowClientsDisconnected, 1);
    assert.equal(streams.open, 0, 'the stream is gone, with what it held');
    socket.resume();
    while (!closed) await new Promise((r) => setImmediate(r));
  });

  test('a position older than the retention window first gets a reset event, then the oldest events kept', async () => {
    await store.events.append('live', [{ type: 'registration.created', time: clock.now() - 2 * 3_600_000, data: { n: 1 } }]);
    await store.events.append('live', [{ type: 'registration.created', time: clock.now(), data: { n: 2 } }]);
    after = (await store.events.read('live', undefined, { limit: 1, retainedSince: 0 })).next;
    await store.events.purge(clock.now() - 3_600_000, 100);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('"n":2')) text += (await reader.read()).value ?? '';
    await reader.cancel();
    const reset = text.indexOf('event: reset');
    assert.ok(reset >= 0 && reset < text.indexOf('"n":2'), text);
    assert.match(text, /"reason":"position_expired"/);
  });
});
