import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { EmulatorCore, emulatorHandler, json } from './emulator-core.ts';
import { startServer, type RunningServer } from './server.ts';
import { control, h1, h2Session } from './testing.ts';

/** A toy emulator: `POST /send/{key}` delivers to a minted device, 410 once expired. */
async function startToy(opts: { tls?: { cert: string; key: string }; clock?: ManualClock } = {}): Promise<{
  server: RunningServer;
  core: EmulatorCore<null>;
}> {
  const core = new EmulatorCore<null>(opts.clock);
  let n = 0;
  const handler = emulatorHandler(
    core,
    {
      mintCredentials: async () => ({ secret: 's' }),
      mintDevice: async (body) => {
        const key = `dev${++n}`;
        core.registry.add(key, `toy:${key}`, { topic: body.topic as string }, null);
        return { handle: `toy:${key}` };
      },
    },
    {
      protocol: async (ex) => {
        const device = core.registry.find(ex.path.slice('/send/'.length));
        if (!device) return json(404, { reason: 'unknown' });
        if (core.registry.isExpired(device)) return json(410, { reason: 'gone', at: device.expiredAt });
        core.deliveries.record(device.key, ex.headers, ex.body);
        return { status: 200 };
      },
      renderFault: (fault) => json(fault.status ?? 500, { reason: fault.reason ?? 'fault' }),
    },
  );
  return { server: await startServer({ ...opts }, handler), core };
}

test('control plane: devices, deliveries, expire, stats over clear-text HTTP/1.1', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const { server } = await startToy({ clock });
  try {
    const minted = await control(server.url, 'POST', 'devices', { topic: 'com.example' });
    assert.equal(minted.status, 201);
    const handle = (minted.json as { handle: string }).handle;
    const key = handle.slice(4);

    const sent = await h1(`${server.url}/send/${key}`, { method: 'POST', headers: { 'x-a': '1' }, body: 'hello' });
    assert.equal(sent.status, 200);
    const log = await control(server.url, 'GET', `deliveries?handle=${encodeURIComponent(handle)}`);
    assert.equal(log.status, 200);
    const body = log.json as { handle: string; deliveries: Array<{ time: string; payload: string; headers: Record<string, string> }> };
    assert.equal(body.handle, handle);
    assert.equal(body.deliveries.length, 1);
    assert.equal(body.deliveries[0]?.payload, 'hello');
    assert.equal(body.deliveries[0]?.headers['x-a'], '1');
    assert.equal(body.deliveries[0]?.time, new Date(clock.now()).toISOString());

    const expired = await control(server.url, 'POST', `devices/${encodeURIComponent(handle)}/expire`);
    assert.equal(expired.status, 200);
    assert.deepEqual(expired.json, { handle, expiredAt: clock.now() });
    const gone = await h1(`${server.url}/send/${key}`, { method: 'POST', body: 'x' });
    assert.equal(gone.status, 410);

    const stats = await control(server.url, 'GET', 'stats');
    assert.deepEqual(stats.json, { requests: 2, byStatus: { '200': 1, '410': 1 }, dropped: 0 });
  } finally {
    await server.close();
  }
});

