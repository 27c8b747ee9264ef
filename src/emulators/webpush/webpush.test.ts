/** The Web Push emulator driven by the standard sender, the `web-push` library (§6.2: the endpoint is the target). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
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

const state = (handle: string, body: Record<string, unknown>) => control(emu.url, 'POST', `devices/${encodeURIComponent(handle)}/state`, body, ca.ca);
const pendingOf = async (handle: string) => (await control(emu.url, 'GET', `pending?handle=${encodeURIComponent(handle)}`, undefined, ca.ca)).json as { pending: Array<{ topic?: string; payload: string; urgency: string }>; replaced: number };

test('Topic (RFC 8030 §5.4): a newer message with the same topic replaces the pending one; the device gets only the latest (#14 item 4)', async () => {
  const sub = await subscribe();
  assert.equal((await state(sub.handle, { online: false })).status, 200);
  for (const [text, topic] of [['score 1-0', 'match-7'], ['other', 'match-8'], ['score 2-0', 'match-7'], ['no topic', undefined]] as const) {
    const res = await webpush.sendNotification(sub, text, options(topic ? { topic } : {}));
    assert.equal(res.statusCode, 201);
  }
  const held = await pendingOf(sub.handle);
  assert.deepEqual(held.pending.map((p) => p.payload), ['other', 'score 2-0', 'no topic']);
  assert.equal(held.replaced, 1);
  assert.equal((await deliveries(sub.handle)).length, 0, 'nothing reaches an offline device');
  const back = await state(sub.handle, { online: true });
  assert.equal((back.json as { delivered: number }).delivered, 3);
  assert.deepEqual((await deliveries(sub.handle)).map((d) => d.payload), ['other', 'score 2-0', 'no topic']);
  assert.deepEqual((await pendingOf(sub.handle)).pending, []);
});

test('Urgency (RFC 8030 §5.3): a device that takes only high gets high now, the rest when it takes them again; TTL 0 is never held (#14 item 4)', async () => {
  const sub = await subscribe();
  await state(sub.handle, { minUrgency: 'high' });
  await webpush.sendNotification(sub, 'urgent', options({ urgency: 'high' }));
  await webpush.sendNotification(sub, 'later', options({ urgency: 'low' }));
  await webpush.sendNotification(sub, 'no urgency means normal', options());
  await webpush.sendNotification(sub, 'now or never', options({ urgency: 'low', TTL: 0 }));
  assert.deepEqual((await deliveries(sub.handle)).map((d) => d.payload), ['urgent']);
  assert.deepEqual((await pendingOf(sub.handle)).pending.map((p) => [p.payload, p.urgency]), [['later', 'low'], ['no urgency means normal', 'normal']]);
  await state(sub.handle, { minUrgency: 'normal' });
  assert.deepEqual((await deliveries(sub.handle)).map((d) => d.payload), ['urgent', 'no urgency means normal']);
  await state(sub.handle, { minUrgency: 'very-low' });
  assert.deepEqual((await deliveries(sub.handle)).map((d) => d.payload), ['urgent', 'no urgency means normal', 'later']);
  assert.equal((await state(sub.handle, { minUrgency: 'urgent' })).status, 400);
  assert.equal((await state(sub.handle, { online: 'no' })).status, 400);
  assert.equal((await control(emu.url, 'POST', 'devices/nobody/state', {}, ca.ca)).status, 404);
  await assert.rejects(webpush.sendNotification(sub, 'x', options({ urgency: 'urgent' })), /Unsupported urgency/, 'web-push refuses it before sending');
});

test('a pending message whose TTL runs out is dropped, never delivered (RFC 8030 §5.2) (#14 item 4)', async () => {
  const clock = new ManualClock(Date.now());
  const timed = await startWebPushEmulator({ tls: { cert: ca.cert, key: ca.key }, clock });
  try {
    const keys = (await control(timed.url, 'POST', 'credentials', {}, ca.ca)).json as typeof vapid;
    const sub = (await control(timed.url, 'POST', 'devices', {}, ca.ca)).json as MintedSubscription;
    await control(timed.url, 'POST', `devices/${encodeURIComponent(sub.handle)}/state`, { online: false }, ca.ca);
    await webpush.sendNotification(sub, 'short', { vapidDetails: keys, agent, TTL: 60 });
    await webpush.sendNotification(sub, 'long', { vapidDetails: keys, agent, TTL: 3600 });
    clock.advance(61_000);
    await control(timed.url, 'POST', `devices/${encodeURIComponent(sub.handle)}/state`, { online: true }, ca.ca);
    const got = (await control(timed.url, 'GET', `deliveries?handle=${encodeURIComponent(sub.handle)}`, undefined, ca.ca)).json as { deliveries: Array<{ payload: string }> };
    assert.deepEqual(got.deliveries.map((d) => d.payload), ['long']);
  } finally {
    await timed.close();
  }
});
