/** The APNs emulator driven by the standard client, @parse/node-apn, aimed at it as §6.2 describes. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import apn from '@parse/node-apn';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { control } from '../shared/testing.ts';
import { startApnsEmulator, type ApnsEmulator } from './apns-emulator.ts';

let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-apns-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function provider(): Promise<apn.Provider> {
  const minted = await control(emu.url, 'POST', 'credentials', { topic: 'com.example.app' }, ca.ca);
  assert.equal(minted.status, 201);
  const creds = minted.json as { keyId: string; teamId: string; key: string };
  assert.match(creds.keyId, /^[A-Z0-9]{10}$/);
  assert.match(creds.key, /^-----BEGIN PRIVATE KEY-----/);
  return new apn.Provider({
    token: { key: creds.key, keyId: creds.keyId, teamId: creds.teamId },
    address: '127.0.0.1',
    port: Number(new URL(emu.url).port),
    ca: ca.ca,
  } as unknown as apn.ProviderOptions);
}

async function device(): Promise<string> {
  const r = await control(emu.url, 'POST', 'devices', { topic: 'com.example.app' }, ca.ca);
  assert.equal(r.status, 201);
  return (r.json as { handle: string }).handle;
}

test('node-apn sends an alert; the delivery shows up in /_emulator/deliveries', async () => {
  const p = await provider();
  try {
    const handle = await device();
    const note = new apn.Notification();
    note.alert = 'Hello from Herald';
    note.topic = 'com.example.app';
    note.payload = { orderId: 42 };
    const result = await p.send(note, handle);
    assert.deepEqual(result.failed, []);
    assert.equal(result.sent.length, 1);
    assert.equal(result.sent[0]?.device, handle);

    const log = await control(emu.url, 'GET', `deliveries?handle=${handle}`, undefined, ca.ca);
    const { deliveries } = log.json as { deliveries: Array<{ payload: string; headers: Record<string, string> }> };
    assert.equal(deliveries.length, 1);
    assert.deepEqual(JSON.parse(deliveries[0]!.payload), { aps: { alert: 'Hello from Herald' }, orderId: 42 });
    assert.equal(deliveries[0]!.headers['apns-topic'], 'com.example.app');
    assert.equal(deliveries[0]!.headers.authorization, undefined, 'credentials are not logged');
  } finally {
    await p.shutdown();
  }
});

test('node-apn reports 410 Unregistered with a millisecond timestamp for an expired device', async () => {
  const p = await provider();
  try {
    const handle = await device();
    const expired = await control(emu.url, 'POST', `devices/${handle}/expire`, {}, ca.ca);
    const { expiredAt } = expired.json as { expiredAt: number };
    const note = new apn.Notification();
    note.alert = 'Are you there?';
    note.topic = 'com.example.app';
    const result = await p.send(note, handle);
    assert.equal(result.sent.length, 0);
    const failure = result.failed[0] as unknown as { device: string; status: number; response: { reason: string; timestamp: number } };
    assert.equal(failure.device, handle);
    assert.equal(Number(failure.status), 410);
    assert.equal(failure.response.reason, 'Unregistered');
    assert.equal(failure.response.timestamp, expiredAt);
    assert.ok(expiredAt > 1e12, 'milliseconds, not seconds');
  } finally {
    await p.shutdown();
  }
});

test('node-apn sees 400 BadDeviceToken for a token the emulator never minted', async () => {
  const p = await provider();
  try {
    const note = new apn.Notification();
    note.alert = 'x';
    note.topic = 'com.example.app';
    const result = await p.send(note, 'ab'.repeat(32));
    const failure = result.failed[0] as unknown as { status: number; response: { reason: string } };
    assert.equal(Number(failure.status), 400);
    assert.equal(failure.response.reason, 'BadDeviceToken');
  } finally {
    await p.shutdown();
  }
});

test('a burst on a fresh connection: 1 stream may refuse some (REFUSED_STREAM); a wider initial limit takes them all', async () => {
  // §2.1/§2.10.2: APNs allows one stream until a token-auth push succeeds. node-apn does not wait for the
  // server's SETTINGS nor retry refused streams, so its first burst loses all but one notification.
  const wide = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key }, initialMaxConcurrentStreams: 1000 });
  try {
    for (const [target, expectSent] of [
      [emu, 1],
      [wide, 10],
    ] as const) {
      const creds = (await target.mintCredentials({})) as { keyId: string; teamId: string; key: string };
      const p = new apn.Provider({
        token: { key: creds.key, keyId: creds.keyId, teamId: creds.teamId },
        address: '127.0.0.1',
        port: Number(new URL(target.url).port),
        ca: ca.ca,
      } as unknown as apn.ProviderOptions);
      try {
        const devices = await Promise.all(Array.from({ length: 10 }, async () => (await target.mintDevice({})).handle));
        const note = new apn.Notification();
        note.alert = 'burst';
        note.topic = 'com.example.app';
        const result = await p.send(note, devices);
        // Whether node-apn's streams leave before the SETTINGS frame arrives is up to the scheduler, so the
        // narrow case asserts "at least one", and that every loss is a refused stream.
        if (expectSent === 10) assert.equal(result.sent.length, 10);
        else assert.ok(result.sent.length >= 1);
        assert.equal(result.sent.length + result.failed.length, 10);
        for (const f of result.failed) assert.match(String((f.error as Error | undefined)?.message), /REFUSED_STREAM/);
      } finally {
        await p.shutdown();
      }
    }
  } finally {
    await wide.close();
  }
});
