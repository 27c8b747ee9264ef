/** WNS emulator over raw HTTP/1.1 (clear text): both token flows, the send checks and their statuses. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.ts';
import { control, h1, type TestResponse } from '../shared/testing.ts';
import { startWnsEmulator, type WnsEmulator } from './wns-emulator.ts';
import type { WnsApp } from './wns-auth.ts';

const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
let emu: WnsEmulator;
let app: WnsApp;
let liveToken: string;
let channelUri: string;

function form(path: string, fields: Record<string, string>): Promise<TestResponse> {
  return h1(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function push(uri: string, body: string | Buffer, headers: Record<string, string | undefined> = {}, token = liveToken): Promise<TestResponse> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ authorization: `Bearer ${token}`, 'content-type': 'text/xml', 'x-wns-type': 'wns/toast', ...headers }))
    if (v !== undefined) merged[k] = v;
  return h1(uri, { method: 'POST', headers: merged, body });
}

const TOAST = '<toast><visual><binding template="ToastGeneric"><text>Hi</text></binding></visual></toast>';

before(async () => {
  emu = await startWnsEmulator({ clock });
  app = await emu.mintCredentials({});
  const r = await form('/accesstoken.srf', { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: 'notify.windows.com' });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json as object).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.equal((r.json as { token_type: string }).token_type, 'bearer');
  assert.equal((r.json as { expires_in: number }).expires_in, 86400);
  liveToken = (r.json as { access_token: string }).access_token;
  channelUri = (await emu.mintDevice({})).channelUri;
});
after(() => emu.close());

test('Entra ID token flow: Bearer token that can send; AADSTS errors otherwise', async () => {
  const path = `/${app.tenantId}/oauth2/v2.0/token`;
  const good = { grant_type: 'client_credentials', client_id: app.appId, client_secret: app.appSecret, scope: 'https://wns.windows.com/.default' };
  const r = await form(path, good);
  assert.equal(r.status, 200);
  const body = r.json as { token_type: string; expires_in: number; ext_expires_in: number; access_token: string };
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3599);
  assert.equal((await push(channelUri, TOAST, {}, body.access_token)).status, 200);

  const secret = await form(path, { ...good, client_secret: 'nope' });
  assert.equal(secret.status, 401);
  assert.deepEqual((secret.json as { error_codes: number[] }).error_codes, [7000215]);
  assert.equal((await form(`/${'0'.repeat(8)}-0000-0000-0000-000000000000/oauth2/v2.0/token`, good)).status, 400);
  assert.equal(((await form(path, { ...good, scope: 'notify.windows.com' })).json as { error: string }).error, 'invalid_scope');
});

test('a Windows App SDK channel request (CreateChannelAsync with the Azure AppId) gets a 30-day channel of that app (#14 item 5)', async () => {
  const r = await control(emu.url, 'POST', 'channels', { remoteId: app.appId.toUpperCase() });
  assert.equal(r.status, 201);
  const got = r.json as { status: string; channel: { uri: string; expirationTime: string }; handle: string };
  assert.equal(got.status, 'CompletedSuccess');
  assert.match(got.channel.uri, /\/\?token=/);
  assert.equal(got.handle, got.channel.uri);
  assert.equal(Date.parse(got.channel.expirationTime), clock.now() + 30 * 86_400_000);
  // The channel is the app's: its Entra token can push there, another app's token gets 403.
  const path = `/${app.tenantId}/oauth2/v2.0/token`;
  const entra = ((await form(path, { grant_type: 'client_credentials', client_id: app.appId, client_secret: app.appSecret, scope: 'https://wns.windows.com/.default' })).json as { access_token: string }).access_token;
  assert.equal((await push(got.channel.uri, TOAST, {}, entra)).status, 200);
  const other = await emu.mintCredentials({ package: 'Other.App_9' });
  const otherToken = ((await form(`/${other.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: other.appId, client_secret: other.appSecret, scope: 'https://wns.windows.com/.default' })).json as { access_token: string }).access_token;
  assert.equal((await push(got.channel.uri, TOAST, {}, otherToken)).status, 403);

  for (const [body, status] of [
    [{ remoteId: '00000000-0000-0000-0000-000000000000' }, 404],
    [{ remoteId: 'not-a-guid' }, 400],
    [{}, 400],
  ] as const) {
    const bad = await control(emu.url, 'POST', 'channels', body);
    assert.equal(bad.status, status, JSON.stringify(body));
    assert.equal((bad.json as { status: string }).status, 'CompletedFailure');
    assert.ok((bad.json as { error: string }).error);
  }
  assert.equal((await control(emu.url, 'GET', 'channels')).status, 405);
});

test('legacy token flow errors are OAuth JSON with 400', async () => {
  const base = { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: 'notify.windows.com' };
  for (const [fields, error] of [
    [{ ...base, client_secret: 'x' }, 'invalid_client'],
    [{ ...base, client_id: 'ms-app://S-1-15-2-1' }, 'invalid_client'],
    [{ ...base, scope: 'other' }, 'invalid_scope'],
    [{ ...base, grant_type: 'password' }, 'unsupported_grant_type'],
  ] as const) {
    const r = await form('/accesstoken.srf', fields);
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: string }).error, error);
  }
});

test('send checks answer with the documented statuses, error description and no delivery', async () => {
  const key = new URL(channelUri).searchParams.get('token')!;
  const before = emu.core.deliveries.list(key).length;
  const otherApp = await emu.mintCredentials({ package: 'Other.App_1' });
  const otherToken = ((await form('/accesstoken.srf', { grant_type: 'client_credentials', client_id: otherApp.clientId, client_secret: otherApp.clientSecret, scope: 'notify.windows.com' })).json as { access_token: string }).access_token;

  const cases: Array<[number, Promise<TestResponse>]> = [
    [405, h1(channelUri, { method: 'GET' })],
    [401, push(channelUri, TOAST, { authorization: undefined })],
    [401, push(channelUri, TOAST, {}, 'unknown')],
    [404, push(`${emu.url}/?token=unknown`, TOAST)],
    [403, push(channelUri, TOAST, {}, otherToken)],
    [400, push(channelUri, TOAST, { 'x-wns-type': 'wns/popup' })],
    [400, push(channelUri, TOAST, { 'content-type': 'application/octet-stream' })],
    [400, push(channelUri, 'raw bytes', { 'x-wns-type': 'wns/raw' })],
    [400, push(channelUri, TOAST, { 'x-wns-tag': 'this-tag-is-way-too-long' })],
    [400, push(channelUri, TOAST, { 'x-wns-ttl': 'soon' })],
    [400, push(channelUri, TOAST, { 'x-wns-priority': '9' })],
    [400, push(channelUri, TOAST, { 'x-wns-suppresspopup': 'true' })],
    [400, push(channelUri, '<toast><visual>', {})],
    [400, push(channelUri, TOAST, { 'x-wns-type': 'wns/tile' })],
    [400, push(channelUri, '<badge value="lots"/>', { 'x-wns-type': 'wns/badge' })],
    [413, push(channelUri, Buffer.alloc(5001, 1), { 'x-wns-type': 'wns/raw', 'content-type': 'application/octet-stream' })],
  ];
  for (const [status, pending] of cases) {
    const r = await pending;
    assert.equal(r.status, status, `${status}: ${String(r.headers['x-wns-error-description'])}`);
    assert.ok(r.headers['x-wns-error-description']);
    assert.ok(r.headers['x-wns-debug-trace'] && r.headers['ms-cv'] && r.headers['x-wns-msg-id']);
    assert.equal(r.headers['x-wns-notificationstatus'], undefined);
    assert.equal(r.body.length, 0);
  }
  assert.equal(emu.core.deliveries.list(key).length, before);
});

test('raw (5000 bytes), badge and tile payloads are accepted; MS-CV is echoed', async () => {
  const raw = await push(channelUri, Buffer.alloc(5000, 1), { 'x-wns-type': 'wns/raw', 'content-type': 'application/octet-stream', 'ms-cv': 'abc' });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers['ms-cv'], 'abc.0');
  assert.equal((await push(channelUri, '<badge value="alert"/>', { 'x-wns-type': 'wns/badge' })).status, 200);
  assert.equal((await push(channelUri, '<?xml version="1.0"?><tile><visual><binding template="TileMedium"><text>t</text></binding></visual></tile>', { 'x-wns-type': 'wns/tile' })).status, 200);
});

test('channels expire 30 days after they were handed out: 410', async () => {
  const fresh = (await emu.mintDevice({})).channelUri;
  clock.advance(30 * 86_400_000 - 1);
  // The access token (24 h) has expired by now: 401 comes first, then a new token meets the expired channel.
  assert.equal((await push(fresh, TOAST)).status, 401);
  const r = await form('/accesstoken.srf', { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: 'notify.windows.com' });
  liveToken = (r.json as { access_token: string }).access_token;
  assert.equal((await push(fresh, TOAST)).status, 200);
  clock.advance(1);
  assert.equal((await push(fresh, TOAST)).status, 410);
});

test('faults: 406 throttling with Retry-After; 200 channelthrottled', async () => {
  emu.core.faults.add({ status: 406, retryAfter: 30, count: 1 });
  const throttled = await push(channelUri, TOAST);
  assert.equal(throttled.status, 406);
  assert.equal(throttled.headers['retry-after'], '30');
  emu.core.faults.add({ status: 200, reason: 'channelthrottled', count: 1 });
  const perChannel = await push(channelUri, TOAST);
  assert.equal(perChannel.status, 200);
  assert.equal(perChannel.headers['x-wns-status'], 'channelthrottled');
  assert.equal(perChannel.headers['x-wns-notificationstatus'], 'channelthrottled');
});
