/** The Web Push emulator driven by the standard sender, the `web-push` library (§6.2: the endpoint is the target). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { control } from '../shared/testing.ts';
import { startWebPushEmulator, type MintedSubscription, type WebPushEmulator } from './webpush-emulator.ts';

/** The part of web-push these tests use (the package ships no types). */
interface WebPushLib {
  sendNotification(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string | Buffer | null,
    options: Record<string, unknown>,
  ): Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
}
const webpush = createRequire(import.meta.url)('web-push') as WebPushLib;

let dir: string;
let ca: DevCa;
let emu: WebPushEmulator;
let agent: https.Agent;
let vapid: { publicKey: string; privateKey: string; subject: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-webpush-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  emu = await startWebPushEmulator({ tls: { cert: ca.cert, key: ca.key } });
  agent = new https.Agent({ ca: ca.ca });
  vapid = (await control(emu.url, 'POST', 'credentials', {}, ca.ca)).json as typeof vapid;
});
after(async () => {
  agent.destroy();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function subscribe(): Promise<MintedSubscription> {
  const r = await control(emu.url, 'POST', 'devices', { applicationServerKey: vapid.publicKey }, ca.ca);
  assert.equal(r.status, 201);
  return r.json as MintedSubscription;
}

function options(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { vapidDetails: vapid, agent, TTL: 60, ...extra };
}

async function deliveries(handle: string): Promise<Array<{ payload: string; headers: Record<string, string> }>> {
  const r = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(handle)}`, undefined, ca.ca);
  return (r.json as { deliveries: Array<{ payload: string; headers: Record<string, string> }> }).deliveries;
}

test('web-push (aes128gcm + VAPID): 201 with Location; the emulator decrypts the same plaintext', async () => {
  const sub = await subscribe();
  assert.match(sub.endpoint, new RegExp(`^${emu.url}/push/`));
  assert.equal(Buffer.from(sub.keys.p256dh, 'base64url').length, 65);
  assert.equal(Buffer.from(sub.keys.auth, 'base64url').length, 16);
  const message = JSON.stringify({ title: 'Hello', body: 'from Herald ✓' });
  const res = await webpush.sendNotification(sub, message, options({ urgency: 'high', topic: 'news' }));
  assert.equal(res.statusCode, 201);
  assert.match(res.headers.location ?? '', new RegExp(`^${emu.url}/message/`));
  assert.equal(res.headers.ttl, '60');

  const [d] = await deliveries(sub.handle);
  assert.equal(d?.payload, message);
  assert.equal(d?.headers.urgency, 'high');
  assert.equal(d?.headers.topic, 'news');
  assert.equal(d?.headers['content-encoding'], 'aes128gcm');
});

test('web-push with legacy aesgcm encryption is decrypted too', async () => {
  const sub = await subscribe();
  const res = await webpush.sendNotification(sub, 'legacy hello', options({ contentEncoding: 'aesgcm' }));
  assert.equal(res.statusCode, 201);
  assert.equal((await deliveries(sub.handle))[0]?.payload, 'legacy hello');
});

test('the largest plaintext that fits 4096 bytes (3993) is accepted, not 413', async () => {
  const sub = await subscribe();
  const res = await webpush.sendNotification(sub, 'x'.repeat(3993), options());
  assert.equal(res.statusCode, 201);
  assert.equal((await deliveries(sub.handle))[0]?.payload.length, 3993);
});

test('an expired subscription gives a 410 WebPushError', async () => {
  const sub = await subscribe();
  const expired = await control(emu.url, 'POST', `devices/${encodeURIComponent(sub.handle)}/expire`, {}, ca.ca);
  assert.equal(expired.status, 200);
  await assert.rejects(webpush.sendNotification(sub, 'anyone?', options()), (err: { name: string; statusCode: number; body: string }) => {
    assert.equal(err.name, 'WebPushError');
    assert.equal(err.statusCode, 410);
    assert.equal((JSON.parse(err.body) as { errno: number }).errno, 103);
    return true;
  });
  assert.equal((await deliveries(sub.handle)).length, 0);
});

test('a VAPID key other than the subscription\'s applicationServerKey gives 403', async () => {
  const sub = await subscribe();
  const other = (await control(emu.url, 'POST', 'credentials', {}, ca.ca)).json as typeof vapid;
  await assert.rejects(webpush.sendNotification(sub, 'x', options({ vapidDetails: other })), (err: { statusCode: number }) => {
    assert.equal(err.statusCode, 403);
    return true;
  });
});
