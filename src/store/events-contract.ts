/**
 * The event log and webhook deliveries every Store adapter must keep (issue 13 item 1), run by each
 * adapter's test file against a real instance: `eventsContract('sqlite', () => openSqliteStore(...))`.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import type { HubRecord, NotificationRecord, Store } from './store.ts';
import { STEP_RULES } from '../dispatch/step-rules.ts';
import type { JobPayloads } from '../queue/queue.ts';

const hub = (name: string): HubRecord => ({ name, settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 });
const ev = (type: string, time: number, n: number) => ({ type, time, data: { n } });
const batch = (...ids: string[]): JobPayloads['deliver'] => ({ targets: ids.map((r) => ({ r })), retry: { acceptedAtMs: 0, attempts: 0 } });
const notification = (hubName: string, id: string): NotificationRecord => ({ hub: hubName, id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 });

export function eventsContract(adapter: string, open: () => Promise<Store>): void {
  describe(`Events contract: ${adapter}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.hubs.create(hub('Ev'), []);
      await store.hubs.create(hub('other'), []);
    });
    afterEach(async () => {
      await store.close();
    });

    test('events are read in order from any position, by type, per hub; a read resumes after the last id', async () => {
      await store.events.append('Ev', [ev('registration.created', 10, 1), ev('notification.device_failed', 11, 2)]);
      await store.events.append('other', [ev('registration.created', 12, 99)]);
      await store.events.append('ev', [ev('registration.deleted', 13, 3)]);
      const all = await store.events.read('EV', undefined, { limit: 10, retainedSince: 0 });
      assert.deepEqual(all.events.map((e) => [e.type, e.data.n, e.time, e.hub]), [
        ['registration.created', 1, 10, 'Ev'],
        ['notification.device_failed', 2, 11, 'Ev'],
        ['registration.deleted', 3, 13, 'Ev'],
      ]);
      assert.equal(all.more, false);
      assert.equal(new Set(all.events.map((e) => e.id)).size, 3, 'ids are distinct');
      const page = await store.events.read('Ev', undefined, { limit: 2, retainedSince: 0 });
      assert.equal(page.more, true);
      const rest = await store.events.read('Ev', page.next, { limit: 2, retainedSince: 0 });
      assert.deepEqual(rest.events.map((e) => e.data.n), [3]);
      assert.equal(rest.events[0]!.id, all.events[2]!.id, 'the same event has the same id in every read');
      const typed = await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0, types: ['registration.created', 'registration.deleted'] });
      assert.deepEqual(typed.events.map((e) => e.data.n), [1, 3]);
      const end = await store.events.read('Ev', all.next, { limit: 10, retainedSince: 0 });
      assert.deepEqual(end.events, []);
      assert.equal(end.next, all.next, 'an empty read keeps the position');
    });

    test('head: reading after it gives only what is appended later; the readers hear of the append', async () => {
      await store.events.append('Ev', [ev('registration.created', 10, 1)]);
      const heard: string[] = [];
      const off = store.events.onAppend((h) => heard.push(h));
      const head = await store.events.head('Ev', 20);
      assert.deepEqual((await store.events.read('Ev', head, { limit: 10, retainedSince: 0 })).events, []);
      await store.events.append('Ev', [ev('registration.updated', 21, 2)]);
      // On PostgreSQL the signal is a NOTIFY heard on another connection: wait for it, not for a time.
      while (!heard.includes('ev')) await new Promise((r) => setImmediate(r));
      off();
      assert.deepEqual((await store.events.read('Ev', head, { limit: 10, retainedSince: 0 })).events.map((e) => e.data.n), [2]);
    });

    test('a position older than the retention window is flagged; purge deletes events recorded before a time', async () => {
      await store.events.append('Ev', [ev('registration.created', 10, 1), ev('registration.created', 20, 2), ev('registration.created', 30, 3)]);
      const first = (await store.events.read('Ev', undefined, { limit: 1, retainedSince: 0 })).next!;
      assert.equal((await store.events.read('Ev', first, { limit: 10, retainedSince: 5 })).reset, false);
      assert.equal((await store.events.read('Ev', first, { limit: 10, retainedSince: 15 })).reset, true);
      assert.equal(await store.events.purge(25, 100), 2);
      assert.deepEqual((await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events.map((e) => e.data.n), [3]);
      assert.deepEqual((await store.events.read('Ev', first, { limit: 10, retainedSince: 0 })).events.map((e) => e.data.n), [3], 'an old position goes on from the oldest kept');
    });

    test('a position that is not an event id is refused; a deleted hub takes its events along', async () => {
      for (const bad of ['garbage', 's1e.1.1.zzz', 'p1e.1.1.1.zzz', 's1r.1.abc']) {
        await assert.rejects(store.events.read('Ev', bad, { limit: 1, retainedSince: 0 }), (err: unknown) => err instanceof HubError && err.code === 'invalid_continuation_token', bad);
      }
      await store.events.append('Ev', [ev('registration.created', 10, 1)]);
      await store.hubs.delete('Ev');
      await store.hubs.create(hub('Ev'), []);
      assert.deepEqual((await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events, []);
    });

    test("a delivery's events are written in its step commit, with the notification's end; a stale owner writes none", async () => {
      await store.dispatch.createNotification(notification('Ev', 'n1'), { kind: 'deliver', payload: batch('r1'), runAt: 1 });
      const job = (await store.queue.claim('node-a', 1, 10, 60_000)).find((j) => j.hub === 'ev')!;
      const events = [ev('notification.device_failed', 5, 1), ev('device.handle_expired', 5, 2)];
      const stale = { ...job, owner: 'node-b' };
      assert.equal(await store.dispatch.finishDelivery(stale, { outcomes: [], counts: {}, expired: [], events, now: 5 }, STEP_RULES), 'stale');
      assert.deepEqual((await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events, [], 'nothing of a stale commit');
      assert.equal(await store.dispatch.finishDelivery(job, { outcomes: [], counts: { apns: { BadChannel: 1 } }, expired: [], events, now: 5 }, STEP_RULES), 'done');
      const got = (await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events;
      assert.deepEqual(got.map((e) => e.type), ['notification.device_failed', 'device.handle_expired', 'notification.state_changed']);
      assert.deepEqual(got[2]!.data, { notificationId: 'n1', state: 'NoTargetFound', previousState: 'Processing', targets: 0, counts: { apns: { BadChannel: 1 } } });
    });

    test('webhooks: each event a subscription wants becomes a delivery, claimed by one owner, its attempts kept', async () => {
      const sub = { hub: 'Ev', url: 'https://example.com/hook', sealedSecret: 'sealed', createdAt: 1, updatedAt: 1 };
      await store.webhooks.create({ ...sub, id: 's-all', types: [] });
      await store.webhooks.create({ ...sub, id: 's-failed', types: ['notification.device_failed'] });
      await assert.rejects(store.webhooks.create({ ...sub, id: 's-all', types: [] }), (err: unknown) => err instanceof HubError && err.code === 'write_conflict');
      assert.deepEqual((await store.webhooks.list('ev')).map((s) => [s.id, s.types]), [['s-all', []], ['s-failed', ['notification.device_failed']]]);
      await store.events.append('Ev', [ev('registration.created', 100, 1), ev('notification.device_failed', 101, 2)]);
      const [e1, e2] = (await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events;
      assert.equal(await store.webhooks.nextDueAt(), 100);
      const claimed = await store.webhooks.claim('node-a', 200, 10, 60_000);
      assert.deepEqual(claimed.map((j) => [j.subscriptionId, j.event.id, j.event.type, j.url]).sort(), [
        ['s-all', e1!.id, 'registration.created', sub.url],
        ['s-all', e2!.id, 'notification.device_failed', sub.url],
        ['s-failed', e2!.id, 'notification.device_failed', sub.url],
      ].sort());
      assert.deepEqual(await store.webhooks.claim('node-b', 200, 10, 60_000), [], 'leased deliveries are not claimed twice');
      const job = claimed.find((j) => j.subscriptionId === 's-failed')!;
      assert.equal(await store.webhooks.recordAttempt({ ...job, owner: 'node-b' }, { at: 200, status: 500, durationMs: 3 }, { retryAt: 5000 }), false, 'only the owner records');
      assert.equal(await store.webhooks.recordAttempt(job, { at: 200, status: 500, durationMs: 3 }, { retryAt: 5000 }), true);
      assert.deepEqual(await store.webhooks.claim('node-b', 4999, 10, 60_000), [], 'not before its retry time');
      const again = await store.webhooks.claim('node-b', 5000, 10, 60_000);
      assert.deepEqual(again.map((j) => [j.id, j.attempts]), [[job.id, 1]]);
      assert.equal(await store.webhooks.recordAttempt(again[0]!, { at: 5000, status: 204, durationMs: 2 }, { final: 'delivered' }), true);
      const page = await store.webhooks.deliveries('Ev', 's-failed', { limit: 10 });
      assert.deepEqual(page.items.map((d) => [d.eventId, d.state, d.attempts.map((a) => a.status)]), [[e2!.id, 'delivered', [500, 204]]]);
      assert.equal((await store.webhooks.claim('node-c', 200 + 60_000, 10, 60_000)).length, 0, 'the other leases hold to their end');
      assert.equal((await store.webhooks.claim('node-c', 200 + 60_001, 10, 60_000)).length, 2, 'a lapsed lease is claimed again');
      assert.equal(await store.webhooks.delete('Ev', 's-all'), true);
      assert.deepEqual((await store.webhooks.deliveries('Ev', 's-all', { limit: 10 })).items, [], 'deliveries go with their subscription');
      const changed = await store.webhooks.update('Ev', 's-failed', { types: [] }, 7);
      assert.deepEqual([changed?.types, changed?.updatedAt], [[], 7]);
      assert.equal(await store.webhooks.update('Ev', 'nope', { types: [] }, 7), undefined);
    });

    test('registry writes record their events in their own transaction; a refused write records none', async () => {
      const reg = { id: 'r1', kind: 'FcmV1' as const, handle: { platform: 'fcmv1' as const, value: 'tok' }, tags: ['a'], updatedAt: 10 };
      await store.registrations.upsert('Ev', reg, { now: 10 });
      await store.registrations.upsert('Ev', { ...reg, tags: ['b'], updatedAt: 11 }, { now: 11 });
      await assert.rejects(store.registrations.upsert('Ev', { ...reg, updatedAt: 12 }, { now: 12, ifMatch: 99 }), (err: unknown) => err instanceof HubError && err.code === 'etag_mismatch');
      assert.equal(await store.registrations.delete('Ev', 'r1', { now: 13 }), true);
      const inst = { installationId: 'i1', platform: 'fcmv1' as const, pushChannel: 'chan', pushChannelExpired: false, tags: ['t'], createdAt: 20, updatedAt: 20 };
      await store.installations.put('Ev', inst, []);
      assert.equal(await store.installations.delete('Ev', 'i1', 21), true);
      const got = (await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events;
      assert.deepEqual(got.map((e) => [e.type, e.time]), [
        ['registration.created', 10],
        ['registration.updated', 11],
        ['registration.deleted', 13],
        ['installation.upserted', 20],
        ['installation.deleted', 21],
      ]);
      assert.deepEqual(got[1]!.data, { registrationId: 'r1', platform: 'fcmv1', handle: 'tok', tags: ['b'] });
      assert.deepEqual(got[3]!.data, { installationId: 'i1', platform: 'fcmv1', pushChannel: 'chan', tags: ['t'] });
    });

    test('a cancel records the notification.state_changed to Cancelled in its transaction', async () => {
      await store.dispatch.createNotification({ ...notification('Ev', 'c1'), state: 'Scheduled', scheduledAt: 1000 }, { kind: 'deliver', payload: batch('r1'), runAt: 1000 });
      assert.equal(await store.dispatch.cancel('Ev', 'c1', 7), 'cancelled');
      assert.equal(await store.dispatch.cancel('Ev', 'c1', 8), 'started', 'a second cancel changes nothing');
      const got = (await store.events.read('Ev', undefined, { limit: 10, retainedSince: 0 })).events;
      assert.deepEqual(got.map((e) => [e.type, e.time, e.data.state, e.data.previousState]), [['notification.state_changed', 7, 'Cancelled', 'Scheduled']]);
    });
  });
}
