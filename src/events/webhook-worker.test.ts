/**
 * Webhook deliveries (issue 13 item 1) against a receiver on loopback: signed as Standard Webhooks,
 * recorded, retried with backoff on a 500, a hang (virtual-time timeout) or no connection, and the URL
 * rule of Web Push endpoints outside sandbox mode. Time is a ManualClock: no test waits for real time.
 */
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { SecretBox } from '../shared/secret-box.ts';
import { HubError } from '../shared/errors.ts';
import { endpointPolicy } from '../pns/endpoint-policy.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { verify } from './signature.ts';
import { nextRetryDelay, RETRY_DELAYS_MS, RETRY_FOR_MS, WebhookWorker } from './webhook-worker.ts';
import { WebhookService } from './webhooks.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  res: ServerResponse;
}

/** A receiver on loopback; `answer` decides each request's fate (the test may keep `res` to hang it). */
async function receiver(answer: (r: Received) => void): Promise<{ url: string; received: Received[]; server: Server; next: () => Promise<Received> }> {
  const received: Received[] = [];
  const waiting: Array<(r: Received) => void> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const r = { headers: req.headers, body, res };
      received.push(r);
      waiting.shift()?.(r);
      answer(r);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = () => new Promise<Received>((resolve) => waiting.push(resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server, next };
}

describe('webhook deliveries', () => {
  let store: Store;
  let clock: ManualClock;
  let box: SecretBox;
  let worker: WebhookWorker;
  let service: WebhookService;
  const servers: Server[] = [];
  beforeEach(async () => {
    store = openSqliteStore({ path: ':memory:' });
    clock = new ManualClock(1_800_000_000_000);
    box = new SecretBox(randomBytes(32));
    await store.hubs.create({ name: 'Hooks', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    // Sandbox mode (null policy): the receiver is on loopback. The jitter is fixed at its middle.
    service = new WebhookService(store, clock, box, null);
    worker = new WebhookWorker(store, clock, box, createLogger('silent'), { nodeId: 'n1', policy: null, random: () => 0.5 });
  });
  afterEach(async () => {
    await worker.stop();
    await store.close();
    for (const s of servers.splice(0)) s.closeAllConnections(), s.close();
  });
  after(() => undefined);

  const appendFailure = () => store.events.append('Hooks', [{ type: 'notification.device_failed', time: clock.now(), data: { notificationId: 'n1', handle: 'h', platform: 'apns', outcome: 'BadChannel', attempts: 1 } }]);
  const run = async () => {
    worker.wake();
    await worker.idle();
  };
  const deliveries = async (id: string) => (await store.webhooks.deliveries('Hooks', id, { limit: 10 })).items;

  test('an event is POSTed as its envelope, signed with the secret shown once; the delivery and its attempt are kept', async () => {
    const r = await receiver((x) => x.res.writeHead(204).end());
    servers.push(r.server);
    const { subscription, secret } = await service.create('hooks', { url: r.url, types: ['notification.device_failed'] });
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    await appendFailure();
    await store.events.append('Hooks', [{ type: 'registration.created', time: clock.now(), data: {} }]);
    await run();
    assert.equal(r.received.length, 1, 'only the types subscribed to');
    const got = r.received[0]!;
    const event = (await store.events.read('Hooks', undefined, { limit: 1, retainedSince: 0 })).events[0]!;
    assert.equal(got.headers['webhook-id'], event.id);
    assert.equal(got.headers['webhook-timestamp'], String(Math.floor(clock.now() / 1000)));
    assert.equal(got.headers['content-type'], 'application/json');
    assert.ok(verify(secret, { id: String(got.headers['webhook-id']), timestamp: String(got.headers['webhook-timestamp']), signature: String(got.headers['webhook-signature']) }, got.body), 'the signature verifies');
    assert.equal(verify(secret, { id: String(got.headers['webhook-id']), timestamp: String(got.headers['webhook-timestamp']), signature: String(got.headers['webhook-signature']) }, got.body + ' '), false, 'and only for this body');
    assert.deepEqual(JSON.parse(got.body), { id: event.id, type: 'notification.device_failed', version: 1, hub: 'Hooks', time: new Date(event.time).toISOString(), data: event.data });
    const [d] = await deliveries(subscription.id);
    assert.deepEqual([d!.state, d!.eventId, d!.attempts.map((a) => a.status)], ['delivered', event.id, [204]]);
    assert.ok(!JSON.stringify(await service.list('Hooks')).includes(secret), 'the secret is never listed');
  });

  test('a receiver answering 500 is retried after the backoff, on virtual time, until it answers 2xx', async () => {
    let status = 500;
    const r = await receiver((x) => x.res.writeHead(status).end('nope'));
    servers.push(r.server);
    const { subscription } = await service.create('Hooks', { url: r.url });
    await appendFailure();
    await run();
    let [d] = await deliveries(subscription.id);
    assert.deepEqual([d!.state, d!.attempts.map((a) => a.status), d!.nextAttemptAt], ['pending', [500], clock.now() + RETRY_DELAYS_MS[0]!]);
    clock.advance(RETRY_DELAYS_MS[0]! - 1);
    await run();
    assert.equal(r.received.length, 1, 'not before its time');
    status = 200;
    clock.advance(1);
    await run();
    [d] = await deliveries(subscription.id);
    assert.deepEqual([d!.state, d!.attempts.map((a) => a.status)], ['delivered', [500, 200]]);
    assert.equal(r.received[0]!.headers['webhook-id'], r.received[1]!.headers['webhook-id'], 'the same event id on every attempt: receivers de-duplicate on it');
  });

  test('a receiver that hangs times out on the clock and is retried; one that cannot be reached too', async () => {
    const r = await receiver(() => undefined); // never answers
    servers.push(r.server);
    const { subscription } = await service.create('Hooks', { url: r.url, types: ['notification.device_failed'] });
    await appendFailure();
    const arrived = r.next();
    worker.wake();
    await arrived;
    clock.advance(10_000);
    await worker.idle();
    const [d] = await deliveries(subscription.id);
    assert.equal(d!.state, 'pending');
    assert.match(d!.attempts[0]!.error ?? '', /no answer within 10 s/);
    assert.equal(d!.nextAttemptAt, clock.now() + RETRY_DELAYS_MS[0]!);

    // A port nobody listens on: the refused connection is an attempt with its error.
    const closed = await receiver(() => undefined);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const gone = await service.create('Hooks', { url: closed.url, types: ['registration.deleted'] });
    await store.events.append('Hooks', [{ type: 'registration.deleted', time: clock.now(), data: {} }]);
    await run();
    const [g] = await deliveries(gone.subscription.id);
    assert.equal(g!.state, 'pending');
    assert.match(g!.attempts[0]!.error ?? '', /ECONNREFUSED/);
  });

  test('the backoff grows and a delivery is retried for at least 24 hours, then fails', () => {
    const mid = () => 0.5;
    assert.deepEqual(RETRY_DELAYS_MS.map((_, i) => nextRetryDelay(i + 1, 0, mid)), RETRY_DELAYS_MS);
    assert.ok(RETRY_DELAYS_MS.reduce((a, b) => a + b, 0) * 0.9 < RETRY_FOR_MS, 'the schedule alone may end early...');
    assert.equal(nextRetryDelay(11, RETRY_FOR_MS - 1, mid), RETRY_DELAYS_MS.at(-1), '...so it goes on until 24 hours have passed');
    assert.equal(nextRetryDelay(11, RETRY_FOR_MS, mid), undefined);
    assert.equal(nextRetryDelay(1, 0, () => 0), 4_500, 'jitter: -10 %');
    assert.equal(nextRetryDelay(1, 0, () => 0.999999), 5_500, 'jitter: +10 %');
  });

  test('outside sandbox mode a URL must be https to a public address; a refused one stores nothing', async () => {
    const strict = new WebhookService(store, clock, box, endpointPolicy());
    const cases: Array<[unknown, RegExp]> = [
      ['http://example.com/hook', /https/],
      ['https://127.0.0.1/hook', /public address|loopback|private/],
      ['https://10.1.2.3/hook', /public address|loopback|private/],
      ['https://[::1]/hook', /public address|loopback|private/],
      ['https://169.254.169.254/latest', /public address|loopback|private|link-local/],
      ['not a url', /is not a URL/],
      ['https://user:pw@example.com/', /user name or password/],
      [42, /https URL/],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(strict.create('Hooks', { url }), (err: unknown) => err instanceof HubError && err.code === 'invalid_webhook_url' && message.test(err.message), String(url));
    }
    await assert.rejects(strict.create('Hooks', { url: 'https://example.com/hook', types: ['nope'] }), (err: unknown) => err instanceof HubError && err.code === 'invalid_request' && /notification\.device_failed/.test(err.message));
    assert.deepEqual(await store.webhooks.list('Hooks'), [], 'nothing stored');
    const ok = await strict.create('Hooks', { url: 'https://example.com/hook' });
    assert.equal(ok.subscription.url, 'https://example.com/hook');
    await assert.rejects(strict.create('nohub', { url: 'https://example.com/hook' }), (err: unknown) => err instanceof HubError && err.code === 'hub_not_found');
    await assert.rejects(strict.get('Hooks', 'nope'), (err: unknown) => err instanceof HubError && err.code === 'webhook_not_found');
  });
});
