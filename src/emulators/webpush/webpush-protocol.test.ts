/** Web Push emulator error paths over raw HTTP/1.1 (clear text, so the VAPID audience is http://...). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { createRequire } from 'node:module';
import { h1, type TestResponse } from '../shared/testing.ts';
import { startWebPushEmulator, type MintedSubscription, type WebPushEmulator } from './webpush-emulator.ts';

interface RequestDetails {
  endpoint: string;
  headers: Record<string, string | number>;
  body: Buffer | null;
}
const webpush = createRequire(import.meta.url)('web-push') as {
  generateRequestDetails(sub: MintedSubscription, payload: string | null, options: Record<string, unknown>): RequestDetails;
};

let emu: WebPushEmulator;
let vapid: { publicKey: string; privateKey: string; subject: string };
let sub: MintedSubscription;

before(async () => {
  emu = await startWebPushEmulator({});
  vapid = await emu.mintCredentials();
  sub = await emu.mintDevice({ applicationServerKey: vapid.publicKey });
});
after(() => emu.close());

function details(payload: string | null = 'hi', extra: Record<string, unknown> = {}): RequestDetails {
  return webpush.generateRequestDetails(sub, payload, { vapidDetails: vapid, TTL: 60, ...extra });
}

function post(d: RequestDetails, headers: Record<string, string | number | undefined> = {}, body?: Buffer | string): Promise<TestResponse> {
  const merged: Record<string, string | number> = {};
  for (const [k, v] of Object.entries({ ...d.headers, ...headers })) if (v !== undefined) merged[k] = v;
  const payload = body ?? d.body ?? undefined;
  merged['Content-Length'] = payload ? Buffer.byteLength(payload) : 0;
  return h1(d.endpoint, { method: 'POST', headers: merged, body: payload });
}

/** A VAPID header signed with the minted key but with claims of our choosing. */
function vapidWith(claims: Record<string, unknown>): string {
  const pub = Buffer.from(vapid.publicKey, 'base64url');
  const key = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: vapid.privateKey, x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ typ: 'JWT', alg: 'ES256' })}.${enc(claims)}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `vapid t=${input}.${sig}, k=${vapid.publicKey}`;
}

function assertError(r: TestResponse, status: number, errno: number): void {
  assert.equal(r.status, status, r.text);
  const body = r.json as { code: number; errno: number };
  assert.equal(body.code, status);
  assert.equal(body.errno, errno);
}

test('a message without payload is accepted and logged empty', async () => {
  const r = await post(details(null));
  assert.equal(r.status, 201);
  assert.match(String(r.headers.location), new RegExp(`^${emu.url}/message/`));
  assert.equal(emu.core.deliveries.list(sub.handle.split('/').pop()!).at(-1)?.payload, '');
});

test('bad requests get the RFC 8030 / autopush status and errno, and deliver nothing', async () => {
  const origin = emu.url;
  const now = Math.floor(Date.now() / 1000);
  const key = sub.endpoint.split('/').pop()!;
  const before = emu.core.deliveries.list(key).length;
  const good = details();

  assertError(await post({ ...good, endpoint: `${origin}/push/unknown` }), 404, 102);
  assertError(await h1(good.endpoint, { method: 'GET' }), 405, 999);
  assertError(await post(good, { Authorization: undefined }), 401, 109);
  assertError(await post(good, { Authorization: 'Bearer nope' }), 401, 109);
  assertError(await post(good, { Authorization: vapidWith({ aud: 'https://elsewhere.example', exp: now + 600, sub: vapid.subject }) }), 403, 109);
  assertError(await post(good, { Authorization: vapidWith({ aud: origin, exp: now - 1, sub: vapid.subject }) }), 403, 109);
  assertError(await post(good, { Authorization: vapidWith({ aud: origin, exp: now + 25 * 3600, sub: vapid.subject }) }), 403, 109);
  assertError(await post(good, { Authorization: vapidWith({ aud: origin, exp: now + 600, sub: 'mailto:me@localhost' }) }), 403, 109);
  assertError(await post(good, { Authorization: vapidWith({ aud: origin, exp: now + 600 }) }), 403, 109);
  const tampered = String(good.headers.Authorization).replace(/t=([^.]+)\.([^.]+)\./, (_m, h: string, c: string) => `t=${h}.${c}A.`);
  assertError(await post(good, { Authorization: tampered }), 403, 109);

  assertError(await post(good, { TTL: undefined }), 400, 111);
  assertError(await post(good, { TTL: 'soon' }), 400, 112);
  assertError(await post(good, { TTL: 2_592_001 }), 400, 112);
  assertError(await post(good, { Urgency: 'urgent' }), 400, 111);
  assertError(await post(good, { Topic: 'a'.repeat(33) }), 400, 113);
  assertError(await post(good, { Topic: 'has=padding' }), 400, 113);
  assertError(await post(good, { 'Content-Encoding': 'gzip' }), 400, 111);
  assertError(await post(good, {}, Buffer.alloc(200, 7)), 400, 111);
  assertError(await post(good, {}, Buffer.alloc(4097, 7)), 413, 104);
  assert.equal(emu.core.deliveries.list(key).length, before);
});

test('expiry answers 410 by default and 404 when configured as RFC 8030 §7.3 says', async () => {
  const other = await startWebPushEmulator({ expiredStatus: 404 });
  try {
    const otherSub = await other.mintDevice({});
    other.core.registry.expire(otherSub.handle);
    const d = webpush.generateRequestDetails(otherSub, 'x', { vapidDetails: vapid, TTL: 0 });
    assertError(await post(d), 404, 102);

    const gone = await emu.mintDevice({});
    emu.core.registry.expire(gone.endpoint);
    assertError(await post(webpush.generateRequestDetails(gone, 'x', { vapidDetails: vapid, TTL: 0 })), 410, 103);
  } finally {
    await other.close();
  }
});

test('an unrestricted subscription accepts any valid VAPID key', async () => {
  const open = await emu.mintDevice({});
  const otherKeys = await emu.mintCredentials();
  const r = await post(webpush.generateRequestDetails(open, 'x', { vapidDetails: otherKeys, TTL: 0 }));
  assert.equal(r.status, 201);
});

test('an injected 429 carries Retry-After and the back-off errno', async () => {
  emu.core.faults.add({ status: 429, retryAfter: 12, count: 1 });
  const r = await post(details());
  assertError(r, 429, 201);
  assert.equal(r.headers['retry-after'], '12');
});
