/**
 * Herald's HTTP/2 client against node's own HTTP/2 server (nghttp2): an independent implementation on the
 * other side of every frame, HPACK table and window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { H2Pool } from '../h2-pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'herald-h2-'));
const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function serve(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void,
  settings: http2.Settings = {},
): Promise<{ origin: string; server: http2.Http2SecureServer; close: () => Promise<void> }> {
  const server = http2.createSecureServer({ cert: ca.cert, key: ca.key, settings, maxSessionMemory: 100 });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    onStream(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    server,
    close: () =>
      new Promise((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

const readAll = (stream: http2.ServerHttp2Stream): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });

test('requests and answers: headers both ways through HPACK, big bodies both ways through flow control', async () => {
  const srv = await serve(async (stream, headers) => {
    const body = await readAll(stream);
    const size = Number(headers['x-answer-bytes'] ?? 0);
    stream.respond({
      ':status': 200,
      'x-method': String(headers[':method']),
      'x-path': String(headers[':path']),
      'x-authority': String(headers[':authority']),
      'x-echo': String(headers['x-echo'] ?? ''),
      'x-body-sha': createHash('sha256').update(body).digest('hex'),
      'x-body-bytes': String(body.length),
    });
    stream.end(Buffer.alloc(size, 7));
  });
  const pool = new H2Pool(srv.origin, { connect: { ca: ca.ca } });
  try {
    const big = Buffer.alloc(300_000, 'a');
    const bigLong = 'v'.repeat(20_000);
    const results = await Promise.all([
      pool.requestAsync({ ':method': 'POST', ':path': '/one', 'X-Echo': 'hello' }, 'small body'),
      pool.requestAsync({ ':method': 'PUT', ':path': '/two?q=1', 'x-echo': 'world' }, big),
      // A 2 MiB answer crosses our 1 MiB stream window: WINDOW_UPDATEs must go out.
      pool.requestAsync({ ':method': 'GET', ':path': '/three', 'x-answer-bytes': 2 * 1024 * 1024 }, ''),
      // A 20 KB header value does not fit one 16 KB frame: HEADERS + CONTINUATION.
      pool.requestAsync({ ':method': 'POST', ':path': '/four', 'x-echo': bigLong }, 'x'),
    ]);
    for (const r of results) assert.ok(r.ok, JSON.stringify(r).slice(0, 200));
    const [a, b, c, d] = results.map((r) => (r.ok ? r : assert.fail('not ok')));
    assert.equal(a!.headers['x-method'], 'POST');
    assert.equal(a!.headers['x-path'], '/one');
    assert.equal(a!.headers['x-authority'], new URL(srv.origin).host);
    assert.equal(a!.headers['x-echo'], 'hello', 'header names are lower-cased on the way out');
    assert.equal(a!.headers['x-body-bytes'], '10');
    assert.equal(b!.headers['x-body-sha'], createHash('sha256').update(big).digest('hex'));
    assert.equal(b!.headers['x-path'], '/two?q=1');
    assert.equal(c!.body.length, 2 * 1024 * 1024);
    assert.equal(c!.headers['x-body-bytes'], '0');
    assert.equal(d!.headers['x-echo'], bigLong);
    // Many more over the same connection: the dynamic tables on both sides stay in step.
    const many = await Promise.all(
      Array.from({ length: 500 }, (_, i) => pool.requestAsync({ ':method': 'POST', ':path': `/n/${i}`, 'x-echo': `v${i % 7}` }, String(i))),
    );
    many.forEach((r, i) => {
      assert.ok(r.ok);
      if (r.ok) assert.deepEqual([r.headers['x-path'], r.headers['x-echo'], r.headers['x-body-bytes']], [`/n/${i}`, `v${i % 7}`, String(String(i).length)]);
    });
    assert.equal(pool.sessionCount, 1);
  } finally {
    await pool.close();
    await srv.close();
  }
});

test('the server stream limit is respected: 60 requests, at most 3 open at once, none refused', async () => {
  let open = 0;
  let most = 0;
  const srv = await serve(
    (stream) => {
      most = Math.max(most, ++open);
      stream.resume();
      setTimeout(() => {
        open--;
        stream.respond({ ':status': 200 });
        stream.end();
      }, 5);
    },
    { maxConcurrentStreams: 3 },
  );
  const pool = new H2Pool(srv.origin, { connect: { ca: ca.ca } });
  try {
    const rs = await Promise.all(Array.from({ length: 60 }, () => pool.requestAsync({ ':method': 'POST', ':path': '/' }, 'x')));
    assert.deepEqual(
      rs.map((r) => (r.ok ? r.status : r.error)),
      rs.map(() => 200),
    );
    assert.ok(most <= 3, `at most 3 streams open, saw ${most}`);
  } finally {
    await pool.close();
    await srv.close();
  }
});

test('GOAWAY: answered streams stand, unprocessed ones are re-sent once on a new connection; PING is answered', async () => {
  let count = 0;
  let pinged = false;
  const goneAfter = new WeakMap<http2.ServerHttp2Session, number>();
  const srv = await serve((stream, _h, session) => {
    stream.resume();
    // Streams the server had already read past its GOAWAY are not processed (that is what GOAWAY says).
    if (stream.id! > (goneAfter.get(session) ?? Infinity)) return;
    count++;
    if (count === 1) {
      session.ping((err) => (pinged = !err));
    }
    if (count === 5) {
      // Streams 1..9 (the first five) were seen; everything after is refused by the GOAWAY.
      stream.respond({ ':status': 200, 'x-n': String(count) });
      stream.end();
      goneAfter.set(session, stream.id!);
      session.goaway(0, stream.id!, Buffer.from('{"reason":"Shutdown"}'));
      return;
    }
    stream.respond({ ':status': 200, 'x-n': String(count) });
    stream.end();
  });
  const pool = new H2Pool(srv.origin, { connect: { ca: ca.ca } });
  try {
    // One first, so the server's SETTINGS (stream limit) are in before the burst.
    assert.ok((await pool.requestAsync({ ':method': 'POST', ':path': '/' }, 'x')).ok);
    const rs = await Promise.all(Array.from({ length: 20 }, () => pool.requestAsync({ ':method': 'POST', ':path': '/' }, 'x')));
    assert.deepEqual(
      rs.map((r) => (r.ok ? r.status : r.error)),
      rs.map(() => 200),
    );
    assert.equal(count, 21, 'each request processed exactly once');
    assert.ok(pinged, 'the server got its PING ACK');
  } finally {
    await pool.close();
    await srv.close();
  }
});

test('RST_STREAM: REFUSED_STREAM is re-sent once; another code is an error for that request only', async () => {
  let n = 0;
  const srv = await serve((stream, headers) => {
    n++;
    stream.resume();
    if (headers[':path'] === '/refuse-once' && n === 1) return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    if (headers[':path'] === '/cancel') return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    stream.respond({ ':status': 204 });
    stream.end();
  });
  const pool = new H2Pool(srv.origin, { connect: { ca: ca.ca } });
  try {
    const refused = await pool.requestAsync({ ':method': 'POST', ':path': '/refuse-once' }, 'x');
    assert.equal(refused.ok && refused.status, 204);
    const cancelled = await pool.requestAsync({ ':method': 'POST', ':path': '/cancel' }, 'x');
    assert.ok(!cancelled.ok && /INTERNAL_ERROR/.test(cancelled.error), JSON.stringify(cancelled));
    const after = await pool.requestAsync({ ':method': 'POST', ':path': '/fine' }, 'x');
    assert.equal(after.ok && after.status, 204, 'the connection lives on');
  } finally {
    await pool.close();
    await srv.close();
  }
});

test('a server without h2, a dead port and a timeout are errors, never a hang', { timeout: 120_000 }, async () => {
  const h1 = https.createServer({ cert: ca.cert, key: ca.key }, (_req, res) => res.end('http/1.1 only'));
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  const h1Origin = `https://127.0.0.1:${(h1.address() as AddressInfo).port}`;
  let arrived!: () => void;
  const held = new Promise<void>((r) => (arrived = r));
  const slow = await serve((stream) => {
    stream.resume();
    arrived();
  });
  // The timeout (ten minutes) runs on this clock: it fires when the test moves it, once the server holds the request.
  const clock = new ManualClock(Date.now());
  const pools = [new H2Pool(h1Origin, { connect: { ca: ca.ca } }), new H2Pool('https://127.0.0.1:1', { connect: { ca: ca.ca } }), new H2Pool(slow.origin, { connect: { ca: ca.ca }, requestTimeoutMs: 600_000, clock })];
  try {
    const answers = Promise.all(pools.map((p) => p.requestAsync({ ':method': 'POST', ':path': '/' }, 'x')));
    await held;
    clock.advance(600_000);
    const [noH2, dead, timeout] = await answers;
    // OpenSSL refuses the handshake (no_application_protocol) before ALPN can even be checked.
    assert.ok(!noH2!.ok && /did not negotiate h2|no application protocol/.test(noH2!.error), JSON.stringify(noH2));
    assert.ok(!dead!.ok && /ECONNREFUSED/.test(dead!.error), JSON.stringify(dead));
    assert.ok(!timeout!.ok && /no answer within 600000 ms/.test(timeout!.error), JSON.stringify(timeout));
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await slow.close();
    await new Promise<void>((r) => h1.close(() => r()));
  }
});
