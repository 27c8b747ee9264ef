/** FCM emulator: the token endpoint and messages:send error paths over raw HTTP (clear text). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { h1, h2Session, type TestResponse } from '../shared/testing.ts';
import { startFcmEmulator, type FcmEmulator } from './fcm-emulator.ts';
import type { ServiceAccountJson } from './fcm-auth.ts';
import { conditionTopics } from './fcm-message.ts';

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
let emu: FcmEmulator;
let sa: ServiceAccountJson;
let bearer: string;
let token: string;

function assertion(claims: Record<string, unknown>, key = sa.private_key, alg = 'RS256'): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg })}.${enc(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: sa.client_email, scope: SCOPE, aud: 'https://oauth2.googleapis.com/token', iat: now, exp: now + 3600, ...extra };
}

function exchange(jwt: string, grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer'): Promise<TestResponse> {
  return h1(`${emu.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: grant, assertion: jwt }).toString(),
  });
}

function send(body: unknown, project = 'herald-test', auth = bearer): Promise<TestResponse> {
  return h1(`${emu.url}/v1/projects/${project}/messages:send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json; charset=UTF-8' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

before(async () => {
  emu = await startFcmEmulator({});
  sa = await emu.mintCredentials({ project: 'herald-test' });
  const r = await exchange(assertion(claims()));
  assert.equal(r.status, 200, r.text);
  const body = r.json as { access_token: string; expires_in: number; token_type: string };
  assert.match(body.access_token, /^ya29\./);
  assert.equal(body.expires_in, 3599);
  assert.equal(body.token_type, 'Bearer');
  bearer = body.access_token;
  token = (await emu.mintDevice({ project: 'herald-test' })).token;
});
after(() => emu.close());

test('token endpoint refuses bad grants with Google OAuth errors', async () => {
  const other = await emu.mintCredentials({ project: 'herald-test' });
  const cases: Array<[Promise<TestResponse>, string, RegExp]> = [
    [exchange(assertion(claims()), 'client_credentials'), 'unsupported_grant_type', /grant_type/],
    [exchange('not.a.jwt'), 'invalid_request', /JWT/],
    [exchange(assertion(claims(), other.private_key)), 'invalid_grant', /^Invalid JWT Signature\.$/],
    [exchange(assertion(claims({ iss: 'nobody@x.iam.gserviceaccount.com' }))), 'invalid_grant', /account not found/],
    [exchange(assertion(claims({ aud: 'https://example.com/token' }))), 'invalid_grant', /audience/],
    [exchange(assertion(claims({ exp: Math.floor(Date.now() / 1000) + 7200 }))), 'invalid_grant', /short-lived token \(60 minutes\)/],
    [exchange(assertion(claims({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }))), 'invalid_grant', /short-lived/],
    [exchange(assertion(claims({ scope: '' }))), 'invalid_scope', /scope/],
  ];
  for (const [pending, error, description] of cases) {
    const r = await pending;
    assert.equal(r.status, 400, r.text);
    const body = r.json as { error: string; error_description: string };
    assert.equal(body.error, error);
    assert.match(body.error_description, description);
  }
});

function assertRpc(r: TestResponse, http: number, status: string, errorCode?: string): void {
  assert.equal(r.status, http, r.text);
  const { error } = r.json as { error: { code: number; status: string; message: string; details?: Array<Record<string, unknown>> } };
  assert.equal(error.code, http);
  assert.equal(error.status, status);
  const fcm = error.details?.find((d) => d['@type'] === 'type.googleapis.com/google.firebase.fcm.v1.FcmError');
  assert.equal(fcm?.errorCode, errorCode, r.text);
}

test('send errors: google.rpc.Status with the FcmError code of the vendor table', async () => {
  const before = emu.core.deliveries.list(token).length;
  const wrongScope = (await exchange(assertion(claims({ scope: 'https://www.googleapis.com/auth/userinfo.email' })))).json as { access_token: string };
  assertRpc(await send({ message: { token } }, 'herald-test', 'ya29.unknown'), 401, 'UNAUTHENTICATED');
  assertRpc(await send({ message: { token } }, 'herald-test', wrongScope.access_token), 403, 'PERMISSION_DENIED');
  assertRpc(await send({ message: { token } }, 'other-project'), 403, 'PERMISSION_DENIED');
  assertRpc(await send('{nope'), 400, 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token }, extra: 1 }), 400, 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, colour: 'red' } }), 400, 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { data: { a: 'b' } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, topic: 'news' } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, data: { n: 1 } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, data: { from: 'me' } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { topic: '/topics/news' } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { condition: "'a' in topics &&" } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => `'${t}' in topics`).join(' || ');
  assertRpc(await send({ message: { condition: six } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, android: { ttl: '10 minutes' } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, android: { priority: 'urgent' } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, data: { big: 'x'.repeat(4096) } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { topic: 'news', data: { big: 'x'.repeat(2048) } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token: 'not-a-token' } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  const expired = (await emu.mintDevice({ project: 'herald-test' })).token;
  emu.core.registry.expire(expired);
  assertRpc(await send({ message: { token: expired } }), 404, 'NOT_FOUND', 'UNREGISTERED');
  const foreign = (await emu.mintDevice({ project: 'other-project' })).token;
  assertRpc(await send({ message: { token: foreign } }), 403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH');
  assertRpc(await h1(`${emu.url}/v1/projects/herald-test/messages:list`, { method: 'POST' }), 404, 'NOT_FOUND');
  assert.equal(emu.core.deliveries.list(token).length, before, 'nothing was delivered');
});

test('camelCase and snake_case both parse; validateOnly is a dry run; conditions and topics are accepted', async () => {
  const dry = await send({ validateOnly: true, message: { token, fcmOptions: { analyticsLabel: 'x' }, android: { collapseKey: 'c', ttl: '3.5s' } } });
  assert.equal(dry.status, 200, dry.text);
  assert.deepEqual(dry.json, { name: 'projects/herald-test/messages/fake_message_id' });
  assert.equal(emu.core.deliveries.list(token).length, 0);
  const topic = await send({ message: { topic: 'news', notification: { title: 't' } } });
  assert.match((topic.json as { name: string }).name, /^projects\/herald-test\/messages\/0:/);
  const cond = await send({ message: { condition: "'TopicA' in topics && ('TopicB' in topics || !('TopicC' in topics))", data: { a: 'b' } } });
  assert.equal(cond.status, 200, cond.text);
  assert.deepEqual(conditionTopics("'a' in topics || 'b' in topics"), ['a', 'b']);
  assert.equal(conditionTopics("'a' in topics 'b' in topics"), undefined);
});

test('an injected 429 is QUOTA_EXCEEDED with Retry-After; the token endpoint is never faulted', async () => {
  emu.core.faults.add({ status: 429, retryAfter: 60, count: 2 });
  assert.equal((await exchange(assertion(claims()))).status, 200);
  const r = await send({ message: { token } });
  assertRpc(r, 429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED');
  assert.equal(r.headers['retry-after'], '60');
  emu.core.faults.clear();
});

test('HTTP/2 clients see SETTINGS_MAX_CONCURRENT_STREAMS 100 and can send', async () => {
  const c = h2Session(emu.url);
  try {
    await new Promise((resolve) => c.session.once('remoteSettings', resolve));
    assert.equal(c.session.remoteSettings.maxConcurrentStreams, 100);
    const r = await c.request(
      { ':method': 'POST', ':path': '/v1/projects/herald-test/messages:send', authorization: `Bearer ${bearer}` },
      JSON.stringify({ message: { token, data: { via: 'h2' } } }),
    );
    assert.equal(r.status, 200, r.text);
  } finally {
    await c.close();
  }
});

test('FIDs: minted as the SDK does (22 base64url chars, first 4 bits 0111); message.fid delivers; wrong ones answer as FCM (#14 item 3)', async () => {
  for (let i = 0; i < 50; i++) {
    const { fid, handle } = await emu.mintInstallation({ project: 'herald-test' });
    assert.match(fid, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(`${fid}AA`, 'base64url')[0]! >> 4, 0b0111, fid);
    assert.equal(handle, `fid:${fid}`);
  }
  const viaControlPlane = await h1(`${emu.url}/_emulator/devices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'fid', project: 'herald-test' }) });
  assert.equal(viaControlPlane.status, 201, viaControlPlane.text);
  const { fid } = viaControlPlane.json as { fid: string; handle: string };
  const ok = await send({ message: { fid, data: { a: 'b' } } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(JSON.parse(emu.core.deliveries.list(fid)[0]!.payload), { fid, data: { a: 'b' } });
  assert.equal((await h1(`${emu.url}/_emulator/devices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"udid"}' })).status, 400);

  const fieldOf = (r: TestResponse) => (r.json as { error: { details: Array<{ fieldViolations?: Array<{ field: string }> }> } }).error.details.flatMap((d) => d.fieldViolations ?? []).map((v) => v.field);
  const malformed = await send({ message: { fid: 'aXk3nV9aQ0yF2b8c1ZqW_-' } });
  assertRpc(malformed, 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assert.deepEqual(fieldOf(malformed), ['message.fid']);
  const unknown = await send({ message: { fid: 'dXk3nV9aQ0yF2b8c1ZqW_-' } });
  assertRpc(unknown, 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assert.deepEqual(fieldOf(unknown), ['message.fid']);
  assertRpc(await send({ message: { fid, token } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { fid: token } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token: fid } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  const gone = (await emu.mintInstallation({ project: 'herald-test' })).fid;
  emu.core.registry.expire(gone);
  assertRpc(await send({ message: { fid: gone } }), 404, 'NOT_FOUND', 'UNREGISTERED');
  const foreign = (await emu.mintInstallation({ project: 'other-project' })).fid;
  assertRpc(await send({ message: { fid: foreign } }), 403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH');
  assert.equal(emu.core.deliveries.list(fid).length, 1, 'only the good send was delivered');
});

test('AndroidConfig direct_boot_ok, bandwidth_constrained_ok, restricted_satellite_ok are booleans; apns.live_activity_token is hex (#14 item 3)', async () => {
  const ok = await send({ message: { token, android: { direct_boot_ok: true, bandwidthConstrainedOk: false, restricted_satellite_ok: true }, apns: { liveActivityToken: 'a1b2c3d4e5f6' } } });
  assert.equal(ok.status, 200, ok.text);
  const got = JSON.parse(emu.core.deliveries.list(token).at(-1)!.payload) as { android: Record<string, unknown>; apns: Record<string, unknown> };
  assert.deepEqual(got.android, { direct_boot_ok: true, bandwidthConstrainedOk: false, restricted_satellite_ok: true }, 'delivered as sent');
  assert.deepEqual(got.apns, { liveActivityToken: 'a1b2c3d4e5f6' });
  for (const android of [{ direct_boot_ok: 'yes' }, { bandwidth_constrained_ok: 1 }, { restrictedSatelliteOk: 'true' }]) {
    const r = await send({ message: { token, android } });
    assertRpc(r, 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
    assert.match(r.text, /TYPE_BOOL/);
  }
  assertRpc(await send({ message: { token, apns: { live_activity_token: 42 } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
  assertRpc(await send({ message: { token, apns: { live_activity_token: 'not-hex' } } }), 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
});
