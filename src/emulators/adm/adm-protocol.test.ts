/**
 * The ADM emulator on the wire (#14 item 6), with plain HTTP requests as Amazon's docs write them: the token
 * endpoint, the send checks and their `{"reason"}` answers, the control plane. (node-adm, the npm sender
 * library, is not a dependency of Herald; the connector test drives the emulator as a sender.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../shared/clock.ts';
import { control, h1, type TestResponse } from '../shared/testing.ts';
import { startAdmEmulator, type AdmEmulator } from './adm-emulator.ts';
import type { AdmApp } from './adm-auth.ts';

const clock = new ManualClock(Date.now());
let emu: AdmEmulator;
let app: AdmApp;
let token: string;
let registrationId: string;

const form = (fields: Record<string, string>, path = '/auth/O2/token'): Promise<TestResponse> =>
  h1(`${emu.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
const grant = () => ({ grant_type: 'client_credentials', scope: 'messaging:push', client_id: app.clientId, client_secret: app.clientSecret });

function send(id: string, body: unknown, headers: Record<string, string | undefined> = {}, bearer = token): Promise<TestResponse> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    authorization: `Bearer ${bearer}`,
    'content-type': 'application/json',
    accept: 'application/json',
    'x-amzn-type-version': 'com.amazon.device.messaging.ADMMessage@1.0',
    'x-amzn-accept-type': 'com.amazon.device.messaging.ADMSendResult@1.0',
    ...headers,
  }))
    if (v !== undefined) merged[k] = v;
  return h1(`${emu.url}/messaging/registrations/${encodeURIComponent(id)}/messages`, { method: 'POST', headers: merged, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

before(async () => {
  emu = await startAdmEmulator({ clock });
  app = (await control(emu.url, 'POST', 'credentials', {})).json as AdmApp;
  const r = await form(grant());
  assert.equal(r.status, 200);
  const body = r.json as { access_token: string; expires_in: number; scope: string; token_type: string };
  assert.deepEqual([body.expires_in, body.scope, body.token_type], [3600, 'messaging:push', 'bearer']);
  assert.match(body.access_token, /^Atc\|/);
  token = body.access_token;
  registrationId = ((await control(emu.url, 'POST', 'devices', {})).json as { registrationId: string }).registrationId;
});
after(() => emu.close());

test('minted credentials and registration ids look like Amazon\'s', () => {
  assert.match(app.clientId, /^amzn1\.application-oa2-client\.[0-9a-f]{32}$/);
  assert.match(app.clientSecret, /^[0-9a-f]{64}$/);
  assert.match(registrationId, /^amzn1\.adm-registration\.v3\./);
});

test('the token endpoint answers OAuth errors for a wrong secret, client, scope or grant', async () => {
  for (const [fields, status, error] of [
    [{ ...grant(), client_secret: 'x' }, 401, 'invalid_client'],
    [{ ...grant(), client_id: 'amzn1.application-oa2-client.nope' }, 400, 'invalid_client'],
    [{ ...grant(), scope: 'profile' }, 400, 'invalid_scope'],
    [{ ...grant(), grant_type: 'password' }, 400, 'unsupported_grant_type'],
  ] as const) {
    const r = await form(fields);
    assert.equal(r.status, status);
    assert.equal((r.json as { error: string }).error, error);
  }
  assert.equal((await form(grant(), '/auth/o2/token')).status, 200, 'both spellings of the path');
});

test('a message is accepted with {"registrationID"} and recorded for the device', async () => {
  assert.equal((await send(registrationId, { notification: { title: 'Hi', body: 'there' }, priority: 'high' })).status, 200, 'a notification message');
  const r = await send(registrationId, { data: { message: 'hi' }, consolidationKey: 'sync', expiresAfter: 60 });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { registrationID: registrationId });
  assert.ok(r.headers['x-amzn-requestid']);
  const log = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(registrationId)}`);
  assert.equal((log.json as { deliveries: unknown[] }).deliveries.length, 2);
});

test('send checks answer with ADM\'s statuses and reasons, and deliver nothing', async () => {
  const other = (await control(emu.url, 'POST', 'devices', { package: 'com.other.app' })).json as { registrationId: string };
  const before = emu.core.deliveries.list(registrationId).length;
  const cases: Array<[number, string, Promise<TestResponse>]> = [
    [401, 'Unauthorized', send(registrationId, { data: {} }, { authorization: undefined })],
    [401, 'Unauthorized', send(registrationId, { data: {} }, {}, 'Atc|unknown')],
    [400, 'InvalidType', send(registrationId, { data: {} }, { 'x-amzn-type-version': undefined })],
    [400, 'InvalidRegistrationId', send('amzn1.adm-registration.v3.unknown', { data: {} })],
    [400, 'InvalidRegistrationId', send(other.registrationId, { data: {} })],
    [413, 'MessageTooLarge', send(registrationId, { data: { x: 'y'.repeat(7000) } })],
    [400, 'InvalidData', send(registrationId, 'not json')],
    [400, 'InvalidData', send(registrationId, { data: { n: 1 } })],
    [400, 'InvalidData', send(registrationId, { message: 'no data' })],
    [400, 'InvalidData', send(registrationId, { consolidationKey: 'neither data nor notification' })],
    [400, 'InvalidData', send(registrationId, { data: {}, priority: 'urgent' })],
    [400, 'InvalidConsolidationKey', send(registrationId, { data: {}, consolidationKey: 'k'.repeat(65) })],
    [400, 'InvalidExpiration', send(registrationId, { data: {}, expiresAfter: 2_678_401 })],
    [400, 'InvalidChecksum', send(registrationId, { data: { a: '1' }, md5: 'AAAA' })],
  ];
  for (const [status, reason, pending] of cases) {
    const r = await pending;
    assert.equal(r.status, status, reason);
    assert.deepEqual(r.json, { reason });
  }
  assert.equal(emu.core.deliveries.list(registrationId).length, before);
});

test('an expired registration answers 410 Unregistered; a token past its hour 401 AccessTokenExpired', async () => {
  const id = ((await control(emu.url, 'POST', 'devices', {})).json as { registrationId: string }).registrationId;
  assert.equal((await control(emu.url, 'POST', `devices/${encodeURIComponent(id)}/expire`, {})).status, 200);
  const gone = await send(id, { data: {} });
  assert.equal(gone.status, 410);
  assert.deepEqual(gone.json, { reason: 'Unregistered' });
  clock.advance(3600_000);
  const late = await send(registrationId, { data: {} });
  assert.equal(late.status, 401);
  assert.deepEqual(late.json, { reason: 'AccessTokenExpired' });
});

test('faults: 429 TooManyRequests with Retry-After, then served again', async () => {
  token = ((await form(grant())).json as { access_token: string }).access_token;
  assert.equal((await control(emu.url, 'POST', 'faults', { status: 429, retryAfter: 12, count: 1 })).status, 201);
  const throttled = await send(registrationId, { data: {} });
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers['retry-after'], '12');
  assert.deepEqual(throttled.json, { reason: 'TooManyRequests' });
  assert.equal((await send(registrationId, { data: {} })).status, 200);
});
