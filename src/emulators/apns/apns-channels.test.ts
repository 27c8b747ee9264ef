/**
 * APNs broadcast channels in the emulator (issue 14 item 2), driven by @parse/node-apn's manageChannels and
 * broadcast (the standard client): create with a message storage policy, read, list, delete, the per-app
 * limit, broadcasts to subscribed devices, stored messages for late subscribers, and the error answers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import apn from '@parse/node-apn';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { sign } from 'node:crypto';
import { control, h2Session } from '../shared/testing.ts';
import { startApnsEmulator, type ApnsEmulator } from './apns-emulator.ts';
import { MAX_CHANNELS_PER_APP } from './apns-channels.ts';

const BUNDLE = 'com.example.app';
let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;
let p: apn.Provider;

type Answer = { status?: number; error?: Error; response?: { reason: string }; 'apns-channel-id'?: string; 'apns-request-id'?: string; [k: string]: unknown };
type Channels = { manageChannels(n: apn.Notification, bundle: string, action: string): Promise<{ sent: Answer[]; failed: Answer[] }>; broadcast(n: apn.Notification, bundle: string): Promise<{ sent: Answer[]; failed: Answer[] }> };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-apns-channels-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key }, maxChannelsPerApp: 3 });
  const key = (await emu.mintCredentials({ topic: BUNDLE })) as { keyId: string; teamId: string; key: string };
  const port = Number(new URL(emu.url).port);
  p = new apn.Provider({ token: key, address: '127.0.0.1', port, manageChannelsAddress: '127.0.0.1', manageChannelsPort: port, ca: ca.ca } as unknown as apn.ProviderOptions);
});
after(async () => {
  await p.shutdown();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = () => p as unknown as Channels;
function note(fields: Record<string, unknown>): apn.Notification {
  const n = new apn.Notification();
  Object.assign(n, fields);
  return n;
}
async function manage(action: string, fields: Record<string, unknown> = {}): Promise<Answer> {
  const r = await client().manageChannels(note(fields), BUNDLE, action);
  return r.sent[0] ?? r.failed[0]!;
}
const reasonOf = (a: Answer) => `${a.status ?? 'ok'} ${a.response?.reason ?? a.error?.message ?? ''}`.trim();
const now = () => Math.floor(Date.now() / 1000);

test('create (201 + apns-channel-id), read its policy, list, delete; the limit per app is 10,000 by default', async () => {
  assert.equal(MAX_CHANNELS_PER_APP, 10_000);
  const created = await manage('create', { payload: { 'message-storage-policy': 1, 'push-type': 'LiveActivity' } });
  const id = created['apns-channel-id']!;
  assert.match(id, /^[A-Za-z0-9+/]+={0,2}$/);
  assert.match(created['apns-request-id']!, /^[0-9a-f-]{36}$/);
  const read = await manage('read', { channelId: id });
  assert.equal(read['message-storage-policy'], 1);
  assert.equal(read['push-type'], 'LiveActivity');
  assert.deepEqual((await manage('readAll')).channels, [id]);
  assert.equal(reasonOf(await manage('delete', { channelId: id })), 'ok');
  assert.equal(reasonOf(await manage('read', { channelId: id })), '400 ChannelNotRegistered');
  assert.deepEqual((await manage('readAll')).channels, []);
});

test('channel management errors: storage policy, push type, channel id missing or malformed, the per-app limit', async () => {
  assert.equal(reasonOf(await manage('create', { payload: { 'message-storage-policy': 2 } })), '400 InvalidPolicy');
  assert.equal(reasonOf(await manage('create', { payload: { 'message-storage-policy': 0, 'push-type': 'alert' } })), '400 InvalidPushType');
  assert.equal(reasonOf(await manage('read')), '400 MissingChannelId');
  assert.equal(reasonOf(await manage('delete', { channelId: 'not base64!' })), '400 BadChannelId');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await manage('create', { payload: { 'message-storage-policy': 0 } }))['apns-channel-id']!);
  assert.equal(reasonOf(await manage('create', { payload: { 'message-storage-policy': 0 } })), '400 CannotCreateChannelConfig');
  for (const id of ids) await manage('delete', { channelId: id });
  assert.deepEqual((await manage('readAll')).channels, []);
});

test('a broadcast reaches every subscribed device; a late subscriber gets the stored message; errors for wrong input', async () => {
  const stored = (await manage('create', { payload: { 'message-storage-policy': 1 } }))['apns-channel-id']!;
  const fleeting = (await manage('create', { payload: { 'message-storage-policy': 0 } }))['apns-channel-id']!;
  const mint = async () => (await emu.mintDevice({ topic: BUNDLE, kind: 'liveactivity' })).handle;
  const [a, b, late, other] = [await mint(), await mint(), await mint(), await mint()];
  for (const h of [a, b]) assert.equal((await control(emu.url, 'POST', `channels/${encodeURIComponent(stored)}/subscribers`, { handle: h }, ca.ca)).status, 201);
  await control(emu.url, 'POST', `channels/${encodeURIComponent(fleeting)}/subscribers`, { handle: other }, ca.ca);

  const update = (channelId: string, extra: Record<string, unknown> = {}) =>
    note({ channelId, pushType: 'liveactivity', priority: 10, rawPayload: { aps: { event: 'update', timestamp: now(), 'content-state': { score: '1-0' } } }, ...extra });
  const sent = await client().broadcast(update(stored), BUNDLE);
  assert.deepEqual(sent.failed, []);
  for (const h of [a, b]) {
    const [d] = emu.core.deliveries.list(h);
    assert.equal(d!.headers['apns-channel-id'], stored);
    assert.deepEqual(JSON.parse(d!.payload).aps['content-state'], { score: '1-0' });
  }
  assert.equal(emu.core.deliveries.list(other).length, 0, 'another channel');
  const joined = await control(emu.url, 'POST', `channels/${encodeURIComponent(stored)}/subscribers`, { handle: late }, ca.ca);
  assert.equal((joined.json as { storedMessageDelivered: boolean }).storedMessageDelivered, true);
  assert.equal(emu.core.deliveries.list(late).length, 1, 'policy 1 keeps the most recent message');

  const fail = async (n: apn.Notification) => {
    const r = await client().broadcast(n, BUNDLE);
    return reasonOf(r.failed[0] ?? { status: 200 });
  };
  assert.equal(await fail(update('bm9wZQ==')), '400 ChannelNotRegistered');
  assert.equal(await fail(update(stored, { pushType: 'alert' })), '400 InvalidPushType');
  assert.equal(await fail(update(stored, { priority: 1 })), '400 BadPriority');
  assert.equal(await fail(update(fleeting, { expiry: now() + 3600 })), '400 BadExpirationDate');
  assert.equal(await fail(update(stored, { rawPayload: { aps: { event: 'update', 'content-state': {} } } })), '400 BadPayload');
  assert.equal(emu.core.deliveries.list(a).length, 1, 'no failed broadcast was delivered');

  const bad = await control(emu.url, 'POST', 'channels/bm9wZQ==/subscribers', { handle: a }, ca.ca);
  assert.equal(bad.status, 404);
  const listed = (await control(emu.url, 'GET', 'channels', undefined, ca.ca)).json as { channels: Array<{ channelId: string; subscribers: string[] }> };
  assert.deepEqual(listed.channels.find((c) => c.channelId === stored)!.subscribers, [a, b, late]);
});

test('an injected fault on channel management answers with apns-request-id, as its real answers do', async () => {
  const key = (await emu.mintCredentials({ topic: BUNDLE })) as { keyId: string; teamId: string; key: string };
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'ES256', kid: key.keyId })}.${enc({ iss: key.teamId, iat: Math.floor(Date.now() / 1000) })}`;
  const jwt = `${input}.${sign('sha256', Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  const requestId = '0b2c1d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e';
  emu.core.faults.add({ status: 503, reason: 'ServiceUnavailable', count: 1 });
  const c = h2Session(emu.url, { ca: ca.ca });
  try {
    const r = await c.request({ ':method': 'GET', ':path': `/1/apps/${BUNDLE}/all-channels`, authorization: `bearer ${jwt}`, 'apns-request-id': requestId });
    assert.equal(r.status, 503);
    assert.equal(r.headers['apns-request-id'], requestId);
    assert.equal(r.headers['apns-id'], undefined);
  } finally {
    await c.close();
  }
});
