import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests } from '../../test/fixtures/captured.ts';
import { HubError } from '../shared/errors.ts';
import { parseInstallation, parseInstallationJson } from './installation.ts';
import { applyInstallationPatch } from './installation-patch.ts';
import { materializedRegistrationId, materializeRegistrations } from './materialize.ts';
import type { Installation } from './model.ts';

const NOW = Date.parse('2026-01-02T03:04:05.678Z');
const TOKEN = '00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0';
const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const AUTH = Buffer.alloc(16, 9).toString('base64url');
const WNS = 'https://db5p.notify.windows.com/?token=AwYAAAB';
const TOAST = '<toast><visual><binding template="ToastText01"><text id="1">$(m)</text></binding></visual></toast>';
const ID = /^[0-9a-f]{32}$/;

function capturedInst1(now = NOW): Installation {
  const req = capturedRequests().find((r) => r.method === 'PUT' && r.url.startsWith('/myhub/installations/inst-1?'));
  assert.ok(req);
  return parseInstallation(parseInstallationJson(req.body), 'inst-1', now);
}

test('the captured installation materialises one native and one template registration with the §5.2 tags', () => {
  const regs = materializeRegistrations(capturedInst1());
  assert.equal(regs.length, 2);
  const [native, template] = regs;
  assert.deepEqual(native?.input, {
    kind: 'Apple',
    handle: { platform: 'apns', value: TOKEN.toUpperCase() },
    tags: ['$InstallationId:{inst-1}', '$UserId:{user1}', 'likes_hockey', 'likes_football'],
  });
  assert.deepEqual(template?.input, {
    kind: 'AppleTemplate',
    handle: { platform: 'apns', value: TOKEN.toUpperCase() },
    tags: ['$InstallationId:{inst-1}', '$UserId:{user1}', 'likes_hockey', 'likes_football', 'tt', 't1'],
    template: { body: '{"aps":{"alert":"$(message)"}}', name: 't1', headers: [{ name: 'apns-priority', value: '10' }] },
  });
  assert.match(native?.id ?? '', ID);
  assert.match(template?.id ?? '', ID);
  assert.notEqual(native?.id, template?.id);
});

test('ids are stable across a re-PUT and a patch, and differ between installations and templates', () => {
  const first = materializeRegistrations(capturedInst1());
  const again = materializeRegistrations(capturedInst1(NOW + 1000));
  assert.deepEqual(again.map((r) => r.id), first.map((r) => r.id));
  const patched = applyInstallationPatch(capturedInst1(), [{ op: 'add', path: '/templates/t2', value: '{"body":"{}"}' }], NOW + 2000);
  const ids = materializeRegistrations(patched).map((r) => r.id);
  assert.deepEqual(ids.slice(0, 2), first.map((r) => r.id));
  assert.equal(new Set(ids).size, 3);
  assert.equal(ids[2], materializedRegistrationId('inst-1', 't2'));
  const other = parseInstallation({ platform: 'apns', pushChannel: TOKEN }, 'inst-2', NOW);
  assert.notEqual(materializeRegistrations(other)[0]?.id, first[0]?.id);
  // No separator trick makes two different (installation, template) pairs collide.
  assert.notEqual(materializedRegistrationId('a', 'b'), materializedRegistrationId('a\u0000b'));
  assert.notEqual(materializedRegistrationId('a', 'b'), materializedRegistrationId('a', undefined, 'b'));
  assert.match(materializedRegistrationId('odd:id@#.x', 'name/with/slashes'), ID);
});

test('each platform materialises its native and template kinds', () => {
  const cases: Array<[string, unknown, string, Record<string, unknown>]> = [
    ['apns', TOKEN, 'Apple', { platform: 'apns', value: TOKEN.toUpperCase() }],
    ['gcm', 'gcm-token', 'Gcm', { platform: 'gcm', value: 'gcm-token' }],
    ['fcmV1', 'fcm-token', 'FcmV1', { platform: 'fcmv1', value: 'fcm-token' }],
    ['adm', 'amzn1.adm-registration.v3.x', 'Adm', { platform: 'adm', value: 'amzn1.adm-registration.v3.x' }],
    ['xiaomi', 'mi-regid', 'Xiaomi', { platform: 'xiaomi', value: 'mi-regid' }],
    ['browser', { endpoint: 'https://push.example/x', p256dh: P256DH, auth: AUTH }, 'Browser', { platform: 'browser', value: 'https://push.example/x', p256dh: P256DH, auth: AUTH }],
    ['wns', WNS, 'Windows', { platform: 'wns', value: WNS }],
    ['mpns', 'https://mpns.example/ch', 'Mpns', { platform: 'mpns', value: 'https://mpns.example/ch' }],
  ];
  for (const [platform, pushChannel, kind, handle] of cases) {
    const headers = platform === 'wns' ? { 'X-WNS-Type': 'wns/toast' } : platform === 'mpns' ? { 'X-WindowsPhone-Target': 'toast' } : undefined;
    const body = platform === 'wns' || platform === 'mpns' ? TOAST : '{"m":"$(m)"}';
    const inst = parseInstallation({ platform, pushChannel, templates: { t: { body, headers } } }, 'i1', NOW);
    const [native, template] = materializeRegistrations(inst);
    assert.equal(native?.input.kind, kind, platform);
    assert.deepEqual(native?.input.handle, handle, platform);
    assert.equal(template?.input.kind, `${kind}Template`, platform);
    assert.deepEqual(template?.input.handle, handle, platform);
  }
});

