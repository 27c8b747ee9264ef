/**
 * The notify-users example (examples/notify-users) end to end: its Fastify backend, in process, registers
 * devices minted by the sandbox emulators through the official client, and its sends reach exactly the
 * devices the tags say, rendered by each device's template. Also: sign-off/sign-in, the 410 path of an
 * expired registration, and secure push with per-installation device credentials.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { NotificationHubsClient } from '@azure/notification-hubs';
import { createBackend } from '../examples/notify-users/backend.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

type Pns = 'apns' | 'fcmv1' | 'wns' | 'browser';
interface Device {
  id: string;
  user: string;
  platform: 'ios' | 'android' | 'windows' | 'browser';
  pns: Pns;
  /** What the emulator's deliveries are keyed by. */
  key: string;
  /** What the app sends its backend. */
  handle: string | { endpoint: string; p256dh: string; auth: string };
}
interface Delivery {
  payload: string;
  headers: Record<string, string>;
}

describe('examples/notify-users: a backend that notifies users on all their devices', () => {
  let h: TestHerald;
  let backend: FastifyInstance;
  let base: string;
  let hubClient: NotificationHubsClient;
  const devices: Record<'ios' | 'android' | 'windows' | 'browser', Device> = {} as never;

  const call = async (method: string, path: string, user: string | undefined, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(user ? { authorization: `Bearer ${user}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const ok = async (method: string, path: string, user: string, body?: unknown) => {
    const r = await call(method, path, user, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const mint = async (platform: Device['platform'], id: string, user: string): Promise<Device> => {
    const pns = ({ ios: 'apns', android: 'fcmv1', windows: 'wns', browser: 'browser' } as const)[platform];
    const m = await emulatorCall(h, pns, '/_emulator/devices', 'POST', platform === 'ios' ? { topic: 'com.example.app' } : {});
    const handle = platform === 'ios' ? m.handle : platform === 'android' ? m.token : platform === 'windows' ? m.channelUri : { endpoint: m.endpoint, p256dh: m.keys.p256dh, auth: m.keys.auth };
    return { id, user, platform, pns, key: m.handle, handle };
  };
  const register = (d: Device) => ok('PUT', `/devices/${d.id}`, d.user, { platform: d.platform, handle: d.handle, userId: d.user });
  const deliveries = async (d: Device): Promise<Delivery[]> =>
    (await emulatorCall(h, d.pns, `/_emulator/deliveries?handle=${encodeURIComponent(d.key)}`)).deliveries;
  /** Sends through the backend, waits for the hub to deliver, and answers what each device newly got. */
  const notifyAndCollect = async (path: string, body: unknown): Promise<{ id: string; got: Map<Device, Delivery[]> }> => {
    const all = Object.values(devices);
    const before = new Map(await Promise.all(all.map(async (d) => [d, (await deliveries(d)).length] as const)));
    const res = await ok('POST', path, '1', body);
    await h.settle();
    const got = new Map(await Promise.all(all.map(async (d) => [d, (await deliveries(d)).slice(before.get(d)!)] as const)));
    return { id: res.notificationId, got };
  };
  const reached = (got: Map<Device, Delivery[]>) => [...got].filter(([, ds]) => ds.length > 0).map(([d]) => d.platform).sort();

  // Registration lifetimes run on the hub's clock: the expiry test moves it instead of waiting.
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    const cs = await httpConnectionString(h);
    hubClient = new NotificationHubsClient(cs, 'sandbox', allowHttpPolicy as never);
    backend = createBackend({ connectionString: cs, hubName: 'sandbox', clientOptions: allowHttpPolicy as never });
    await backend.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
    devices.ios = await mint('ios', 'alice-iphone', '1');
    devices.android = await mint('android', 'alice-pixel', '1');
    devices.windows = await mint('windows', 'alice-laptop', '1');
    devices.browser = await mint('browser', 'bob-browser', '2');
  });
  after(async () => {
    await backend?.close();
    await h?.close();
  });

  test('devices register through the backend, which decides their tags; apps hold no hub credentials', async () => {
    assert.equal((await call('PUT', '/devices/alice-iphone', undefined, { platform: 'ios', handle: devices.ios.handle })).status, 401);
    assert.equal((await call('PUT', '/devices/alice-iphone', '2', { platform: 'ios', handle: devices.ios.handle, userId: '1' })).status, 403, 'a user cannot register for another');
    assert.equal((await call('PUT', '/devices/x', '1', { platform: 'browser', handle: 'not-a-subscription' })).status, 400);
    for (const d of Object.values(devices)) {
      const rec = await register(d);
      assert.deepEqual(rec.tags, [`UserId:${d.user}`]);
      assert.ok(rec.registrationId);
    }
    // Re-registering (an app start) keeps the registration id: createRegistrationId is called once.
    const again = await register(devices.ios);
    assert.equal(again.registrationId, (await ok('GET', '/devices/alice-iphone', '1')).registrationId);
    assert.equal((await call('GET', '/devices/alice-iphone', '2')).status, 403, "bob cannot see alice's device");

    await ok('POST', '/devices/alice-iphone/topics/Comment', '1');
    await ok('POST', '/devices/alice-pixel/topics/Like', '1');
    await ok('POST', '/devices/alice-laptop/topics/Comment', '1');
    const laptop = await ok('POST', '/devices/alice-laptop/topics/Like', '1');
    assert.deepEqual(laptop.tags, ['UserId:1', 'Event:Comment', 'Event:Like']);
    await ok('POST', '/devices/bob-browser/topics/Comment', '2');
    assert.equal((await call('POST', '/devices/bob-browser/topics/Comment', '1')).status, 403);

    const regs = (await h.admin('GET', `/hubs/sandbox/registrations?tagExpression=${encodeURIComponent('UserId:1 && Event:Comment')}&count=true`)).body;
    assert.equal(regs.total, 2);
    assert.ok(regs.items.every((r: { kind: string }) => /Template$/.test(r.kind)), `template registrations: ${regs.items.map((r: { kind: string }) => r.kind)}`);
  });

  test('a comment for user 1 reaches exactly their devices subscribed to comments, each in its own format', async () => {
    const { got } = await notifyAndCollect('/notify', { userId: '1', event: 'Comment', message: 'Bob commented on your photo' });
    assert.deepEqual(reached(got), ['ios', 'windows']);
    assert.deepEqual(JSON.parse(got.get(devices.ios)![0]!.payload), { aps: { alert: 'Bob commented on your photo' } });
    const toast = got.get(devices.windows)![0]!;
    assert.match(toast.payload, /<toast>.*<text>Bob commented on your photo<\/text>.*<\/toast>/s);
    assert.equal(toast.headers['x-wns-type'], 'wns/toast');

    const like = await notifyAndCollect('/notify', { userId: '1', event: 'Like', message: 'Bob liked your photo' });
    assert.deepEqual(reached(like.got), ['android', 'windows']);
    assert.match(like.got.get(devices.android)![0]!.payload, /"body":"Bob liked your photo"/);

    const all = await notifyAndCollect('/notify', { userId: '2', message: 'Welcome, Bob' });
    assert.deepEqual(reached(all.got), ['browser']);
    assert.deepEqual(JSON.parse(all.got.get(devices.browser)![0]!.payload), { title: 'Herald', body: 'Welcome, Bob' });
  });

  test('unsubscribing from a topic updates the tags', async () => {
    const rec = await ok('DELETE', '/devices/alice-laptop/topics/Comment', '1');
    assert.deepEqual(rec.tags, ['UserId:1', 'Event:Like']);
    const { got } = await notifyAndCollect('/notify', { userId: '1', event: 'Comment', message: 'another comment' });
    assert.deepEqual(reached(got), ['ios']);
  });

  test('sign-off stops delivery; sign-in restores the subscriptions with the new handle', async () => {
    const off = await ok('POST', '/devices/alice-iphone/signoff', '1');
    assert.equal(off.signedIn, false);
    assert.deepEqual(off.tags, ['UserId:1', 'Event:Comment'], 'the local record keeps the topics');
    await assert.rejects(hubClient.getRegistration(off.registrationId), (e: { statusCode?: number }) => e.statusCode === 404);
    const silent = await notifyAndCollect('/notify', { userId: '1', event: 'Comment', message: 'while signed off' });
    assert.deepEqual(reached(silent.got), []);

    const oldKey = devices.ios.key;
    const fresh = await mint('ios', 'alice-iphone', '1'); // the app got a new APNs token meanwhile
    devices.ios = fresh;
    const on = await ok('POST', '/devices/alice-iphone/signin', '1', { handle: fresh.handle });
    assert.equal(on.signedIn, true);
    assert.deepEqual(on.tags, ['UserId:1', 'Event:Comment']);
    const back = await notifyAndCollect('/notify', { userId: '1', event: 'Comment', message: 'welcome back' });
    assert.deepEqual(reached(back.got), ['ios']);
    const old = (await emulatorCall(h, 'apns', `/_emulator/deliveries?handle=${encodeURIComponent(oldKey)}`)).deliveries as Delivery[];
    assert.ok(!old.some((d) => d.payload.includes('welcome back')), 'the old token gets nothing');
  });

  test('secure push: only the id travels through the PNS; a device reads it with its own credential only', async () => {
    const iphone = await ok('GET', '/devices/alice-iphone/credential', '1');
    const bob = await ok('GET', '/devices/bob-browser/credential', '2');
    assert.equal((await call('GET', '/devices/bob-browser/credential', '1')).status, 403, "alice cannot get bob's credential");

    const secret = 'Your verification code is 731 905';
    const { id, got } = await notifyAndCollect('/notify/secure', { userId: '1', message: secret });
    assert.deepEqual(reached(got), ['android', 'ios', 'windows'], 'every device of user 1, whatever its topics');
    for (const [d, ds] of got) {
      for (const delivery of ds) {
        assert.ok(!delivery.payload.includes('731 905'), `${d.platform}: the message did not go through the PNS`);
        assert.match(delivery.payload, new RegExp(`"heraldSecureId":"${id}"`));
      }
    }

    // The hub answers its https:// origin; this test talks to its plain-HTTP port, so keep only the path.
    assert.match(iphone.payloads, /\/_device\/v1\/hubs\/sandbox\/payloads\/\{notificationId\}$/);
    const url = `${h.httpUrl}${new URL(iphone.payloads).pathname.replace('%7BnotificationId%7D', id)}`;
    const read = (cred: string) =>
      fetch(url, { headers: { authorization: `Bearer ${cred}` } }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const mine = await read(iphone.credential);
    assert.equal(mine.status, 200);
    assert.equal(JSON.parse(mine.text).message, secret);
    const stolen = await read(bob.credential);
    assert.equal(stolen.status, 403, "another device's credential cannot read it");
  });

  test('an expired registration (410 Gone) is re-created by the backend with a new registration id', async () => {
    const before = await ok('GET', '/devices/alice-pixel', '1');
    assert.equal(before.renewals, 0);
    // A short lifetime applies to registrations written while it is set: re-register the phone under it,
    // then lift it so that the registration the backend re-creates is permanent.
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: 1 } })).status, 200);
    assert.equal((await register(devices.android)).registrationId, before.registrationId);
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: null } })).status, 200);

    await clock.advanceAsync(1100);
    const status = await hubClient.getRegistration(before.registrationId).then(() => 200, (e: { statusCode?: number }) => e.statusCode);
    assert.equal(status, 410, 'the registration expired after its 1 s lifetime');
    const missed = await notifyAndCollect('/notify', { userId: '1', event: 'Like', message: 'while expired' });
    assert.deepEqual(reached(missed.got), ['windows'], 'an expired registration gets nothing');

    // The app starts again and re-registers: the backend's PUT meets 410 and it asks for a new id.
    const after = await register(devices.android);
    assert.equal(after.renewals, 1, 'the 410 path was taken');
    assert.notEqual(after.registrationId, before.registrationId);
    assert.deepEqual(after.tags, ['UserId:1', 'Event:Like'], 'the subscriptions survive');
    assert.equal((await hubClient.getRegistration(after.registrationId)).registrationId, after.registrationId);
    const back = await notifyAndCollect('/notify', { userId: '1', event: 'Like', message: 'renewed' });
    assert.deepEqual(reached(back.got), ['android', 'windows']);
  });
});
