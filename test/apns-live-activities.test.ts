/**
 * Issue 14 items 1 and 7 end to end: Live Activity tokens registered through the Azure surface (installations
 * tagged `apns:liveactivity`), sends that reach "user 42's running activity" by tag with the right push type,
 * topic and priority, the APNs emulator's answers for wrong input, the edge's 400s, and apns-collapse-id set
 * from the notification id.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationHubsClient, createAppleInstallation, createAppleNotification, createTemplateNotification } from '@azure/notification-hubs';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

const TOPIC = 'com.example.app';
const now = () => Math.floor(Date.now() / 1000);

describe('APNs push types and Live Activity tokens through the Azure surface', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let phone: { handle: string };
  let activity: { handle: string };
  let starter: { handle: string };
  const clock = new ManualClock(Date.now());

  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    phone = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: TOPIC });
    activity = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: TOPIC, kind: 'liveactivity' });
    starter = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: TOPIC, kind: 'pushtostart' });
    // The app registers its device token, the running activity's token and its push-to-start token.
    await client.createOrUpdateInstallation(createAppleInstallation({ installationId: 'phone-42', pushChannel: phone.handle, userId: '42', tags: ['news'] }));
    await client.createOrUpdateInstallation(createAppleInstallation({ installationId: 'phone-42-order-981', pushChannel: activity.handle, userId: '42', tags: ['apns:liveactivity', 'activity:order-981'] }));
    await client.createOrUpdateInstallation(createAppleInstallation({ installationId: 'phone-42-start', pushChannel: starter.handle, userId: '42', tags: ['apns:liveactivity', 'pushtostart:delivery'] }));
  });
  after(() => h.close());

  const deliveries = async (handle: string) =>
    (await emulatorCall(h, 'apns', `/_emulator/deliveries?handle=${encodeURIComponent(handle)}`)).deliveries as Array<{ payload: string; headers: Record<string, string> }>;
  const outcomes = async (id: string) => (await h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes`)).body.items as Array<{ handle: string; outcome: string; reason: string }>;
  const send = async (body: unknown, tagExpression: string, headers: Record<string, string> = {}) => {
    const res = await client.sendNotification(createAppleNotification({ body: JSON.stringify(body), headers }), { tagExpression });
    await h.settle();
    return res.notificationId!;
  };

  test("a backend updates user 42's running activity by tag: liveactivity push type, suffixed topic, collapse id", async () => {
    const id = await send({ aps: { event: 'update', timestamp: now(), 'content-state': { eta: '12:05' }, 'stale-date': now() + 900 } }, '$UserId:{42} && activity:order-981');
    const got = await deliveries(activity.handle);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.headers['apns-push-type'], 'liveactivity');
    assert.equal(got[0]!.headers['apns-topic'], `${TOPIC}.push-type.liveactivity`);
    assert.equal(got[0]!.headers['apns-collapse-id'], id, 'the notification id, so a redelivered batch shows once');
    assert.equal(got[0]!.headers['x-herald-apns-token'], undefined);
    assert.deepEqual((await outcomes(id)).map((o) => o.outcome), ['Success']);
    assert.equal((await deliveries(phone.handle)).length, 0);
  });

  test('push-to-start: a start event with attributes reaches the push-to-start token', async () => {
    const id = await send(
      { aps: { event: 'start', timestamp: now(), 'content-state': { eta: '12:30' }, 'attributes-type': 'DeliveryAttributes', attributes: { order: '982' }, alert: { title: 'On its way' } } },
      '$UserId:{42} && pushtostart:delivery',
      { 'apns-push-type': 'liveactivity', 'apns-priority': '10' },
    );
    assert.deepEqual((await outcomes(id)).map((o) => o.outcome), ['Success']);
    assert.equal(JSON.parse((await deliveries(starter.handle))[0]!.payload).aps.event, 'start');
  });

  test("an alert to user 42 reaches the phone; the activity tokens are refused without a request and stay registered", async () => {
    const id = await send({ aps: { alert: 'your order shipped' } }, '$UserId:{42}', { 'apns-push-type': 'alert' });
    const byHandle = Object.fromEntries((await outcomes(id)).map((o) => [o.handle.toLowerCase(), `${o.outcome} ${o.reason.split(':')[0]}`]));
    assert.equal(byHandle[phone.handle], 'Success Success');
    assert.equal(byHandle[activity.handle], 'PnsInterfaceError NotForLiveActivityToken');
    assert.equal(byHandle[starter.handle], 'PnsInterfaceError NotForLiveActivityToken');
    assert.equal((await deliveries(phone.handle)).at(-1)!.headers['apns-push-type'], 'alert');
    const regs = await h.admin('GET', '/hubs/sandbox/registrations?userId=42&count=true');
    assert.equal(regs.body.total, 3, 'no registration was dropped');
  });

  test("the emulator's answer to a Live Activity update without its timestamp is the device's outcome", async () => {
    const before = (await deliveries(activity.handle)).length;
    const id = await send({ aps: { event: 'update', 'content-state': {} } }, 'activity:order-981');
    const [o] = await outcomes(id);
    assert.equal(`${o!.outcome} ${o!.reason}`, 'PnsInterfaceError BadPayload');
    assert.equal((await deliveries(activity.handle)).length, before);
  });

  test('the edge refuses an unknown push type, a collapse id over 64 bytes and apns-channel-id: 400, nothing stored', async () => {
    const count = async () => (await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total as number;
    const regs = await count();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'apns-push-type': 'telepathy' }, /apns-push-type is 'telepathy'; it must be an APNs push type: alert, background/],
      [{ 'apns-collapse-id': 'é'.repeat(33) }, /apns-collapse-id .*at most 64 bytes/],
      [{ 'apns-channel-id': 'dHpnbQ==' }, /apns-channel-id names an APNs broadcast channel: send to it with POST \/_admin\/v1\/hubs\/\{hub\}\/apns\/channels/],
    ];
    const fullCs = await httpConnectionString(h);
    const { createSasToken } = await import('../src/auth/sas.ts');
    const key = /SharedAccessKey=([^;]+)/.exec(fullCs)![1]!;
    const sas = createSasToken(`${h.httpUrl}/sandbox`, 'DefaultFullSharedAccessSignature', key, now() + 600);
    for (const [headers, message] of cases) {
      const res = await fetch(`${h.httpUrl}/sandbox/messages?api-version=2020-06`, {
        method: 'POST',
        headers: { authorization: sas, 'content-type': 'application/json', 'servicebusnotification-format': 'apple', 'servicebusnotification-tags': 'news', ...headers },
        body: '{"aps":{"alert":"x"}}',
      });
      const text = await res.text();
      assert.equal(res.status, 400, text);
      assert.match(text, message);
    }
    assert.equal(await count(), regs);
    const sent = await h.admin('GET', '/hubs/sandbox/registrations?tagExpression=news&count=true');
    assert.equal(sent.body.total, 1);
    assert.equal((await deliveries(phone.handle)).filter((d) => JSON.parse(d.payload).aps.alert === 'x').length, 0, 'nothing was sent');
  });

  test('a template carries the Live Activity payload: a template send fills in each activity its own state', async () => {
    const t = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: TOPIC, kind: 'liveactivity' });
    await client.createOrUpdateInstallation(
      createAppleInstallation({
        installationId: 'tablet-7-order-990',
        pushChannel: t.handle,
        userId: '7',
        tags: ['apns:liveactivity', 'activity:order-990'],
        templates: {
          eta: { body: '{"aps":{"event":"update","timestamp":"#(now)","content-state":{"eta":"$(eta)"}}}', headers: { 'apns-push-type': 'liveactivity', 'apns-priority': '5' } },
        },
      }),
    );
    const res = await client.sendNotification(createTemplateNotification({ body: { now: String(now()), eta: '12:40' } }), { tagExpression: 'activity:order-990' });
    await h.settle();
    const got = await deliveries(t.handle);
    assert.equal(got.length, 1, JSON.stringify(await outcomes(res.notificationId!)));
    assert.deepEqual(JSON.parse(got[0]!.payload).aps['content-state'], { eta: '12:40' });
    assert.equal(got[0]!.headers['apns-topic'], `${TOPIC}.push-type.liveactivity`);
    assert.equal(got[0]!.headers['apns-priority'], '5');
  });

  test("a secure send to user 42: the phone gets the background envelope; the activity tokens are refused and stay registered", async () => {
    const id = await send({ aps: { alert: 'balance: 4,217.08' } }, '$UserId:{42}', { 'X-Herald-Secure': 'true' });
    const byHandle = Object.fromEntries((await outcomes(id)).map((o) => [o.handle.toLowerCase(), `${o.outcome} ${o.reason.split(':')[0]}`]));
    assert.equal(byHandle[phone.handle], 'Success Success');
    assert.equal(byHandle[activity.handle], 'PnsInterfaceError NotForLiveActivityToken');
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?userId=42&count=true')).body.total, 3);
  });
});