test('template extras: expiry only for APNs, a name that is not a plain tag is not added as one', () => {
  const inst = parseInstallation({
    platform: 'apns',
    pushChannel: TOKEN,
    templates: {
      'Template Name': { body: '{}', expiry: '2018-11-07T16:18:32.6641371-08:00' },
      '$UserId:{victim}': { body: '{}' },
    },
  }, 'i1', NOW);
  const [, spaced, spoof] = materializeRegistrations(inst);
  assert.deepEqual(spaced?.input.template, { body: '{}', name: 'Template Name', expiry: '2018-11-07T16:18:32.6641371-08:00' });
  assert.deepEqual(spaced?.input.tags, ['$InstallationId:{i1}']);
  assert.deepEqual(spoof?.input.tags, ['$InstallationId:{i1}']);
  const fcm = parseInstallation({ platform: 'fcmv1', pushChannel: 'tok', templates: { t: { body: '{}', expiry: '0' } } }, 'i1', NOW);
  assert.deepEqual(materializeRegistrations(fcm)[1]?.input.template, { body: '{}', name: 't' });
});

test('pushVariables are copied to every registration; an expired channel still materialises', () => {
  const inst = { ...parseInstallation({ platform: 'gcm', pushChannel: 'tok', pushVariables: { v: '1' }, templates: { t: { body: '{}' } } }, 'i1', NOW), pushChannelExpired: true };
  const regs = materializeRegistrations(inst);
  assert.equal(regs.length, 2);
  for (const r of regs) assert.deepEqual(r.input.pushVariables, { v: '1' });
  regs[0]!.input.pushVariables!.v = 'changed';
  assert.equal(inst.pushVariables?.v, '1');
});

test('secondary tiles materialise as Windows registrations with the tile name and the tile tags', () => {
  const toast = { body: TOAST, headers: { 'X-WNS-Type': 'wns/toast' } };
  const inst = parseInstallation({
    platform: 'wns',
    pushChannel: WNS,
    userId: 'u',
    tags: ['main'],
    templates: { m: toast },
    secondaryTiles: { tileA: { pushChannel: `${WNS}A`, tags: ['sport'], templates: { s: { ...toast, tags: ['x'] } } } },
  }, 'w1', NOW);
  const regs = materializeRegistrations(inst);
  assert.deepEqual(regs.map((r) => r.input.kind), ['Windows', 'WindowsTemplate', 'Windows', 'WindowsTemplate']);
  assert.deepEqual(regs[2]?.input.handle, { platform: 'wns', value: `${WNS}A`, secondaryTileName: 'tileA' });
  assert.deepEqual(regs[2]?.input.tags, ['$InstallationId:{w1}', '$UserId:{u}', 'sport']);
  assert.deepEqual(regs[3]?.input.tags, ['$InstallationId:{w1}', '$UserId:{u}', 'sport', 'x', 's']);
  assert.deepEqual(regs[3]?.input.template, { body: TOAST, name: 's', headers: [{ name: 'X-WNS-Type', value: 'wns/toast' }] });
  assert.equal(regs[2]?.id, materializedRegistrationId('w1', undefined, 'tileA'));
  assert.equal(new Set(regs.map((r) => r.id)).size, 4);
});

test('a Baidu installation cannot be materialised (parseInstallation refuses it first)', () => {
  const fake = { ...capturedInst1(), platform: 'baidu' } as Installation;
  assert.throws(() => materializeRegistrations(fake), (err: unknown) => err instanceof HubError && err.code === 'invalid_request' && err.details?.reason === 'platform_not_supported');
});
