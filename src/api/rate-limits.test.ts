import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import type { HubRecord } from '../store/store.ts';
import { MAX_BUCKETS, RateLimits } from './rate-limits.ts';

const hub = (settings: Partial<HubRecord['settings']>): HubRecord => ({ name: 'h', settings: { registrationTtlSeconds: null, ...settings }, createdAt: 0, updatedAt: 0 });

test('a hub without limits is never throttled', () => {
  const limits = new RateLimits(new ManualClock(0));
  for (let i = 0; i < 10_000; i++) limits.take(hub({}), 'sendNotification');
});

test('sends over the rate get throttled with a Retry-After, and the bucket refills with time', () => {
  const clock = new ManualClock(1_000_000);
  const limits = new RateLimits(clock);
  const h = hub({ sendsPerSecond: 2 });
  limits.take(h, 'sendNotification');
  limits.take(h, 'scheduleNotification');
  assert.throws(() => limits.take(h, 'sendBatchNotification'), (e: unknown) => e instanceof HubError && e.code === 'throttled' && e.details?.retryAfterSeconds === 1);
  limits.take(h, 'getInstallation'); // reads are not limited
  limits.take(h, 'createRegistration'); // registrations have their own limit (none here)
  clock.advance(500);
  limits.take(h, 'sendNotification');
  assert.throws(() => limits.take(h, 'sendNotification'));
});

test('registration writes have their own bucket; a slow rate asks for a longer wait', () => {
  const clock = new ManualClock(0);
  const limits = new RateLimits(clock);
  const h = hub({ registrationsPerSecond: 0.25 });
  limits.take(h, 'createOrUpdateInstallation');
  assert.throws(() => limits.take(h, 'deleteRegistration'), (e: unknown) => e instanceof HubError && e.details?.retryAfterSeconds === 4);
  limits.take(h, 'sendNotification');
});

test('a hub deleted and created again under the same name starts with a full bucket (#10 item 15 sibling)', () => {
  const limits = new RateLimits(new ManualClock(0));
  const old = hub({ sendsPerSecond: 0.01 });
  limits.take(old, 'sendNotification');
  assert.throws(() => limits.take(old, 'sendNotification'));
  const reborn = { ...hub({ sendsPerSecond: 0.01 }), createdAt: 5 };
  limits.take(reborn, 'sendNotification');
});

test('bounded: buckets of 100,000 hubs keep at most MAX_BUCKETS, and a throttled hub stays throttled', () => {
  const clock = new ManualClock(0);
  const limits = new RateLimits(clock);
  const busy = { ...hub({ sendsPerSecond: 1 }), name: 'busy' };
  limits.take(busy, 'sendNotification');
  for (let i = 0; i < 100_000; i++) {
    limits.take({ ...hub({ sendsPerSecond: 5 }), name: `h${i}` }, 'sendNotification');
    if (i % 1000 === 0) assert.throws(() => limits.take(busy, 'sendNotification'), (e: unknown) => e instanceof HubError && e.code === 'throttled');
    assert.ok(limits.size <= MAX_BUCKETS);
  }
  // Dropping every bucket at a cap would have let the throttled hub through here.
  assert.throws(() => limits.take(busy, 'sendNotification'), (e: unknown) => e instanceof HubError && e.code === 'throttled');
});

test('in a cluster each node takes its share: the hub rate divided by the live nodes', () => {
  const clock = new ManualClock(0);
  let nodes = 2;
  const limits = new RateLimits(clock, () => nodes);
  const h = hub({ sendsPerSecond: 4 });
  limits.take(h, 'sendNotification');
  limits.take(h, 'sendNotification');
  assert.throws(() => limits.take(h, 'sendNotification'), (e: unknown) => e instanceof HubError && e.code === 'throttled' && /rate limit of 4 per second/.test(e.message));
  clock.advance(500);
  limits.take(h, 'sendNotification');
  assert.throws(() => limits.take(h, 'sendNotification'), 'two per second on this node of two');
  nodes = 1;
  clock.advance(500);
  limits.take(h, 'sendNotification');
  limits.take(h, 'sendNotification');
});