test('control plane: bad requests get 400/404/405 and change nothing', async () => {
  const { server, core } = await startToy();
  try {
    assert.equal((await control(server.url, 'GET', 'deliveries?handle=nope')).status, 404);
    assert.equal((await control(server.url, 'GET', 'deliveries')).status, 400);
    assert.equal((await control(server.url, 'POST', 'devices/nope/expire')).status, 404);
    assert.equal((await control(server.url, 'GET', 'devices')).status, 405);
    assert.equal((await control(server.url, 'GET', 'nothing-here')).status, 404);
    const badJson = await h1(`${server.url}/_emulator/devices`, { method: 'POST', body: '{nope' });
    assert.equal(badJson.status, 400);
    assert.deepEqual(badJson.json, { error: 'body is not valid JSON' });
    for (const bad of [{}, { status: 99 }, { status: 503, share: 2 }, { status: 503, count: 0 }, { status: 503, extra: 1 }]) {
      const r = await control(server.url, 'POST', 'faults', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    assert.equal(core.faults.list().length, 0);
    assert.equal(core.registry.size(), 0);
  } finally {
    await server.close();
  }
});

test('faults: status with Retry-After, count-limited, share 0, drop, then cleared', async () => {
  const { server } = await startToy();
  try {
    const { handle } = (await control(server.url, 'POST', 'devices', {})).json as { handle: string };
    const url = `${server.url}/send/${handle.slice(4)}`;

    const added = await control(server.url, 'POST', 'faults', { status: 503, reason: 'Busy', retryAfter: 7, count: 1 });
    assert.equal(added.status, 201);
    const hit = await h1(url, { method: 'POST', body: 'a' });
    assert.equal(hit.status, 503);
    assert.equal(hit.headers['retry-after'], '7');
    assert.deepEqual(hit.json, { reason: 'Busy' });
    assert.equal((await h1(url, { method: 'POST', body: 'b' })).status, 200, 'count 1 is used up');

    await control(server.url, 'POST', 'faults', { status: 500, share: 0 });
    assert.equal((await h1(url, { method: 'POST', body: 'c' })).status, 200, 'share 0 never hits');
    assert.equal((await control(server.url, 'DELETE', 'faults')).status, 204);

    await control(server.url, 'POST', 'faults', { drop: true, count: 1 });
    await assert.rejects(h1(url, { method: 'POST', body: 'd' }), /socket hang up|ECONNRESET/);
    assert.equal((await h1(url, { method: 'POST', body: 'e' })).status, 200);

    // Latency alone delays the answer but does not change it.
    const slow = await control(server.url, 'POST', 'faults', { latencyMs: 20, count: 1 });
    assert.equal((slow.json as { latencyMs: number }).latencyMs, 20);
    assert.equal((await h1(url, { method: 'POST', body: 'f' })).status, 200);
    assert.deepEqual((await control(server.url, 'GET', 'faults')).json, { faults: [] }, 'count-limited faults disappear');

    const stats = (await control(server.url, 'GET', 'stats')).json;
    assert.deepEqual(stats, { requests: 6, byStatus: { '200': 4, '503': 1 }, dropped: 1 });
    const deliveries = (await control(server.url, 'GET', `deliveries?handle=${handle}`)).json as { deliveries: unknown[] };
    assert.equal(deliveries.deliveries.length, 4, 'faulted requests deliver nothing');
  } finally {
    await server.close();
  }
});

test('one port serves HTTP/2 and HTTP/1.1, in clear text and over TLS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-emu-'));
  const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  const plain = await startToy();
  const secure = await startToy({ tls: { cert: ca.cert, key: ca.key } });
  try {
    assert.match(secure.server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    for (const [server, opts] of [
      [plain.server, {}],
      [secure.server, { ca: ca.ca }],
    ] as const) {
      const h2 = h2Session(server.url, opts);
      try {
        const r = await h2.request({ ':method': 'POST', ':path': '/_emulator/devices' }, '{}');
        assert.equal(r.status, 201);
        const key = (r.json as { handle: string }).handle.slice(4);
        assert.equal((await h2.request({ ':method': 'POST', ':path': `/send/${key}` }, 'x')).status, 200);
      } finally {
        await h2.close();
      }
      assert.equal((await control(server.url, 'GET', 'stats', undefined, opts.ca)).status, 200);
    }
  } finally {
    await plain.server.close();
    await secure.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTP/2 streams: query strings, paths as URL parsing gives them, 413 for large bodies, 500 for handler errors', async () => {
  const seen: Array<{ path: string; handle: string | null }> = [];
  const server = await startServer({ maxBodyBytes: 10 }, async (ex) => {
    if (ex.path === '/boom') throw new Error('bad handler');
    seen.push({ path: ex.path, handle: ex.query.get('handle') });
    return { status: 200, headers: { 'X-Upper': 'v' }, body: ex.body };
  });
  const h2 = h2Session(server.url);
  try {
    const ok = await h2.request({ ':method': 'POST', ':path': '/a/b?handle=h%201&x=2' }, 'hello');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'hello');
    assert.equal(ok.headers['x-upper'], 'v');
    assert.equal(ok.headers['content-length'], '5');
    for (const path of ['/a/./b/../c', '/%2e%2E/x', '//host/p', '/a\\b', '/%7Bx%7D/~', '/a;b:c@d']) {
      assert.equal((await h2.request({ ':method': 'GET', ':path': path })).status, 200, path);
    }
    assert.deepEqual(seen, [
      { path: '/a/b', handle: 'h 1' },
      ...['/a/./b/../c', '/%2e%2E/x', '//host/p', '/a\\b', '/%7Bx%7D/~', '/a;b:c@d'].map((p) => ({ path: new URL(p, 'http://x').pathname, handle: null })),
    ]);
    const large = await h2.request({ ':method': 'POST', ':path': '/a' }, 'x'.repeat(11));
    assert.equal(large.status, 413);
    assert.equal(large.body.toString(), 'request body too large');
    const boom = await h2.request({ ':method': 'GET', ':path': '/boom' });
    assert.equal(boom.status, 500);
    assert.match(boom.body.toString(), /^emulator error: Error: bad handler/);
  } finally {
    await h2.close();
    await server.close();
  }
});
