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

test('with a state directory, each emulator listens on its port of last time and keeps its devices; a busy remembered port is named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-emulators-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await startEmulators({ stateDir: dir });
  const device = (await first.fcmv1.mintDevice({})).handle;
  const key = await first.apns.mintCredentials({ type: 'token' });
  const cert = await first.apns.mintCredentials({ type: 'certificate' });
  const account = await first.fcmv1.mintCredentials({});
  const app = await first.wns.mintCredentials({});
  const profile = await first.adm.mintCredentials({});
  const kindle = (await first.adm.mintDevice({})).handle;
  // A broadcast channel an app created (apns-channels.ts keeps them as plain data).
  first.apns.channels.state.channels['Y2hhbm5lbA=='] = { bundleId: 'com.example.app', channelId: 'Y2hhbm5lbA==', messageStoragePolicy: 1, createdAt: 1, subscribers: [] };
  first.apns.core.saveState();
  const urls = first.urls;
  const clientCa = first.apns.clientCa;
  await first.close();
  const second = await startEmulators({ stateDir: dir });
  try {
    assert.deepEqual(second.urls, urls);
    assert.ok(second.fcmv1.core.registry.find(device), 'the device minted before the restart is known');
    assert.ok(key.type === 'token' && second.apns.knowsCredentials(key.keyId), 'the APNs token key');
    assert.equal(second.apns.clientCa, clientCa, 'the CA that signed the client certificates');
    assert.ok(cert.type === 'certificate');
    assert.ok(second.fcmv1.knowsCredentials(account.client_email), 'the FCM service account');
    assert.ok(second.wns.knowsCredentials(app.appId) && second.wns.knowsCredentials(app.clientId), 'the WNS app');
    assert.ok(second.adm.knowsCredentials(profile.clientId) && second.adm.core.registry.find(kindle), 'the ADM security profile and registration id');
    assert.deepEqual(second.apns.channels.list().map((c) => c.channelId), ['Y2hhbm5lbA=='], 'the APNs broadcast channel');
  } finally {
    await second.close();
  }
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(Number(new URL(urls.apns).port), '127.0.0.1', resolve));
  try {
    await assert.rejects(startEmulators({ stateDir: dir }), (err: Error) => {
      assert.match(err.message, /^the apns emulator cannot listen on port \d+, the port it listened on last time \(remembered in .*apns\.json, so that its devices keep their URLs\): the port is in use \(EADDRINUSE\)/);
      assert.match(err.message, /emulators\.ports\.apns \(environment HERALD_EMULATOR_APNS_PORT\)/);
      return true;
    });
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
