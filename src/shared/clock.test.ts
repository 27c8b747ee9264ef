import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, sleep } from './clock.ts';

test('ManualClock fires timers in due order, each at its own time', () => {
  const clock = new ManualClock(1000);
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
  clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
  const cancelled = clock.setTimeout(() => fired.push(['x', clock.now()]), 150);
  clock.clearTimer(cancelled);
  clock.advance(150);
  assert.deepEqual(fired, [['a', 1100]]);
  clock.advance(1000);
  assert.deepEqual(fired, [['a', 1100], ['b', 1200]]);
  assert.equal(clock.now(), 2150);
  assert.equal(clock.pendingTimers, 0);
});

test('ManualClock intervals repeat until cleared; a timer set by a timer fires in the same advance', () => {
  const clock = new ManualClock(0);
  let ticks = 0;
  const every = clock.setInterval(() => ticks++, 10);
  let nested = -1;
  clock.setTimeout(() => clock.setTimeout(() => (nested = clock.now()), 5), 20);
  clock.advance(35);
  assert.equal(ticks, 3);
  assert.equal(nested, 25);
  clock.clearTimer(every);
  clock.advance(100);
  assert.equal(ticks, 3);
});

test('sleep on a ManualClock resolves on advanceAsync, not on real time', async () => {
  const clock = new ManualClock(0);
  let done = false;
  const p = sleep(clock, 60_000).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  await clock.advanceAsync(60_000);
  await p;
  assert.equal(done, true);
});
