/**
 * APNs push types in the emulator (issue 14 item 1): each type's topic suffix, auth, priority and payload
 * rules, and Live Activity tokens that answer to Live Activity pushes only. Driven by @parse/node-apn, the
 * standard client, and by raw HTTP/2 where a client would not send the mistake.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from 'node:crypto';
import type * as http2 from 'node:http2';
import apn from '@parse/node-apn';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { h2Session, type TestResponse } from '../shared/testing.ts';
import { startApnsEmulator, type ApnsEmulator } from './apns-emulator.ts';

const TOPIC = 'com.example.app';
let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;
let key: { keyId: string; teamId: string; key: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-apns-types-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  key = (await emu.mintCredentials({ topic: TOPIC })) as typeof key;
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

function jwt(): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'ES256', kid: key.keyId })}.${enc({ iss: key.teamId, iat: Math.floor(Date.now() / 1000) })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function push(token: string, headers: http2.OutgoingHttpHeaders, body: unknown): Promise<TestResponse> {
  const c = h2Session(emu.url, { ca: ca.ca });
  try {
    return await c.request({ ':method': 'POST', ':path': `/3/device/${token}`, authorization: `bearer ${jwt()}`, ...headers }, typeof body === 'string' ? body : JSON.stringify(body));
  } finally {
    await c.close();
  }
}

const mint = async (kind = 'device') => (await emu.mintDevice({ topic: TOPIC, kind })).handle;
const reason = (r: TestResponse) => `${r.status} ${(r.json as { reason?: string } | undefined)?.reason ?? ''}`.trim();
const now = () => Math.floor(Date.now() / 1000);
/** node-apn 8 has the Live Activity fields; its type declarations do not yet. */
type LiveNote = apn.Notification & { event?: string; timestamp?: number; contentState?: unknown; staleDate?: number; attributesType?: string; attributes?: unknown };
const LA = { 'apns-push-type': 'liveactivity', 'apns-topic': `${TOPIC}.push-type.liveactivity` };

test('node-apn: a Live Activity update and end reach the activity token; push-to-start starts one', async () => {
  const p = new apn.Provider({ token: key, address: '127.0.0.1', port: Number(new URL(emu.url).port), ca: ca.ca } as unknown as apn.ProviderOptions);
  try {
    const activity = await mint('liveactivity');
    const update = new apn.Notification() as LiveNote;
    update.topic = `${TOPIC}.push-type.liveactivity`;
    update.pushType = 'liveactivity';
    update.priority = 5;
    update.event = 'update';
    update.timestamp = now();
    update.contentState = { score: '2-1' };
    update.staleDate = now() + 600;
    const sent = await p.send(update, activity);
    assert.deepEqual(sent.failed, []);

    const starter = await mint('pushtostart');
    const start = new apn.Notification() as LiveNote;
    start.topic = `${TOPIC}.push-type.liveactivity`;
    start.pushType = 'liveactivity';
    start.event = 'start';
    start.timestamp = now();
    start.contentState = { score: '0-0' };
    start.attributesType = 'MatchAttributes';
    start.attributes = { home: 'A', away: 'B' };
    start.alert = { title: 'Kick-off', body: 'A v B' };
    assert.deepEqual((await p.send(start, starter)).failed, []);

    const log = emu.core.deliveries.list(activity);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.headers['apns-push-type'], 'liveactivity');
    assert.deepEqual(JSON.parse(log[0]!.payload).aps['content-state'], { score: '2-1' });
  } finally {
    await p.shutdown();
  }
});

test('each push type: its topic suffix is required, and a right one is accepted', async () => {
  const device = await mint();
  const cases: Array<[string, string, unknown, http2.OutgoingHttpHeaders?]> = [
    ['voip', '.voip', { aps: {} }],
    ['complication', '.complication', { aps: {} }],
    ['fileprovider', '.pushkit.fileprovider', { 'container-identifier': 'NSFileProviderRootContainerItemIdentifier' }],
    ['location', '.location-query', { aps: {} }],
    ['pushtotalk', '.voip-ptt', { aps: {} }, { 'apns-priority': '10', 'apns-expiration': '0' }],
    ['widgets', '.push-type.widgets', { aps: { 'content-changed': true } }],
    ['controls', '.push-type.controls', { aps: { 'content-changed': true } }],
  ];
  for (const [type, suffix, body, extra] of cases) {
    const wrong = await push(device, { 'apns-push-type': type, 'apns-topic': TOPIC, ...extra }, body);
    assert.equal(reason(wrong), '400 BadTopic', `${type} to the bare bundle id`);
    const right = await push(device, { 'apns-push-type': type, 'apns-topic': TOPIC + suffix, ...extra }, body);
    assert.equal(right.status, 200, `${type}: ${right.text}`);
  }
  const live = await push(await mint('liveactivity'), { 'apns-push-type': 'liveactivity', 'apns-topic': TOPIC }, { aps: { event: 'end', timestamp: now() } });
  assert.equal(reason(live), '400 BadTopic');
});

