/**
 * Issue 14 item 2 end to end: APNs broadcast channels through Herald's management API, the APNs connector and
 * the APNs emulator: create with a message storage policy, list, read, delete, broadcast to subscribed
 * devices, APNs's limit of channels per app, and APNs's and Herald's answers to wrong input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApnsEmulator, type ApnsEmulator } from '../src/emulators/apns/apns-emulator.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';

const BUNDLE = 'com.example.app';
const now = () => Math.floor(Date.now() / 1000);
const LIMIT = 4;
const bin = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

/** The CLI as a user runs it; asynchronous, since the hub runs in this process. 60 s is a bound, not a goal. */
function herald(h: TestHerald, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey, HERALD_DATA: h.dataDir };
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('APNs broadcast channels through the management API', () => {
  let h: TestHerald;
  let emu: ApnsEmulator;
  before(async () => {
    h = await startTestHerald();
    // An emulator of its own, with a small channel limit, behind the development CA Herald already trusts.
    const tls = join(h.dataDir, 'tls');
    emu = await startApnsEmulator({ tls: { cert: readFileSync(join(tls, 'server.crt'), 'utf8'), key: readFileSync(join(tls, 'server.key'), 'utf8') }, maxChannelsPerApp: LIMIT });
    const k = (await emu.mintCredentials({ topic: BUNDLE })) as { keyId: string; teamId: string; key: string };
    assert.equal((await h.admin('POST', '/hubs', { name: 'live' })).status, 201);
    const set = await h.admin('PUT', '/hubs/live/credentials/apns', { auth: 'token', keyId: k.keyId, teamId: k.teamId, key: k.key, bundleId: BUNDLE, environment: 'development', endpoint: emu.url });
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(async () => {
    await emu.close();
    await h.close();
  });

  const path = (id?: string) => `/hubs/live/apns/channels${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

  test('create, list, read, broadcast to subscribed devices, delete', async () => {
    const created = await h.admin('POST', path(), { messageStoragePolicy: 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.channelId as string;
    assert.match(id, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(created.body.messageStoragePolicy, 1);
    assert.match(created.body.requestId, /^[0-9a-f-]{36}$/);
    assert.deepEqual((await h.admin('GET', path())).body, { channels: [id] });
    assert.deepEqual((await h.admin('GET', path(id))).body, { channelId: id, messageStoragePolicy: 1 });

    // Two simulated devices' Live Activities subscribe to the channel (ActivityKit `.channel(id)`).
    const devices = [await emu.mintDevice({ topic: BUNDLE, kind: 'liveactivity' }), await emu.mintDevice({ topic: BUNDLE, kind: 'liveactivity' })];
    for (const d of devices) emu.channels.subscribe(id, d.handle);
    const payload = { aps: { event: 'update', timestamp: now(), 'content-state': { score: '3-2' } } };
    const sent = await h.admin('POST', `${path(id)}/broadcasts`, { payload, priority: 5 });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.channelId, id);
    for (const d of devices) {
      const [got] = emu.core.deliveries.list(d.handle);
      assert.deepEqual(JSON.parse(got!.payload), payload);
      assert.equal(got!.headers['apns-channel-id'], id);
      assert.equal(got!.headers['apns-push-type'], 'liveactivity');
      assert.equal(got!.headers['apns-priority'], '5');
    }

    assert.equal((await h.admin('DELETE', path(id))).status, 204);
    const gone = await h.admin('GET', path(id));
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'apns_channel_not_found');
    assert.deepEqual((await h.admin('GET', path())).body, { channels: [] });
  });

  test("APNs's limit of channels per app: the next create is refused with its reason, nothing created", async () => {
    const ids: string[] = [];
    for (let i = 0; i < LIMIT; i++) ids.push((await h.admin('POST', path(), { messageStoragePolicy: 0 })).body.channelId);
    const over = await h.admin('POST', path(), { messageStoragePolicy: 0 });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.code, 'pns_rejected');
    assert.equal(over.body.error.details.reason, 'CannotCreateChannelConfig');
    assert.match(over.body.error.message, /APNs refused the request: CannotCreateChannelConfig \(an app has at most 4 channels per environment\)/);
    assert.equal((await h.admin('GET', path())).body.channels.length, LIMIT);
    for (const id of ids) assert.equal((await h.admin('DELETE', path(id))).status, 204);
  });

  test('wrong input: 400 from Herald before APNs, or APNs reason as details; nothing created or delivered', async () => {
    const channelsBefore = emu.channels.list().length;
    for (const body of [{}, { messageStoragePolicy: 2 }, { messageStoragePolicy: 'most-recent' }, { messageStoragePolicy: 0.5 }]) {
      const r = await h.admin('POST', path(), body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.match(r.body.error.message, /messageStoragePolicy/);
    }
    assert.equal(emu.channels.list().length, channelsBefore, 'no channel created');

    const id = (await h.admin('POST', path(), { messageStoragePolicy: 0 })).body.channelId as string;
    const device = await emu.mintDevice({ topic: BUNDLE, kind: 'liveactivity' });
    emu.channels.subscribe(id, device.handle);
    const cases: Array<[unknown, number, string]> = [
      [{ payload: { aps: { event: 'update', 'content-state': {} } } }, 400, 'BadPayload'],
      [{ payload: { aps: { event: 'update', timestamp: now(), 'content-state': {} } }, expiration: now() + 60 }, 400, 'BadExpirationDate'],
      [{ payload: { aps: { event: 'start', timestamp: now(), 'content-state': {} } } }, 400, 'BadPayload'],
    ];
    for (const [body, status, reason] of cases) {
      const r = await h.admin('POST', `${path(id)}/broadcasts`, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.details.reason, reason);
    }
    for (const body of [{}, { payload: 'text' }, { payload: {}, priority: 1 }]) {
      const r = await h.admin('POST', `${path(id)}/broadcasts`, body);
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'invalid_request');
    }
    const unknown = await h.admin('POST', `${path('bm9uZQ==')}/broadcasts`, { payload: { aps: { event: 'end', timestamp: now() } } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'apns_channel_not_found');
    // Channel ids are base64: '/', '+' and '=' reach APNs intact when percent-encoded in the path.
    const slashed = await h.admin('GET', path('ab/c+d=='));
    assert.equal(slashed.body.error.code, 'apns_channel_not_found');
    assert.match(slashed.body.error.message, /no channel 'ab\/c\+d=='/);
    const malformed = await h.admin('GET', path('not base64!'));
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.details.reason, 'BadChannelId');
    assert.equal(emu.core.deliveries.list(device.handle).length, 0, 'nothing was delivered');

    const noCreds = await h.admin('GET', '/hubs/sandbox/apns/channels');
    assert.equal(noCreds.status, 200, 'the sandbox hub has emulator credentials');
    assert.equal((await h.admin('POST', '/hubs', { name: 'bare' })).status, 201);
    await h.admin('DELETE', '/hubs/bare/credentials/apns'); // a sandbox gives new hubs emulator credentials
    const bare = await h.admin('GET', '/hubs/bare/apns/channels');
    assert.equal(bare.status, 404);
    assert.equal(bare.body.error.code, 'credentials_not_found');
  });

  test('the channel routes are in the OpenAPI document with operation ids', async () => {
    const doc = (await h.admin('GET', '/openapi.json')).body;
    const ops = ['/hubs/{hub}/apns/channels', '/hubs/{hub}/apns/channels/{channelId}', '/hubs/{hub}/apns/channels/{channelId}/broadcasts'].flatMap((p) =>
      Object.values(doc.paths[p] as Record<string, { operationId: string }>).map((o) => o.operationId),
    );
    assert.deepEqual(ops.sort(), ['broadcastToApnsChannel', 'createApnsChannel', 'deleteApnsChannel', 'getApnsChannel', 'listApnsChannels']);
  });

  test('herald channels: create, list, show, broadcast, delete; bad flags and APNs refusals are one-line errors', async () => {
    const created = await herald(h, ['channels', 'create', 'live', '--storage', 'most-recent']);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.ok((await herald(h, ['channels', 'list', 'live'])).stdout.split('\n').includes(id));
    assert.equal((await herald(h, ['channels', 'show', 'live', id])).stdout.trim(), `${id}  storage: most-recent`);
    const device = await emu.mintDevice({ topic: BUNDLE, kind: 'liveactivity' });
    emu.channels.subscribe(id, device.handle);
    const sent = await herald(h, ['channels', 'broadcast', 'live', id, '--event', 'update', '--content-state', '{"score":"4-4"}', '--priority', '5']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, new RegExp(`^Broadcast on ${id.replace(/[+/]/g, '\\$&')} \\(apns-request-id [0-9a-f-]{36}\\)\\.`));
    const [got] = emu.core.deliveries.list(device.handle);
    assert.deepEqual(JSON.parse(got!.payload).aps['content-state'], { score: '4-4' });

    const badStorage = await herald(h, ['channels', 'create', 'live', '--storage', 'forever']);
    assert.equal(badStorage.code, 1);
    assert.equal(badStorage.stderr, 'herald: --storage must be none or most-recent (0 or 1), not "forever"\n');
    const badEvent = await herald(h, ['channels', 'broadcast', 'live', id, '--event', 'start']);
    assert.equal(badEvent.stderr, 'herald: --event must be update or end (or give the whole --payload)\n');
    const refused = await herald(h, ['channels', 'broadcast', 'live', id, '--payload', '{"aps":{"event":"update"}}']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^herald: APNs refused the request: BadPayload \(aps\.timestamp/);
    assert.equal(emu.core.deliveries.list(device.handle).length, 1, 'nothing more delivered');

    assert.equal((await herald(h, ['channels', 'delete', 'live', id])).code, 0);
    const gone = await herald(h, ['channels', 'show', 'live', id, '--json']);
    assert.equal(gone.code, 1);
    assert.equal(JSON.parse(gone.stderr).error.code, 'apns_channel_not_found');
  });
});
