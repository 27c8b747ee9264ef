import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa } from '../tls/dev-ca.ts';
import { control } from './shared/testing.ts';
import { startEmulators } from './index.ts';

test('startEmulators starts all five (ADM too, #14 item 6) over TLS, each with its control plane, and closes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-emus-'));
  try {
    const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
    const emus = await startEmulators({ host: '127.0.0.1', tls: { cert: ca.cert, key: ca.key } });
    try {
      assert.deepEqual(Object.keys(emus.urls).sort(), ['adm', 'apns', 'browser', 'fcmv1', 'wns']);
      for (const url of Object.values(emus.urls)) {
        assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const stats = await control(url, 'GET', 'stats', undefined, ca.ca);
        assert.deepEqual(stats.json, { requests: 0, byStatus: {}, dropped: 0 });
        const device = await control(url, 'POST', 'devices', {}, ca.ca);
        assert.equal(device.status, 201);
        assert.ok((device.json as { handle: string }).handle);
      }
    } finally {
      await emus.close();
    }
    for (const url of Object.values(emus.urls)) {
      const port = Number(new URL(url).port);
      await assert.rejects(
        new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)),
        /ECONNREFUSED/,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port in use fails the start and leaves nothing listening', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await assert.rejects(startEmulators({ ports: { wns: port } }), /EADDRINUSE/);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

async function ipv6Loopback(): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

test('IPv6 loopback gives bracketed URLs', async (t) => {
  if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback on this machine');
  const emus = await startEmulators({ host: '::1' });
  try {
    assert.match(emus.urls.fcmv1, /^http:\/\/\[::1\]:\d+$/);
    assert.equal((await control(emus.urls.fcmv1, 'GET', 'stats')).status, 200);
  } finally {
    await emus.close();
  }
});