test('priority rules: background only at 5 (absent means 10), pushtotalk only at 10, Live Activities 5 or 10', async () => {
  const device = await mint();
  const activity = await mint('liveactivity');
  const bg = { 'apns-push-type': 'background', 'apns-topic': TOPIC };
  assert.equal(reason(await push(device, bg, { aps: { 'content-available': 1 } })), '400 BadPriority');
  assert.equal((await push(device, { ...bg, 'apns-priority': '5' }, { aps: { 'content-available': 1 } })).status, 200);
  const ptt = { 'apns-push-type': 'pushtotalk', 'apns-topic': `${TOPIC}.voip-ptt` };
  assert.equal(reason(await push(device, { ...ptt, 'apns-priority': '5' }, { aps: {} })), '400 BadPriority');
  const update = { aps: { event: 'update', timestamp: now(), 'content-state': {} } };
  assert.equal(reason(await push(activity, { ...LA, 'apns-priority': '1' }, update)), '400 BadPriority');
  assert.equal((await push(activity, { ...LA, 'apns-priority': '5' }, update)).status, 200);
});

test('Live Activity payloads: event, timestamp, content-state, start attributes, dates; token kinds kept apart', async () => {
  const activity = await mint('liveactivity');
  const starter = await mint('pushtostart');
  const device = await mint();
  const t = now();
  const bad: Array<[string, unknown, RegExp]> = [
    [activity, { aps: { timestamp: t, 'content-state': {} } }, /aps\.event/],
    [activity, { aps: { event: 'pause', timestamp: t, 'content-state': {} } }, /aps\.event/],
    [activity, { aps: { event: 'update', 'content-state': {} } }, /aps\.timestamp/],
    [activity, { aps: { event: 'update', timestamp: t } }, /content-state/],
    [activity, { aps: { event: 'end', timestamp: t, 'dismissal-date': 'tomorrow' } }, /dismissal-date/],
    [activity, { aps: { event: 'update', timestamp: t, 'content-state': {}, 'stale-date': -1 } }, /stale-date/],
    [starter, { aps: { event: 'start', timestamp: t, 'content-state': {}, attributes: {} } }, /attributes-type/],
    [starter, { aps: { event: 'start', timestamp: t, 'content-state': {}, 'attributes-type': 'A' } }, /aps\.attributes/],
    [activity, { aps: { event: 'start', timestamp: t, 'content-state': {}, 'attributes-type': 'A', attributes: {} } }, /push-to-start token/],
    [starter, { aps: { event: 'update', timestamp: t, 'content-state': {} } }, /only starts activities/],
  ];
  for (const [token, body, detail] of bad) {
    const r = await push(token, LA, body);
    assert.equal(reason(r), '400 BadPayload', JSON.stringify(body));
    assert.match((r.json as { detail: string }).detail, detail);
  }
  // A device token does not answer to the Live Activity topic, nor an activity's token to the app's.
  assert.equal(reason(await push(device, LA, { aps: { event: 'end', timestamp: t } })), '400 DeviceTokenNotForTopic');
  assert.equal(reason(await push(activity, { 'apns-push-type': 'alert', 'apns-topic': TOPIC }, { aps: { alert: 'hi' } })), '400 DeviceTokenNotForTopic');
  assert.equal(emu.core.deliveries.list(activity).length + emu.core.deliveries.list(starter).length, 0, 'nothing delivered');
  assert.equal((await push(activity, LA, { aps: { event: 'end', timestamp: t, 'dismissal-date': t + 60 } })).status, 200);
});

test('widgets need content-changed; mdm needs the MDM certificate and its PushMagic; unknown types are refused', async () => {
  const device = await mint();
  const w = { 'apns-push-type': 'widgets', 'apns-topic': `${TOPIC}.push-type.widgets` };
  assert.equal(reason(await push(device, w, { aps: { alert: 'x' } })), '400 BadPayload');
  assert.equal(reason(await push(device, { 'apns-push-type': 'mdm', 'apns-topic': TOPIC }, { mdm: 'magic' })), '400 InvalidPushType', 'mdm over token auth');
  assert.equal(reason(await push(device, { 'apns-push-type': 'constructor', 'apns-topic': TOPIC }, { aps: {} })), '400 InvalidPushType');

  const cert = (await emu.mintCredentials({ type: 'certificate', topic: TOPIC })) as { cert: string; key: string };
  const c = h2Session(emu.url, { ca: ca.ca, cert: cert.cert, key: cert.key });
  try {
    const mdm = (body: unknown) => c.request({ ':method': 'POST', ':path': `/3/device/${device}`, 'apns-push-type': 'mdm', 'apns-topic': TOPIC }, JSON.stringify(body));
    assert.equal(reason(await mdm({ aps: {} })), '400 BadPayload');
    assert.equal((await mdm({ mdm: '0c9b1ab5-push-magic' })).status, 200);
    const la = await c.request({ ':method': 'POST', ':path': `/3/device/${await mint('liveactivity')}`, ...LA }, JSON.stringify({ aps: { event: 'end', timestamp: now() } }));
    assert.equal(reason(la), '400 InvalidPushType', 'Live Activities need token auth');
  } finally {
    await c.close();
  }
});
