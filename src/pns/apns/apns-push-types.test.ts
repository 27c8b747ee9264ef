/**
 * The APNs connector and push types (issue 14 items 1 and 7), against the APNs emulator: push type, topic
 * suffix and priority set from the send, Live Activity tokens kept apart from device tokens, and
 * apns-collapse-id from the notification id.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { startApnsEmulator, type ApnsEmulator } from '../../emulators/apns/apns-emulator.ts';
import { APNS_TOKEN_KIND_HEADER, type DeliveryOutcome } from '../connector.ts';
import { ApnsConnector } from './apns-connector.ts';
import type { ApnsCredentials } from './apns-auth.ts';

const TOPIC = 'com.example.app';
let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;
let creds: ApnsCredentials;
let apns: ApnsConnector;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-pns-apns-types-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  const k = (await emu.mintCredentials({ topic: TOPIC })) as { keyId: string; teamId: string; key: string };
  creds = { platform: 'apns', auth: 'token', endpoint: emu.url, environment: 'development', keyId: k.keyId, teamId: k.teamId, bundleId: TOPIC, key: k.key };
  apns = new ApnsConnector({ ca: ca.ca });
});
after(async () => {
  await apns.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const mint = async (kind = 'device') => (await emu.mintDevice({ topic: TOPIC, kind })).handle;
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}/${o.reason.split(':')[0]}`);
const now = () => Math.floor(Date.now() / 1000);
const requests = () => emu.core.stats.snapshot().requests;

test('topic suffix and priority follow the push type; the token-kind header is never sent to APNs', async () => {
  const [device, activity] = [await mint(), await mint('liveactivity')];
  const out = await apns.send({
    credentials: creds,
    targets: [
      // A Live Activity token with no push type given: liveactivity, <bundle>.push-type.liveactivity.
      { handle: activity, payload: JSON.stringify({ aps: { event: 'update', timestamp: now(), 'content-state': { s: 1 } } }), headers: { [APNS_TOKEN_KIND_HEADER]: 'liveactivity' } },
      // Background with no priority: Herald sends 5, since APNs's default 10 is an error for it.
      { handle: device, payload: '{"aps":{"content-available":1}}', headers: { 'apns-push-type': 'background', [APNS_TOKEN_KIND_HEADER]: 'device' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'pushtotalk' } },
      { handle: device, payload: '{"aps":{"content-changed":true}}', headers: { 'apns-push-type': 'widgets' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'voip' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'location' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'complication' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'fileprovider' } },
    ],
  });
  assert.deepEqual(kinds(out), Array(8).fill('delivered/Success/Success'));
  const [la] = emu.core.deliveries.list(activity);
  assert.equal(la!.headers['apns-push-type'], 'liveactivity');
  assert.equal(la!.headers['apns-topic'], `${TOPIC}.push-type.liveactivity`);
  assert.equal(la!.headers['apns-priority'], '10');
  assert.equal(la!.headers[APNS_TOKEN_KIND_HEADER], undefined);
  const log = emu.core.deliveries.list(device).map((d) => `${d.headers['apns-push-type']} ${d.headers['apns-topic']} ${d.headers['apns-priority'] ?? '-'}`);
  assert.deepEqual(log, [
    `background ${TOPIC} 5`,
    `pushtotalk ${TOPIC}.voip-ptt 10`,
    `widgets ${TOPIC}.push-type.widgets 10`,
    `voip ${TOPIC}.voip -`,
    `location ${TOPIC}.location-query -`,
    `complication ${TOPIC}.complication -`,
    `fileprovider ${TOPIC}.pushkit.fileprovider -`,
  ]);
});

test('refused before any request: wrong token kind, wrong priority, unknown push type; the registration is not dropped', async () => {
  const [device, activity] = [await mint(), await mint('liveactivity')];
  const before = requests();
  const LA = JSON.stringify({ aps: { event: 'end', timestamp: now() } });
  const out = await apns.send({
    credentials: creds,
    targets: [
      { handle: device, payload: LA, headers: { 'apns-push-type': 'liveactivity', [APNS_TOKEN_KIND_HEADER]: 'device' } },
      { handle: activity, payload: '{"aps":{"alert":"hi"}}', headers: { 'apns-push-type': 'alert', [APNS_TOKEN_KIND_HEADER]: 'liveactivity' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'background', 'apns-priority': '10' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'pushtotalk', 'apns-priority': '5' } },
      { handle: device, payload: '{"aps":{}}', headers: { 'apns-push-type': 'telepathy' } },
    ],
  });
  assert.deepEqual(kinds(out), [
    'rejected/PnsInterfaceError/NotALiveActivityToken',
    'rejected/PnsInterfaceError/NotForLiveActivityToken',
    'rejected/PnsInterfaceError/BadPriority',
    'rejected/PnsInterfaceError/BadPriority',
    'rejected/PnsInterfaceError/InvalidPushType',
  ]);
  assert.ok(out.every((o) => o.kind !== 'handle-expired'), 'a misdirected push never reads as a dead token');
  assert.equal(requests(), before, 'nothing reached APNs');
});

test('a Live Activity payload APNs (the emulator) refuses is rejected with its reason', async () => {
  const activity = await mint('liveactivity');
  const [o] = await apns.send({ credentials: creds, targets: [{ handle: activity, payload: '{"aps":{"event":"update"}}', headers: { [APNS_TOKEN_KIND_HEADER]: 'liveactivity' } }] });
  assert.equal(`${o!.kind}/${o!.azure}/${o!.reason}/${o!.status}`, 'rejected/PnsInterfaceError/BadPayload/400');
});

test('apns-collapse-id: the notification id on every attempt, unless the sender set one; ids over 64 bytes are not sent', async () => {
  const device = await mint();
  const id = 'a'.repeat(32) + '-20261203170000-1234567-89';
  const push = (notificationId: string | undefined, headers: Record<string, string> = {}) =>
    apns.send({ credentials: creds, targets: [{ handle: device, payload: '{"aps":{"alert":"x"}}', headers, ...(notificationId ? { collapseId: notificationId } : {}) }] });
  assert.deepEqual(kinds(await push(id)), ['delivered/Success/Success']);
  assert.deepEqual(kinds(await push(id)), ['delivered/Success/Success'], 'a second attempt of the same notification');
  await push(id, { 'apns-collapse-id': 'score-update' });
  await push('x'.repeat(65));
  await push(undefined);
  const ids = emu.core.deliveries.list(device).map((d) => d.headers['apns-collapse-id'] ?? '-');
  assert.deepEqual(ids, [id, id, 'score-update', '-', '-']);
});
