/** The APNs emulator over raw node:http2: every reason of §2.7 it can produce, with its status. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import type * as http2 from 'node:http2';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { h1, h2Session, type TestResponse } from '../shared/testing.ts';
import { startApnsEmulator, type ApnsEmulator } from './apns-emulator.ts';
import { APNS_REASONS } from './apns-errors.ts';

let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;
type Key = { keyId: string; teamId: string; key: string };
let keyA: Key;
let keyA2: Key; // same team as keyA
let keyOtherTeam: Key;
let keyProduction: Key;
let keyTopic: Key; // restricted to com.example.app
let device: string;
let otherTopicDevice: string;
let productionDevice: string;

const TOPIC = 'com.example.app';

async function tokenKey(body: Record<string, unknown>): Promise<Key> {
  const minted = await emu.mintCredentials(body);
  assert.equal(minted.type, 'token');
  return minted as Key;
}

async function certificate(body: Record<string, unknown>): Promise<{ cert: string; key: string }> {
  const minted = await emu.mintCredentials({ type: 'certificate', ...body });
  assert.equal(minted.type, 'certificate');
  return minted as { cert: string; key: string };
}

function jwt(k: { keyId: string; teamId: string; key: string }, iat = Math.floor(Date.now() / 1000), alg = 'ES256'): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, kid: k.keyId })}.${enc({ iss: k.teamId, iat })}`;
  const sig = sign('sha256', Buffer.from(input), { key: k.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-apns-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  keyA = await tokenKey({});
  keyA2 = await tokenKey({ teamId: keyA.teamId });
  keyOtherTeam = await tokenKey({});
  keyProduction = await tokenKey({ environment: 'production' });
  keyTopic = await tokenKey({ topic: TOPIC });
  device = (await emu.mintDevice({ topic: TOPIC })).handle;
  otherTopicDevice = (await emu.mintDevice({ topic: 'com.other.app' })).handle;
  productionDevice = (await emu.mintDevice({ topic: TOPIC, environment: 'production' })).handle;
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function base(token = device): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': `/3/device/${token}`,
    authorization: `bearer ${jwt(keyA)}`,
    'apns-topic': TOPIC,
    'apns-push-type': 'alert',
  };
}

async function once(headers: http2.OutgoingHttpHeaders, body: string | undefined = '{"aps":{"alert":"hi"}}', options: http2.SecureClientSessionOptions = {}): Promise<TestResponse> {
  const c = h2Session(emu.url, { ca: ca.ca, ...options });
  try {
    return await c.request(headers, body);
  } finally {
    await c.close();
  }
}

function assertReason(r: TestResponse, reason: keyof typeof APNS_REASONS): void {
  assert.equal(r.status, APNS_REASONS[reason], `${reason}: ${r.text}`);
  assert.equal((r.json as { reason: string }).reason, reason);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(String(r.headers['apns-id']), /^[0-9a-f-]{36}$/, 'every answer carries apns-id');
}

test('a valid push: 200, apns-id echoed, apns-unique-id in sandbox, delivery logged', async () => {
  const apnsId = '123e4567-e89b-12d3-a456-4266554400a0';
  const r = await once({ ...base(), 'apns-id': apnsId, 'apns-priority': '10', 'apns-expiration': '0', 'apns-collapse-id': 'c'.repeat(64) });
  assert.equal(r.status, 200);
  assert.equal(r.headers['apns-id'], apnsId);
  assert.match(String(r.headers['apns-unique-id']), /^[0-9a-f-]{36}$/);
  assert.equal(r.body.length, 0);
  assert.equal(emu.core.deliveries.list(device).length, 1);
});

test('request errors map to the reasons and statuses of the vendor table', async () => {
  const cases: Array<[keyof typeof APNS_REASONS, http2.OutgoingHttpHeaders, string?]> = [
    ['MethodNotAllowed', { ...base(), ':method': 'GET' }, ''],
    ['BadPath', { ...base(), ':path': `/2/device/${device}` }],
    ['MissingDeviceToken', { ...base(), ':path': '/3/device/' }],
    ['DuplicateHeaders', { ...base(), 'apns-topic': [TOPIC, TOPIC] }],
    ['MissingProviderToken', { ...base(), authorization: undefined }],
    ['InvalidProviderToken', { ...base(), authorization: 'bearer not-a-jwt' }],
    ['InvalidProviderToken', { ...base(), authorization: `bearer ${jwt({ ...keyA, key: keyOtherTeam.key })}` }],
    ['InvalidProviderToken', { ...base(), authorization: `bearer ${jwt({ ...keyA, teamId: 'WRONGTEAM1' })}` }],
    ['InvalidProviderToken', { ...base(), authorization: `bearer ${jwt(keyA, undefined, 'ES384')}` }],
    ['InvalidProviderToken', { ...base(), authorization: `bearer ${jwt(keyA, Math.floor(Date.now() / 1000) + 7200)}` }],
    ['ExpiredProviderToken', { ...base(), authorization: `bearer ${jwt(keyA, Math.floor(Date.now() / 1000) - 3601)}` }],
    ['BadEnvironmentKeyIdInToken', { ...base(), authorization: `bearer ${jwt(keyProduction)}` }],
    ['BadMessageId', { ...base(), 'apns-id': 'not-a-uuid' }],
    ['BadPriority', { ...base(), 'apns-priority': '7' }],
    ['BadPriority', { ...base(), 'apns-push-type': 'background', 'apns-priority': '10' }],
    ['BadExpirationDate', { ...base(), 'apns-expiration': 'soon' }],
    ['BadCollapseId', { ...base(), 'apns-collapse-id': 'c'.repeat(65) }],
    ['InvalidPushType', { ...base(), 'apns-push-type': 'banana' }],
    ['MissingTopic', { ...base(), 'apns-topic': undefined }],
    ['BadTopic', { ...base(), 'apns-push-type': 'voip' }],
    ['TopicDisallowed', { ...base(otherTopicDevice), authorization: `bearer ${jwt(keyTopic)}`, 'apns-topic': 'com.other.app' }],
    ['PayloadEmpty', base(), ''],
    ['PayloadTooLarge', base(), JSON.stringify({ aps: { alert: 'x'.repeat(4096) } })],
    ['PayloadTooLarge', { ...base(), 'apns-push-type': 'voip', 'apns-topic': `${TOPIC}.voip` }, 'x'.repeat(5121)],
    ['BadDeviceToken', base('zz-not-hex')],
    ['BadDeviceToken', base('ab'.repeat(32))],
    ['BadDeviceToken', base(productionDevice)],
    ['DeviceTokenNotForTopic', base(otherTopicDevice)],
  ];
  const before = emu.core.deliveries.list(device).length;
  for (const [reason, headers, body] of cases) assertReason(await once(headers, body), reason);
  assert.equal(emu.core.deliveries.list(device).length, before, 'nothing was delivered');
});

test('VoIP pushes may carry 5120 bytes; others stop at 4096', async () => {
  const voip = await once({ ...base(), 'apns-push-type': 'voip', 'apns-topic': `${TOPIC}.voip` }, 'x'.repeat(5120));
  assert.equal(voip.status, 200);
  const alert = await once(base(), 'x'.repeat(4096));
  assert.equal(alert.status, 200);
});

test('410 ExpiredToken / Unregistered carry the expiry time in milliseconds', async () => {
  const d1 = (await emu.mintDevice({ topic: TOPIC })).handle;
  const d2 = (await emu.mintDevice({ topic: TOPIC })).handle;
  emu.core.registry.expire(d1, 1_763_798_400_000, 'ExpiredToken');
  emu.core.registry.expire(d2, 1_763_798_400_001);
  const r1 = await once(base(d1));
  assertReason(r1, 'ExpiredToken');
  assert.equal((r1.json as { timestamp: number }).timestamp, 1_763_798_400_000);
  const r2 = await once(base(d2));
  assertReason(r2, 'Unregistered');
  assert.equal((r2.json as { timestamp: number }).timestamp, 1_763_798_400_001);
});

test('connection binding: unrelated key 403, other team 403 Forbidden, early token rotation 429', async () => {
  const c = h2Session(emu.url, { ca: ca.ca });
  try {
    const now = Math.floor(Date.now() / 1000);
    const body = '{"aps":{}}';
    const first = `bearer ${jwt(keyA, now)}`;
    assert.equal((await c.request({ ...base(), authorization: first }, body)).status, 200);
    assertReason(await c.request({ ...base(), authorization: `bearer ${jwt(keyA2)}` }, body), 'UnrelatedKeyIdInToken');
    assertReason(await c.request({ ...base(), authorization: `bearer ${jwt(keyOtherTeam)}` }, body), 'Forbidden');
    assertReason(await c.request({ ...base(), authorization: `bearer ${jwt(keyA, now - 60)}` }, body), 'TooManyProviderTokenUpdates');
    assert.equal((await c.request({ ...base(), authorization: first }, body)).status, 200, 'the same token keeps working');
  } finally {
    await c.close();
  }
});

test('SETTINGS_MAX_CONCURRENT_STREAMS is 1 until a token push succeeds, then 1000', async () => {
  const c = h2Session(emu.url, { ca: ca.ca });
  try {
    await new Promise((resolve) => c.session.once('remoteSettings', resolve));
    assert.equal(c.session.remoteSettings.maxConcurrentStreams, 1);
    const raised = new Promise((resolve) => c.session.once('remoteSettings', resolve));
    assert.equal((await c.request(base(), '{"aps":{}}')).status, 200);
    await raised;
    assert.equal(c.session.remoteSettings.maxConcurrentStreams, 1000);
  } finally {
    await c.close();
  }
});

test('certificate auth: minted client certificate, default topic, MissingTopic, environment, foreign cert', async () => {
  const single = await certificate({ topic: TOPIC });
  const noAuth = { ...base(), authorization: undefined, 'apns-topic': undefined };
  const ok = await once(noAuth, '{"aps":{}}', { cert: single.cert, key: single.key });
  assert.equal(ok.status, 200, ok.text);

  const multi = await certificate({ topics: [TOPIC, 'com.other.app'] });
  assertReason(await once(noAuth, '{"aps":{}}', { cert: multi.cert, key: multi.key }), 'MissingTopic');
  const production = await certificate({ topic: TOPIC, environment: 'production' });
  assertReason(await once(noAuth, '{"aps":{}}', { cert: production.cert, key: production.key }), 'BadCertificateEnvironment');
  // A certificate the emulator did not issue (the dev CA's server certificate will do).
  assertReason(await once(noAuth, '{"aps":{}}', { cert: ca.cert, key: ca.key }), 'BadCertificate');
  assertReason(await once({ ...noAuth, 'apns-push-type': 'location', 'apns-topic': `${TOPIC}.location-query` }, '{"aps":{}}', { cert: single.cert, key: single.key }), 'InvalidPushType');
});

test('faults: injected 503 Shutdown answers as APNs; a drop sends GOAWAY with a JSON reason', async () => {
  await emu.mintCredentials({}); // control plane stays reachable whatever the faults
  emu.core.faults.add({ status: 503, reason: 'Shutdown', count: 1, retryAfter: 30 });
  const r = await once(base());
  assertReason(r, 'Shutdown');
  assert.equal(r.headers['retry-after'], '30');

  emu.core.faults.add({ drop: true, count: 1 });
  const c = h2Session(emu.url, { ca: ca.ca });
  try {
    const goaway = new Promise<Buffer | undefined>((resolve) => c.session.once('goaway', (_code, _last, data) => resolve(data)));
    await assert.rejects(c.request(base(), '{}'), /without a response/);
    assert.deepEqual(JSON.parse(String(await goaway)), { reason: 'Shutdown' });
  } finally {
    await c.close();
  }
});

test('HTTP/1.1 reaches the control plane but not the provider API', async () => {
  const r = await h1(`${emu.url}/3/device/${device}`, { method: 'POST', body: '{}', ca: ca.ca });
  assert.equal(r.status, 505);
  const stats = await h1(`${emu.url}/_emulator/stats`, { ca: ca.ca });
  assert.equal(stats.status, 200);
});
