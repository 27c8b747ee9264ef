/**
 * Sends end to end in sandbox mode: the official client registers devices minted by the emulators and
 * sends; the emulators receive the pushes; telemetry, test sends, direct and batch sends, templates,
 * scheduling and feedback behave as wire spec §7 to §10 say.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NotificationHubsClient,
  createAppleInstallation,
  createAppleNotification,
  createAppleRegistrationDescription,
  createAppleTemplateRegistrationDescription,
  createBrowserRegistrationDescription,
  createBrowserNotification,
  createFcmV1RegistrationDescription,
  createFcmV1Notification,
  createTemplateNotification,
  createWindowsRawNotification,
  createWindowsToastNotification,
} from '@azure/notification-hubs';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

describe('sends through the sandbox emulators', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let apple: { handle: string };
  let fcm: { handle: string; token: string };
  let web: { handle: string; endpoint: string; keys: { p256dh: string; auth: string } };
  // The hub's timers (schedules, retries, request timeouts) run on virtual time: the tests move it.
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    apple = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    fcm = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    web = await emulatorCall(h, 'browser', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createAppleRegistrationDescription({ deviceToken: apple.handle, tags: ['UserId:1', 'Event:Comment'] }));
    await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: fcm.token, tags: ['UserId:1'] }));
    await client.createRegistration(createBrowserRegistrationDescription({ endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth, tags: ['UserId:2', 'Event:Comment'] }));
  });
  after(() => h.close());

  const deliveries = async (platform: 'apns' | 'fcmv1' | 'browser', handle: string) =>
    (await emulatorCall(h, platform, `/_emulator/deliveries?handle=${encodeURIComponent(handle)}`)).deliveries as Array<{ payload: string; headers: Record<string, string> }>;

  test('T16, T27: a tag-expression send reaches exactly the matching device; telemetry counts it', async () => {
    const res = await client.sendNotification(createAppleNotification({ body: { aps: { alert: 'comment for user 1' } }, headers: { 'apns-push-type': 'alert', 'apns-priority': '10' } }), { tagExpression: 'UserId:1 && Event:Comment' });
    assert.ok(res.notificationId);
    await h.settle();
    const got = await deliveries('apns', apple.handle);
    assert.equal(got.length, 1);
    assert.deepEqual(JSON.parse(got[0]!.payload), { aps: { alert: 'comment for user 1' } });
    const details = await client.getNotificationOutcomeDetails(res.notificationId!);
    assert.equal(details.state, 'Completed');
    assert.deepEqual(details.apnsOutcomeCounts, [{ state: 'Success', count: 1 }]);
    assert.equal((await deliveries('browser', web.handle)).length, 0, 'the browser device is UserId:2');
  });

  test('T18: a broadcast FCM v1 send reaches the FCM device only', async () => {
    const res = await client.sendBroadcastNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { text: 'to everyone' } } }) }));
    await h.settle();
    const got = await deliveries('fcmv1', fcm.handle);
    assert.equal(got.length, 1);
    const details = await client.getNotificationOutcomeDetails(res.notificationId!);
    assert.deepEqual(details.fcmV1OutcomeCounts, [{ state: 'Success', count: 1 }]);
  });

  test('T19: a template send renders each device its own payload', async () => {
    const t = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    await client.createRegistration(createAppleTemplateRegistrationDescription({ deviceToken: t.handle, tags: ['templated'], bodyTemplate: '{"aps":{"alert":"$(message)","badge":"#(count)"}}', templateName: 'alert' }));
    await client.sendNotification(createTemplateNotification({ body: { message: 'hi there', count: '3' } }), { tagExpression: 'templated' });
    await h.settle();
    const got = await deliveries('apns', t.handle);
    assert.deepEqual(JSON.parse(got[0]!.payload), { aps: { alert: 'hi there', badge: 3 } });
  });

  test('T20: a test send answers the outcomes of at most 10 devices', async () => {
    const res = await client.sendNotification(createBrowserNotification({ body: JSON.stringify({ title: 'test' }) }), { tagExpression: 'Event:Comment', enableTestSend: true });
    assert.equal(res.state, 'DetailedStateAvailable');
    assert.equal(res.successCount, 1);
    assert.equal(res.results?.[0]?.pnsHandle, web.endpoint);
  });

  test('T22: a direct WNS toast and a raw notification reach the channel with their X-WNS-Type', async () => {
    const channel = await emulatorCall(h, 'wns', '/_emulator/devices', 'POST', {});
    await client.sendNotification(createWindowsToastNotification({ body: '<toast><visual><binding template="ToastGeneric"><text>hello windows</text></binding></visual></toast>' }), { deviceHandle: channel.channelUri });
    await client.sendNotification(createWindowsRawNotification({ body: 'raw bytes' }), { deviceHandle: channel.channelUri });
    await h.settle();
    const got = (await emulatorCall(h, 'wns', `/_emulator/deliveries?handle=${encodeURIComponent(channel.handle)}`)).deliveries as Array<{ payload: string; headers: Record<string, string> }>;
    assert.equal(got.length, 2);
    assert.match(got[0]!.payload, /hello windows/);
    assert.equal(got[0]!.headers['x-wns-type'], 'wns/toast');
    assert.equal(got[1]!.payload, 'raw bytes');
    assert.equal(got[1]!.headers['x-wns-type'], 'wns/raw');
  });

  test('T23, T24: direct and batch direct sends', async () => {
    await client.sendNotification(createBrowserNotification({ body: JSON.stringify({ title: 'direct' }) }), { deviceHandle: { endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth } });
    const second = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { a: 'b' } } }) }), { deviceHandle: [fcm.token, second.token] });
    await h.settle();
    assert.ok((await deliveries('browser', web.handle)).some((d) => d.payload === JSON.stringify({ title: 'direct' })));
    assert.equal((await deliveries('fcmv1', second.handle)).length, 1);
  });

  test('T25, T26: a scheduled send fires at its time; a cancelled one never does', async () => {
    const device = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: device.token, tags: ['scheduled'] }));
    const at = new Date(clock.now() + 60_000);
    const keep = await client.scheduleNotification(at, createFcmV1Notification({ body: JSON.stringify({ message: { data: { n: 'kept' } } }) }), { tagExpression: 'scheduled' });
    const drop = await client.scheduleNotification(at, createFcmV1Notification({ body: JSON.stringify({ message: { data: { n: 'dropped' } } }) }), { tagExpression: 'scheduled' });
    await client.cancelScheduledNotification(drop.notificationId!);
    await clock.advanceAsync(30_000);
    await h.settle();
    assert.equal((await deliveries('fcmv1', device.handle)).length, 0, 'not before its time');
    await clock.advanceAsync(30_000);
    await h.settle();
    const got = await deliveries('fcmv1', device.handle);
    assert.equal(got.length, 1);
    assert.match(got[0]!.payload, /kept/);
    assert.equal((await client.getNotificationOutcomeDetails(drop.notificationId!)).state, 'Cancelled');
    assert.equal((await client.getNotificationOutcomeDetails(keep.notificationId!)).state, 'Completed');
  });

  test('an expired handle removes its registration, marks an installation, and is kept as feedback', async () => {
    const dead = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    const inst = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    await client.createRegistration(createAppleRegistrationDescription({ deviceToken: dead.handle, tags: ['doomed'] }));
    await client.createOrUpdateInstallation(createAppleInstallation({ installationId: 'doomed-inst', pushChannel: inst.handle, tags: ['doomed'] }));
    await emulatorCall(h, 'apns', `/_emulator/devices/${dead.handle}/expire`, 'POST', {});
    await emulatorCall(h, 'apns', `/_emulator/devices/${inst.handle}/expire`, 'POST', {});
    const res = await client.sendNotification(createAppleNotification({ body: { aps: { alert: 'x' } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'doomed' });
    await h.settle();
    const details = await client.getNotificationOutcomeDetails(res.notificationId!);
    assert.equal(details.apnsOutcomeCounts?.reduce((n, c) => n + c.count, 0), 2);
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?tagExpression=doomed&count=true')).body.total, 0);
    assert.equal((await client.getInstallation('doomed-inst')).pushChannelExpired, true);
    const outcomes = (await h.admin('GET', `/hubs/sandbox/messages/${res.notificationId}/outcomes`)).body.items;
    assert.equal(outcomes.length, 2);
    assert.ok(outcomes.every((o: { outcome: string; reason: string }) => o.outcome !== 'Success' && o.reason));
    const url = await client.getFeedbackContainerUrl();
    const feedback = await fetch(url.replace(/^https:\/\/[^/]+/, h.httpUrl!)).then((r) => r.text());
    assert.equal((feedback.match(/<PnsFeedback/g) ?? []).length, 2);
    assert.match(feedback, new RegExp(dead.handle.toUpperCase()));
  });

  test('under 20% injected 503 and 429 with Retry-After, every target is delivered exactly once and counted once', { timeout: 120_000 }, async () => {
    const devices = await Promise.all(Array.from({ length: 60 }, () => emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})));
    for (const d of devices) await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: d.token, tags: ['faulty'] }));
    await emulatorCall(h, 'fcmv1', '/_emulator/faults', 'POST', { status: 503, share: 0.1, retryAfter: 1 });
    await emulatorCall(h, 'fcmv1', '/_emulator/faults', 'POST', { status: 429, share: 0.1, retryAfter: 1 });
    try {
      const res = await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { n: 'through faults' } } }) }), { tagExpression: 'faulty' });
      // Retries fall due after Retry-After and backoff on the hub's clock; settle moves it to each of them,
      // through the whole 30-minute retry window if need be.
      await h.settle({ horizonMs: 30 * 60_000 });
      const details = await client.getNotificationOutcomeDetails(res.notificationId!);
      assert.equal(details.state, 'Completed');
      assert.deepEqual(details.fcmV1OutcomeCounts, [{ state: 'Success', count: 60 }], 'retried targets are counted once, as delivered');
      const stats = await emulatorCall(h, 'fcmv1', '/_emulator/stats');
      assert.ok((stats.byStatus['503'] ?? 0) + (stats.byStatus['429'] ?? 0) > 0, 'the faults did hit');
      for (const d of devices) assert.equal((await deliveries('fcmv1', d.handle)).length, 1, 'exactly once');
      const outcomes = (await h.admin('GET', `/hubs/sandbox/messages/${res.notificationId}/outcomes?top=1000`)).body.items as Array<{ outcome: string; attempts: number }>;
      assert.equal(outcomes.length, 60);
      assert.ok(outcomes.every((o) => o.outcome === 'Success'));
      assert.ok(outcomes.some((o) => o.attempts > 1), 'some needed another attempt');
    } finally {
      await emulatorCall(h, 'fcmv1', '/_emulator/faults', 'DELETE');
    }
  });

  test('bad sends are refused with 400 and nothing is queued', async () => {
    await assert.rejects(client.sendNotification(createAppleNotification({ body: { aps: { alert: 'x' } } }), { tagExpression: 'a && (b' }), (e: { statusCode?: number; message: string }) => e.statusCode === 400 && /position/.test(e.message));
    const seven = Array.from({ length: 7 }, (_, i) => `t${i}`).join(' && ');
    await assert.rejects(client.sendNotification(createAppleNotification({ body: { aps: {} } }), { tagExpression: seven }), (e: { statusCode?: number }) => e.statusCode === 400);
    await assert.rejects(client.getNotificationOutcomeDetails('no-such-notification'), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('per-device outcomes page with sealed continuation tokens; a tampered, foreign or bare-number token is 400 invalid_continuation_token (#11 cursors)', async () => {
    const devices = await Promise.all(Array.from({ length: 5 }, () => emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})));
    for (const d of devices) await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: d.token, tags: ['paged'] }));
    const body = createFcmV1Notification({ body: JSON.stringify({ message: { data: { n: 'paged' } } }) });
    const first = await client.sendNotification(body, { tagExpression: 'paged' });
    const other = await client.sendNotification(body, { tagExpression: 'paged' });
    await h.settle();
    const outcomes = (id: string, query: string) => h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes?${query}`);
    const handles: string[] = [];
    let token: string | undefined;
    const tokens: string[] = [];
    do {
      const page = await outcomes(first.notificationId!, `top=2${token === undefined ? '' : `&continuationToken=${encodeURIComponent(token)}`}`);
      assert.equal(page.status, 200);
      handles.push(...page.body.items.map((o: { handle: string }) => o.handle));
      token = page.body.continuationToken;
      if (token !== undefined) tokens.push(token);
    } while (token !== undefined);
    assert.deepEqual([...handles].sort(), devices.map((d) => d.token).sort(), 'every device once');
    assert.equal(tokens.length, 2);
    const refused = async (id: string, query: string, what: string) => {
      const r = await outcomes(id, query);
      assert.equal(r.status, 400, what);
      assert.equal(r.body.error.code, 'invalid_continuation_token', what);
    };
    const t = tokens[0]!;
    await refused(first.notificationId!, `top=2&continuationToken=${encodeURIComponent(t.slice(0, -2) + (t.endsWith('AA') ? 'BB' : 'AA'))}`, 'tampered');
    await refused(other.notificationId!, `top=2&continuationToken=${encodeURIComponent(t)}`, "another notification's");
    await refused(first.notificationId!, `top=2&outcome=Success&continuationToken=${encodeURIComponent(t)}`, 'another filter');
    await refused(first.notificationId!, 'top=2&continuationToken=2', 'a bare position, as tokens were before');
  });
});
