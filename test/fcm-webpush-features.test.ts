/**
 * Issue 14 items 3, 4 and 7 end to end: the official Azure client registers devices minted by the FCM and
 * Web Push emulators and sends through Herald; the emulators check what arrives as the vendors do.
 * FCM installation ids (fid:<FID>), AndroidConfig flags, messages that name their own target; Web Push
 * TTL/Urgency/Topic, Topic replacement at the push service, Declarative Web Push, Apple's endpoints; the
 * notification id as collapse key and Topic.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  NotificationHubsClient,
  createBrowserInstallation,
  createBrowserNotification,
  createBrowserRegistrationDescription,
  createFcmV1Installation,
  createFcmV1Notification,
  createFcmV1RegistrationDescription,
  createFcmV1TemplateRegistrationDescription,
  createTemplateNotification,
} from '@azure/notification-hubs';
import { collapseTopic } from '../src/pns/webpush/webpush-payload.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

type Delivery = { payload: string; headers: Record<string, string> };

describe('FCM installation ids, Web Push headers and collapse ids (#14 items 3, 4, 7)', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  before(async () => {
    h = await startTestHerald();
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());

  const deliveries = async (platform: 'fcmv1' | 'browser', handle: string): Promise<Delivery[]> =>
    (await emulatorCall(h, platform, `/_emulator/deliveries?handle=${encodeURIComponent(handle)}`)).deliveries;
  const notifications = (): number => {
    const db = new Database(join(h.dataDir, 'herald.db'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM notifications').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const registrationsTagged = async (tag: string): Promise<number> => (await h.admin('GET', `/hubs/sandbox/registrations?tagExpression=${encodeURIComponent(tag)}&count=true`)).body.total;
  const is400 = (detail: RegExp) => (e: { statusCode?: number; message: string }) => e.statusCode === 400 && detail.test(e.message);

  test('a FID registers as fid:<FID> (registration and installation) and is sent as message.fid with the notification id as collapse_key', async () => {
    const a = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', { kind: 'fid' });
    const b = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', { kind: 'fid' });
    assert.match(a.handle, /^fid:[cdef][A-Za-z0-9_-]{21}$/);
    await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: a.handle, tags: ['fid-user'] }));
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'fid-install-1', pushChannel: b.handle, tags: ['fid-user'] }));
    assert.equal((await client.getInstallation('fid-install-1')).pushChannel, b.handle);

    const res = await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { notification: { title: 'hi' }, android: { direct_boot_ok: true, bandwidth_constrained_ok: true, restricted_satellite_ok: false } } }) }), { tagExpression: 'fid-user' });
    await h.settle();
    for (const device of [a, b]) {
      const [d] = await deliveries('fcmv1', device.handle);
      const message = JSON.parse(d!.payload);
      assert.equal(message.fid, device.fid);
      assert.equal(message.token, undefined);
      assert.deepEqual(message.android, { direct_boot_ok: true, bandwidth_constrained_ok: true, restricted_satellite_ok: false, collapse_key: res.notificationId });
    }
    const details = await client.getNotificationOutcomeDetails(res.notificationId!);
    assert.deepEqual(details.fcmV1OutcomeCounts, [{ state: 'Success', count: 2 }]);

    // A direct send to a fid: handle (ServiceBusNotification-DeviceHandle) goes the same way.
    const direct = await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { direct: '1' } } }) }), { deviceHandle: a.handle });
    await h.settle();
    const last = JSON.parse((await deliveries('fcmv1', a.handle)).at(-1)!.payload);
    assert.deepEqual(last, { data: { direct: '1' }, android: { collapse_key: direct.notificationId }, fid: a.fid });
  });

  test('a bare FID, a malformed fid: handle and a FID for FCM legacy are refused with 400; nothing is stored', async () => {
    const { fid } = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', { kind: 'fid' });
    await assert.rejects(client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: fid, tags: ['bare-fid'] })), is400(new RegExp(`register it as fid:${fid}`)));
    await assert.rejects(client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: 'fid:tooShort', tags: ['bare-fid'] })), is400(/Firebase installation id/));
    await assert.rejects(client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'bare-fid-1', pushChannel: fid, tags: ['bare-fid'] })), is400(/register it as fid:/));
    assert.equal(await registrationsTagged('bare-fid'), 0);
    await assert.rejects(client.getInstallation('bare-fid-1'), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('an FCM message naming its own token, topic, condition or fid is refused with 400 on every send surface; nothing is queued or sent', async () => {
    const before = notifications();
    const fcmRequests = (await emulatorCall(h, 'fcmv1', '/_emulator/stats')).requests ?? 0;
    const token = (await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})).token as string;
    for (const key of ['token', 'topic', 'condition', 'fid']) {
      const body = JSON.stringify({ message: { [key]: key === 'condition' ? "'a' in topics" : 'someone', data: { a: 'b' } } });
      const detail = new RegExp(`sets '${key}'; remove it`);
      await assert.rejects(client.sendNotification(createFcmV1Notification({ body }), { tagExpression: 'anyone' }), is400(detail), `tag send with ${key}`);
      await assert.rejects(client.sendBroadcastNotification(createFcmV1Notification({ body })), is400(detail), `broadcast with ${key}`);
      await assert.rejects(client.sendNotification(createFcmV1Notification({ body }), { deviceHandle: token }), is400(detail), `direct send with ${key}`);
      await assert.rejects(client.scheduleNotification(new Date(Date.now() + 3600_000), createFcmV1Notification({ body }), { tagExpression: 'anyone' }), is400(detail), `scheduled send with ${key}`);
    }
    await assert.rejects(client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { android: { direct_boot_ok: 'yes' } } }) }), { tagExpression: 'anyone' }), is400(/direct_boot_ok must be true or false/));
    assert.equal(notifications(), before, 'nothing stored');
    assert.equal((await emulatorCall(h, 'fcmv1', '/_emulator/stats')).requests ?? 0, fcmRequests, 'FCM saw no send');
  });

  test('an FCM v1 template (registration or installation) naming its own target is refused with 400; nothing is stored', async () => {
    const token = (await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})).token as string;
    const bodyTemplate = JSON.stringify({ message: { token: '$(who)', notification: { title: '$(title)' } } });
    await assert.rejects(client.createRegistration(createFcmV1TemplateRegistrationDescription({ fcmV1RegistrationId: token, bodyTemplate, tags: ['tpl-target'] })), is400(/sets 'token'; remove it/));
    await assert.rejects(
      client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'tpl-target-1', pushChannel: token, templates: { t: { body: JSON.stringify({ message: { topic: 'news' } }), headers: {}, tags: ['tpl-target'] } } })),
      is400(/sets 'topic'; remove it/),
    );
    assert.equal(await registrationsTagged('tpl-target'), 0);
  });

  test('an FCM v1 template stored before the rule whose rendering names a target is not sent: that device is PnsInterfaceError', async () => {
    const token = (await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})).token as string;
    const ok = (await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})).token as string;
    const bodyTemplate = JSON.stringify({ message: { notification: { title: '$(title)' } } });
    const old = await client.createRegistration(createFcmV1TemplateRegistrationDescription({ fcmV1RegistrationId: token, bodyTemplate, tags: ['old-template'] }));
    await client.createRegistration(createFcmV1TemplateRegistrationDescription({ fcmV1RegistrationId: ok, bodyTemplate, tags: ['old-template'] }));
    // What an older Herald let through: the stored template now names a topic (written under the API).
    const db = new Database(join(h.dataDir, 'herald.db'));
    try {
      const changed = db.prepare("UPDATE registrations SET document = replace(document, '\\\"notification\\\"', '\\\"topic\\\":\\\"news\\\",\\\"notification\\\"') WHERE id = ?").run(old.registrationId);
      assert.equal(changed.changes, 1);
    } finally {
      db.close();
    }
    const res = await client.sendNotification(createTemplateNotification({ body: { title: 'hi' } }), { tagExpression: 'old-template' });
    await h.settle();
    assert.equal((await deliveries('fcmv1', token)).length, 0, 'not sent to FCM');
    assert.equal((await deliveries('fcmv1', ok)).length, 1);
    const outcomes = (await h.admin('GET', `/hubs/sandbox/messages/${res.notificationId}/outcomes`)).body.items as Array<{ handle: string; outcome: string; reason: string }>;
    const bad = outcomes.find((o) => o.handle === token)!;
    assert.equal(bad.outcome, 'PnsInterfaceError');
    assert.match(bad.reason, /sets its own 'topic'/);
  });

  test('Web Push: TTL, Urgency and Topic reach the push service; a newer push with the same Topic replaces the pending one', async () => {
    const web = await emulatorCall(h, 'browser', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createBrowserRegistrationDescription({ endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth, tags: ['scores'] }));
    await emulatorCall(h, 'browser', `/_emulator/devices/${encodeURIComponent(web.handle)}/state`, 'POST', { online: false });
    for (const score of ['1-0', '2-0']) {
      await client.sendNotification(createBrowserNotification({ body: JSON.stringify({ score }), headers: { TTL: '600', Urgency: 'high', Topic: 'match-7' } }), { tagExpression: 'scores' });
      await h.settle();
    }
    const held = await emulatorCall(h, 'browser', `/_emulator/pending?handle=${encodeURIComponent(web.handle)}`);
    assert.deepEqual(held.pending.map((p: { payload: string }) => p.payload), [JSON.stringify({ score: '2-0' })]);
    assert.equal(held.replaced, 1);
    await emulatorCall(h, 'browser', `/_emulator/devices/${encodeURIComponent(web.handle)}/state`, 'POST', { online: true });
    const got = await deliveries('browser', web.handle);
    assert.deepEqual(got.map((d) => d.payload), [JSON.stringify({ score: '2-0' })], 'the device shows only the latest score');
    assert.equal(got[0]!.headers.ttl, '600');
    assert.equal(got[0]!.headers.urgency, 'high');
    assert.equal(got[0]!.headers.topic, 'match-7');

    // Without a Topic of the send's, Herald sets one from the notification id (item 7).
    const res = await client.sendNotification(createBrowserNotification({ body: '{"n":1}' }), { tagExpression: 'scores' });
    await h.settle();
    assert.equal((await deliveries('browser', web.handle)).at(-1)!.headers.topic, collapseTopic(res.notificationId!));

    for (const [headers, detail] of [[{ Topic: 'x'.repeat(33) }, /Topic .*at most 32 characters/i], [{ Urgency: 'urgent' }, /very-low, low, normal or high/], [{ TTL: '99999999' }, /0 to 2419200/]] as const) {
      await assert.rejects(client.sendNotification(createBrowserNotification({ body: '{}', headers: { ...headers } }), { tagExpression: 'scores' }), is400(detail));
    }
  });

  test('Declarative Web Push: a valid body is delivered as sent; one without navigate or title, or with web_push other than 8030, is 400', async () => {
    const web = await emulatorCall(h, 'browser', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createBrowserRegistrationDescription({ endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth, tags: ['declarative'] }));
    const good = JSON.stringify({ web_push: 8030, notification: { title: 'Order shipped', body: 'Track it', navigate: 'https://shop.example/orders/7', lang: 'en' }, app_badge: 2 });
    await client.sendNotification(createBrowserNotification({ body: good }), { tagExpression: 'declarative' });
    await h.settle();
    assert.equal((await deliveries('browser', web.handle))[0]!.payload, good);
    const before = notifications();
    for (const [body, detail] of [
      [{ web_push: 8030, notification: { title: 'no navigate' } }, /notification\.navigate is required/],
      [{ web_push: 8030, notification: { navigate: '/x' } }, /notification\.title is required/],
      [{ web_push: 9001, notification: { title: 't', navigate: '/x' } }, /web_push must be the number 8030/],
    ] as const) {
      await assert.rejects(client.sendNotification(createBrowserNotification({ body: JSON.stringify(body) }), { tagExpression: 'declarative' }), is400(detail));
    }
    assert.equal(notifications(), before, 'nothing stored');
  });

});

describe("Apple's Web Push endpoints outside sandbox mode (#14 item 4)", () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  before(async () => {
    h = await startTestHerald({ sandbox: false, 'tls.mode': 'off' });
    assert.equal((await h.admin('POST', '/hubs', { name: 'sandbox' })).status, 201);
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());
  const registrationsTagged = async (tag: string): Promise<number> => (await h.admin('GET', `/hubs/sandbox/registrations?tagExpression=${encodeURIComponent(tag)}&count=true`)).body.total;
  /** A subscription's keys: an uncompressed P-256 point and a 16-byte secret. */
  const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
  const AUTH = Buffer.alloc(16, 9).toString('base64url');

  test("Apple's Web Push endpoints (web.push.apple.com) are accepted for registrations and installations", async () => {
    const keys = { p256dh: P256DH, auth: AUTH };
    const endpoint = 'https://web.push.apple.com/QGuQyavXutnMH9YGz0hiqSxOVLZqZxsjqEHE';
    const reg = await client.createRegistration(createBrowserRegistrationDescription({ endpoint, p256dh: keys.p256dh, auth: keys.auth, tags: ['safari'] }));
    assert.equal((reg as { endpoint?: string }).endpoint, endpoint);
    await client.createOrUpdateInstallation(createBrowserInstallation({ installationId: 'safari-1', pushChannel: { endpoint, p256dh: keys.p256dh, auth: keys.auth }, tags: ['safari'] }));
    assert.equal(await registrationsTagged('safari'), 2);
    await assert.rejects(
      client.createRegistration(createBrowserRegistrationDescription({ endpoint: 'http://web.push.apple.com/QGuQ', p256dh: keys.p256dh, auth: keys.auth, tags: ['safari'] })),
      (e: { statusCode?: number }) => e.statusCode === 400,
    );
  });
});
