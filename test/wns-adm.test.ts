/**
 * Issue 14 items 5 and 6 end to end, in sandbox mode: the official client registers devices the emulators
 * handed out and sends; the connectors talk to the emulators; the management API shows each device's outcome.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NotificationHubsClient,
  createAdmNotification,
  createAdmRegistrationDescription,
  createBaiduNotification,
  createBaiduRegistrationDescription,
  createWindowsRegistrationDescription,
  createWindowsToastNotification,
  createXiaomiNotification,
  createXiaomiRegistrationDescription,
} from '@azure/notification-hubs';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

const TOAST = '<toast><visual><binding template="ToastGeneric"><text>hello windows</text></binding></visual></toast>';

describe('WNS and ADM through the sandbox emulators (#14 items 5, 6)', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());

  const outcomes = async (id: string) => (await h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes`)).body.items as Array<Record<string, any>>;

  test('WNS: the Entra-credentialed toast is delivered and its outcome keeps X-WNS-Status, X-WNS-DeviceConnectionStatus and X-WNS-Msg-ID', async () => {
    const creds = (await h.admin('GET', '/hubs/sandbox/credentials/wns')).body;
    assert.ok(creds.summary.tenantId, 'the sandbox uses the Microsoft Entra flow');
    const channel = await emulatorCall(h, 'wns', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createWindowsRegistrationDescription({ channelUri: channel.channelUri, tags: ['wns-status'] }));
    const res = await client.sendNotification(createWindowsToastNotification({ body: TOAST }), { tagExpression: 'wns-status' });
    await h.settle();
    const got = (await emulatorCall(h, 'wns', `/_emulator/deliveries?handle=${encodeURIComponent(channel.handle)}`)).deliveries;
    assert.equal(got.length, 1);
    assert.equal(got[0].headers['x-wns-requestforstatus'], 'true');
    const [o] = await outcomes(res.notificationId!);
    assert.equal(o!.outcome, 'Success');
    assert.equal(o!.pns['X-WNS-Status'], 'received');
    assert.equal(o!.pns['X-WNS-DeviceConnectionStatus'], 'connected');
    assert.match(o!.pns['X-WNS-Msg-ID'], /^[0-9A-F]{16}$/);
  });

  const admDeliveries = async (id: string) => (await emulatorCall(h, 'adm', `/_emulator/deliveries?handle=${encodeURIComponent(id)}`)).deliveries as Array<{ payload: string; headers: Record<string, string> }>;

  test('ADM credentials through the management API: checked, summarised without the secret; bad ones refused and nothing stored', async () => {
    await h.admin('POST', '/hubs', { name: 'kindle' });
    await h.admin('DELETE', '/hubs/kindle/credentials/adm');
    for (const [body, field] of [
      [{ clientSecret: 'secret' }, 'clientId'],
      [{ clientId: 'amzn1.application-oa2-client.x' }, 'clientSecret'],
      [{ clientId: 'has space', clientSecret: 'secret' }, 'clientId'],
      [{ clientId: 'amzn1.application-oa2-client.x', clientSecret: 's', endpoint: 'ftp://x' }, 'endpoint'],
    ] as const) {
      const r = await h.admin('PUT', '/hubs/kindle/credentials/adm', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_credentials');
      assert.match(r.body.error.message, new RegExp(`${field}: `));
    }
    assert.equal((await h.admin('GET', '/hubs/kindle/credentials/adm')).status, 404, 'nothing stored');
    const set = await h.admin('PUT', '/hubs/kindle/credentials/ADM', { clientId: 'amzn1.application-oa2-client.0123', clientSecret: 'adm-secret-value' });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.platform, 'adm');
    assert.equal(set.body.summary.clientId, 'amzn1.application-oa2-client.0123');
    assert.match(set.body.summary.secretFingerprint, /^sha256:[0-9a-f]{16}$/);
    assert.ok(!JSON.stringify((await h.admin('GET', '/hubs/kindle/credentials')).body).includes('adm-secret-value'));
  });

  test('ADM: a registration made with the official client receives the send; its outcome is Success (no longer PnsUnavailable)', async () => {
    const device = await emulatorCall(h, 'adm', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createAdmRegistrationDescription({ admRegistrationId: device.registrationId, tags: ['kindle-ok'] }));
    const res = await client.sendNotification(createAdmNotification({ body: { data: { message: 'hello kindle' }, consolidationKey: 'greeting', expiresAfter: 3600 } }), { tagExpression: 'kindle-ok' });
    await h.settle();
    const got = await admDeliveries(device.registrationId);
    assert.equal(got.length, 1);
    const body = JSON.parse(got[0]!.payload);
    assert.deepEqual(body.data, { message: 'hello kindle' });
    assert.equal(body.consolidationKey, 'greeting');
    assert.ok(body.md5);
    const [o] = await outcomes(res.notificationId!);
    assert.equal(o!.platform, 'adm');
    assert.equal(o!.outcome, 'Success');
    assert.deepEqual((await client.getNotificationOutcomeDetails(res.notificationId!)).admOutcomeCounts, [{ state: 'Success', count: 1 }]);
  });

  test('ADM: an unregistered app instance (410) removes its registration and is kept as feedback', async () => {
    const dead = await emulatorCall(h, 'adm', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createAdmRegistrationDescription({ admRegistrationId: dead.registrationId, tags: ['kindle-dead'] }));
    await emulatorCall(h, 'adm', `/_emulator/devices/${encodeURIComponent(dead.registrationId)}/expire`, 'POST', {});
    const res = await client.sendNotification(createAdmNotification({ body: { data: { message: 'x' } } }), { tagExpression: 'kindle-dead' });
    await h.settle();
    const [o] = await outcomes(res.notificationId!);
    assert.equal(o!.outcome, 'ExpiredChannel');
    assert.equal(o!.reason, 'HTTP 410: Unregistered');
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?tagExpression=kindle-dead&count=true')).body.total, 0);
    const feedback = (await h.admin('GET', '/hubs/sandbox/feedback')).body.items as Array<Record<string, string>>;
    assert.ok(feedback.some((f) => f.platform === 'adm' && f.handle === dead.registrationId && f.error === 'ExpiredChannel'));
  });

  test('ADM: 429 TooManyRequests with Retry-After is retried after that long and then delivered once', async () => {
    const device = await emulatorCall(h, 'adm', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createAdmRegistrationDescription({ admRegistrationId: device.registrationId, tags: ['kindle-busy'] }));
    await emulatorCall(h, 'adm', '/_emulator/faults', 'POST', { status: 429, retryAfter: 20, count: 1 });
    const start = clock.now();
    const res = await client.sendNotification(createAdmNotification({ body: { data: { message: 'later' } } }), { tagExpression: 'kindle-busy' });
    await h.settle({ horizonMs: 60_000 });
    assert.equal((await admDeliveries(device.registrationId)).length, 1);
    assert.ok(clock.now() - start >= 20_000, 'not before Retry-After');
    const [o] = await outcomes(res.notificationId!);
    assert.equal(o!.outcome, 'Success');
    assert.equal(o!.attempts, 2);
  });

  test('ADM: wrong credentials reject every device InvalidCredentials and nothing reaches the emulator', async () => {
    const adm = await emulatorCall(h, 'adm', '/_emulator/credentials', 'POST', {});
    await h.admin('POST', '/hubs', { name: 'kindle-bad' });
    assert.equal((await h.admin('PUT', '/hubs/kindle-bad/credentials/adm', { clientId: adm.clientId, clientSecret: 'not-the-secret', endpoint: h.emulatorUrls!.adm })).status, 200);
    const device = await emulatorCall(h, 'adm', '/_emulator/devices', 'POST', {});
    const cs = (await h.connectionStrings('kindle-bad')).full.replace(/Endpoint=sb:\/\/[^/]+\//, `Endpoint=${h.httpUrl}/`);
    const bad = new NotificationHubsClient(cs, 'kindle-bad', allowHttpPolicy as never);
    const res = await bad.sendNotification(createAdmNotification({ body: { data: { m: 'x' } } }), { deviceHandle: device.registrationId });
    await h.settle();
    const [o] = (await h.admin('GET', `/hubs/kindle-bad/messages/${res.notificationId}/outcomes`)).body.items;
    assert.equal(o.outcome, 'InvalidCredentials');
    assert.match(o.reason, /^ADM token endpoint: HTTP 401 invalid_client/);
    assert.equal((await admDeliveries(device.registrationId)).length, 0);
  });

  test('Baidu and Xiaomi are registration-only: a send records PnsUnavailable with a reason that says so', async () => {
    await client.createRegistration(createBaiduRegistrationDescription({ baiduChannelId: 'ch-1', baiduUserId: 'user-1', tags: ['china'] }));
    await client.createRegistration(createXiaomiRegistrationDescription({ xiaomiRegistrationId: 'mi-reg-1', tags: ['china'] }));
    const baidu = await client.sendNotification(createBaiduNotification({ body: { title: 't', description: 'd' } }), { tagExpression: 'china' });
    const xiaomi = await client.sendNotification(createXiaomiNotification({ body: { title: 't' } as never }), { tagExpression: 'china' });
    await h.settle();
    const [b] = await outcomes(baidu.notificationId!);
    assert.equal(b!.platform, 'baidu');
    assert.equal(b!.outcome, 'PnsUnavailable');
    assert.match(b!.reason, /^registration-only: Herald stores Baidu registrations but does not send to Baidu Cloud Push/);
    const [x] = await outcomes(xiaomi.notificationId!);
    assert.equal(x!.outcome, 'PnsUnavailable');
    assert.match(x!.reason, /^registration-only: Herald stores Xiaomi registrations but does not send to Mi Push/);
    assert.deepEqual((await client.getNotificationOutcomeDetails(baidu.notificationId!)).baiduOutcomeCounts, [{ state: 'PnsUnavailable', count: 1 }]);
  });
});
