/**
 * The hub's event stream end to end (issue 13 item 1): a send to a dead handle becomes events on the SSE
 * stream of /_admin/v1/hubs/{hub}/events, filtered by type and resumable with Last-Event-ID.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAppleNotification, createAppleRegistrationDescription, NotificationHubsClient } from '@azure/notification-hubs';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** An open SSE stream: `next()` gives its events one by one, as they come. */
async function openStream(h: TestHerald, query = '', headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${h.adminUrl}/_admin/v1/hubs/sandbox/events${query}`, { headers: { authorization: `Bearer ${h.adminKey}`, ...headers }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const next = async (): Promise<SseEvent> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: Partial<SseEvent> = {};
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(': ');
          const value = rest.join(': ');
          if (field === 'id') e.id = value;
          if (field === 'event') e.event = value;
          if (field === 'data') e.data = JSON.parse(value);
        }
        if (e.event) return e as SseEvent;
        continue; // retry: and keep-alive comments
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buffer += value;
    }
  };
  /** Events up to and including the first for which `until` holds. */
  const until = async (stop: (e: SseEvent) => boolean) => {
    const seen: SseEvent[] = [];
    for (;;) {
      const e = await next();
      seen.push(e);
      if (stop(e)) return seen;
    }
  };
  return { next, until, close: () => controller.abort() };
}

describe('events over Server-Sent Events', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  before(async () => {
    h = await startTestHerald();
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
  });
  after(() => h.close());

  test("a push to a dead handle: the stream carries the device's failure, the dead handle and the notification's end, each an envelope", async () => {
    const stream = await openStream(h);
    const failedOnly = await openStream(h, '?types=notification.device_failed');
    const dead = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    await client.createRegistration(createAppleRegistrationDescription({ deviceToken: dead.handle, tags: ['sse-dead'] }));
    await emulatorCall(h, 'apns', `/_emulator/devices/${dead.handle}/expire`, 'POST', {});
    const res = await client.sendNotification(createAppleNotification({ body: { aps: { alert: 'x' } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'sse-dead' });
    const seen = await stream.until((e) => e.event === 'notification.state_changed' && e.data.data.notificationId === res.notificationId);
    const mine = seen.filter((e) => e.data.data.notificationId === res.notificationId);
    assert.deepEqual(mine.map((e) => e.event), ['notification.device_failed', 'device.handle_expired', 'notification.state_changed']);
    for (const e of mine) {
      assert.equal(e.id, e.data.id, "the SSE id is the envelope's id");
      assert.deepEqual(Object.keys(e.data).sort(), ['data', 'hub', 'id', 'time', 'type', 'version']);
      assert.equal(e.data.version, 1);
      assert.equal(e.data.hub, 'sandbox');
      assert.ok(!Number.isNaN(Date.parse(e.data.time)));
    }
    const { registrationId, handle, ...failure } = mine[0]!.data.data;
    assert.deepEqual(failure, { notificationId: res.notificationId, platform: 'apns', outcome: 'ExpiredChannel', reason: 'Unregistered', attempts: 1 });
    assert.equal(handle.toLowerCase(), dead.handle.toLowerCase());
    assert.equal(typeof registrationId, 'string');
    assert.deepEqual(mine[1]!.data.data, { platform: 'apns', handle, registrationId, notificationId: res.notificationId, error: 'ExpiredChannel' });
    assert.equal(mine[2]!.data.data.state, 'Completed');
    const failed = await failedOnly.next();
    assert.equal(failed.event, 'notification.device_failed', 'a filtered stream carries only its types');
    assert.equal(failed.id, mine[0]!.id);
    stream.close();
    failedOnly.close();

    // Resumed after the first event: the next two again, with the same ids.
    const resumed = await openStream(h, '', { 'last-event-id': mine[0]!.id! });
    const again = [await resumed.next(), await resumed.next()];
    assert.deepEqual(again.map((e) => e.id), [mine[1]!.id, mine[2]!.id]);
    resumed.close();
    const byQuery = await openStream(h, `?after=${encodeURIComponent(mine[1]!.id!)}`);
    assert.equal((await byQuery.next()).id, mine[2]!.id);
    byQuery.close();
  });

  test('bad input: an unknown type, a position that is no event id, no admin key, an unknown hub', async () => {
    const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${h.adminKey}` }) =>
      fetch(`${h.adminUrl}/_admin/v1${path}`, { headers }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const unknown = await get('/hubs/sandbox/events?types=notification.device_failed,nope');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'invalid_request');
    assert.match(unknown.body.error.message, /Unknown event type 'nope'; the types are notification\.state_changed/);
    const garbled = await get('/hubs/sandbox/events', { authorization: `Bearer ${h.adminKey}`, 'last-event-id': 'garbage' });
    assert.equal(garbled.status, 400);
    assert.equal(garbled.body.error.code, 'invalid_event_id');
    assert.match(garbled.body.error.message, /reconnect without it/);
    const anonymous = await get('/hubs/sandbox/events', {});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, 'admin_key_required');
    const missing = await get('/hubs/nohub/events');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'hub_not_found');
  });

  test('webhooks over the API: created with the secret once, listed without it, its deliveries and attempts visible; a hanging receiver never holds up pushes', async () => {
    const hanging: ServerResponse[] = [];
    let arrived: () => void = () => undefined;
    const firstArrived = new Promise<void>((resolve) => (arrived = resolve));
    const receiver = createServer((req, res) => {
      req.resume();
      hanging.push(res);
      arrived();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const created = await h.admin('POST', '/hubs/sandbox/webhooks', { url, types: ['notification.state_changed'] });
      assert.equal(created.status, 201);
      assert.match(created.body.secret, /^whsec_/);
      const id = created.body.subscription.id;
      const listed = await h.admin('GET', '/hubs/sandbox/webhooks');
      assert.deepEqual(listed.body.subscriptions.map((s: { id: string; url: string; types: string[] }) => [s.id, s.url, s.types]), [[id, url, ['notification.state_changed']]]);
      assert.ok(!JSON.stringify(listed.body).includes(created.body.secret));

      // The receiver never answers; pushes go on regardless.
      const device = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
      await client.createRegistration(createAppleRegistrationDescription({ deviceToken: device.handle, tags: ['hook-a'] }));
      const send = () => client.sendNotification(createAppleNotification({ body: { aps: { alert: 'x' } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'hook-a' });
      const first = await send();
      await firstArrived;
      const second = await send();
      await h.settle();
      assert.equal((await client.getNotificationOutcomeDetails(second.notificationId!)).state, 'Completed', 'delivered while the webhook receiver hangs');
      const deliveries = await h.admin('GET', `/hubs/sandbox/webhooks/${id}/deliveries`);
      assert.equal(deliveries.status, 200);
      assert.ok(deliveries.body.items.length >= 1);
      assert.ok(deliveries.body.items.every((d: { eventType: string; state: string }) => d.eventType === 'notification.state_changed' && d.state === 'pending'));
      assert.ok(first.notificationId);

      const patched = await h.admin('PATCH', `/hubs/sandbox/webhooks/${id}`, { types: [] });
      assert.deepEqual([patched.status, patched.body.types], [200, []]);
      const badUrl = await h.admin('POST', '/hubs/sandbox/webhooks', { url: 'ftp://example.com/x' });
      assert.deepEqual([badUrl.status, badUrl.body.error.code], [400, 'invalid_webhook_url']);
      const badType = await h.admin('POST', '/hubs/sandbox/webhooks', { url, types: ['nope'] });
      assert.deepEqual([badType.status, badType.body.error.code], [400, 'invalid_request']);
      assert.equal((await h.admin('GET', '/hubs/sandbox/webhooks')).body.subscriptions.length, 1, 'nothing stored for the refused ones');
      assert.equal((await h.admin('DELETE', `/hubs/sandbox/webhooks/${id}`)).status, 204);
      const gone = await h.admin('GET', `/hubs/sandbox/webhooks/${id}`);
      assert.deepEqual([gone.status, gone.body.error.code], [404, 'webhook_not_found']);
    } finally {
      for (const res of hanging) res.destroy();
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
