/**
 * Issue 10 item 14: secure payloads are erased at their TTL by a purge on the injected Clock's timer, and
 * notifications go with everything of theirs after their retention period; all on virtual time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { batch, OWNER, RULES } from '../store/store-contract.ts';
import { RETENTION_INTERVAL_MS, Retention } from './retention.ts';

const DAY = 86_400_000;

test('the purge erases secure payloads at their TTL and deletes notifications after their retention, on the clock', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = openSqliteStore({ path: ':memory:' });
  const retention = new Retention(store, clock, createLogger('silent'), { outcomeRetentionDays: 7, notificationRetentionDays: 30 });
  try {
    await store.hubs.create({ name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    const t0 = clock.now();
    const n = { hub: 'h', id: 'n1', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: t0 };
    await store.dispatch.createNotification(n, { kind: 'deliver', payload: batch(), runAt: t0 }, { sealed: 'sealed', expiresAt: t0 + 60_000 });
    const [job] = await store.queue.claim(OWNER, t0, 1, 60_000);
    await store.dispatch.finishDelivery(job!, { outcomes: [{ handle: 'x', platform: 'fcmv1', outcome: 'Success', attempts: 1, at: t0 }], counts: { fcmv1: { Success: 1 } }, expired: [], now: t0 }, RULES);
    retention.start();

    await clock.advanceAsync(50_000);
    await retention.idle();
    assert.equal(await store.dispatch.securePayload('h', 'n1', t0), 'sealed', 'kept before its TTL');
    await clock.advanceAsync(60_000 - 50_000 + RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.equal(await store.dispatch.purgeSecurePayloads(Number.MAX_SAFE_INTEGER, 10), 0, 'erased by the purge within one interval of its TTL');

    // Outcomes go after 7 days, the notification after 30; a day short of each, they are still there.
    clock.advance(6 * DAY);
    await retention.idle();
    await clock.advanceAsync(RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.equal((await store.dispatch.listOutcomes('h', 'n1', {}, { limit: 10 })).items.length, 1);
    clock.advance(2 * DAY);
    await retention.idle();
    await clock.advanceAsync(RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.equal((await store.dispatch.listOutcomes('h', 'n1', {}, { limit: 10 })).items.length, 0, 'outcomes after 7 days');
    assert.ok(await store.dispatch.getNotification('h', 'n1'));
    clock.advance(21 * DAY);
    await retention.idle();
    await clock.advanceAsync(RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.ok(await store.dispatch.getNotification('h', 'n1'), 'kept until 30 days after it ended');
    clock.advance(DAY);
    await retention.idle();
    await clock.advanceAsync(RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.equal(await store.dispatch.getNotification('h', 'n1'), undefined, 'deleted 30 days after it ended');

    await retention.stop();
    assert.equal(clock.pendingTimers, 0, 'stop clears its timer');
  } finally {
    await retention.stop();
    await store.close();
  }
});

test('nodes sharing a store run the retention once per interval between them, not once each', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = openSqliteStore({ path: ':memory:' });
  let runs = 0;
  class Counted extends Retention {
    override async runOnce() {
      runs++;
      return super.runOnce();
    }
  }
  const nodes = [1, 2, 3].map(() => new Counted(store, clock, createLogger('silent'), { outcomeRetentionDays: 7, notificationRetentionDays: 30 }));
  try {
    for (const n of nodes) n.start();
    for (let i = 0; i < 5; i++) {
      await clock.advanceAsync(RETENTION_INTERVAL_MS);
      await Promise.all(nodes.map((n) => n.idle()));
    }
    assert.equal(runs, 5);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await store.close();
  }
});

test('events are purged after events.retentionHours by the same periodic task (issue 13)', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = openSqliteStore({ path: ':memory:' });
  const retention = new Retention(store, clock, createLogger('silent'), { outcomeRetentionDays: 7, notificationRetentionDays: 30, eventRetentionHours: 24 });
  try {
    await store.hubs.create({ name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    await store.events.append('h', [{ type: 'registration.deleted', time: clock.now(), data: { n: 1 } }]);
    await store.events.append('h', [{ type: 'registration.deleted', time: clock.now() + 2 * 3_600_000, data: { n: 2 } }]);
    retention.start();
    await clock.advanceAsync(DAY - RETENTION_INTERVAL_MS);
    await retention.idle();
    assert.equal((await store.events.read('h', undefined, { limit: 10, retainedSince: 0 })).events.length, 2, 'both kept within 24 h');
    for (let i = 0; i < 3; i++) {
      await clock.advanceAsync(RETENTION_INTERVAL_MS);
      await retention.idle();
    }
    assert.deepEqual((await store.events.read('h', undefined, { limit: 10, retainedSince: 0 })).events.map((e) => e.data.n), [2], 'the first goes once it is 24 h old');
  } finally {
    await retention.stop();
    await store.close();
  }
});
