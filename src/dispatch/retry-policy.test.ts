import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.ts';
import { initialRetryState, parseRetryAfter, RetryPolicy, type RetryDecision, type RetryFailure, type RetryState } from './retry-policy.ts';

const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;
const unavailable: RetryFailure = { outcome: 'PnsUnavailable', reason: 'ServiceUnavailable', status: 503 };

/** A random source that returns the given values in turn (then repeats the last). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

function retry(d: RetryDecision): Extract<RetryDecision, { kind: 'retry' }> {
  assert.equal(d.kind, 'retry', d.kind === 'abandon' ? d.message : '');
  return d as Extract<RetryDecision, { kind: 'retry' }>;
}

test('exponential backoff without jitter doubles from the base up to the cap', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'none', baseDelayMs: 1000, maxDelayMs: 10_000, maxAttempts: 20 });
  let state: RetryState = initialRetryState(T0);
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const d = retry(policy.onFailure(state, unavailable));
    delays.push(d.delayMs);
    assert.equal(d.atMs, clock.now() + d.delayMs);
    state = d.state;
    clock.set(d.atMs); // virtual time: jump to when the retry is due
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(state.attempts, 6);
});

test('full jitter: uniform in [0, backoff] from the injected random source', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'full', baseDelayMs: 1000, maxDelayMs: 60_000 }, sequence(0.5, 0, 0.999, 1));
  let state = initialRetryState(T0);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const d = retry(policy.onFailure(state, unavailable));
    delays.push(d.delayMs);
    state = d.state;
  }
  // attempt 1: 0.5*1000; attempt 2: 0*2000; attempt 3: 0.999*4000; attempt 4: 1 is clamped below 8000
  assert.deepEqual(delays, [500, 0, 3996, 7999]);
});

test('decorrelated jitter: uniform in [base, 3 × previous], capped', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'decorrelated', baseDelayMs: 1000, maxDelayMs: 20_000, maxAttempts: 20 }, sequence(1, 1, 1, 1, 0));
  let state = initialRetryState(T0);
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const d = retry(policy.onFailure(state, unavailable));
    delays.push(d.delayMs);
    state = d.state;
    assert.equal(state.previousDelayMs, d.delayMs);
  }
  // previous 1000 → up to 3000 → 9000 → 20000 (cap, 27000) → 20000; then random 0 → base
  assert.deepEqual(delays, [2999, 8996, 19_999, 19_999, 1000]);
});

test('Retry-After is a floor: honoured when longer than the backoff, the backoff wins when longer', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'none', baseDelayMs: 1000 });
  const s = initialRetryState(T0);
  assert.equal(retry(policy.onFailure(s, { ...unavailable, retryAfterMs: 120_000 })).atMs, T0 + 120_000);
  assert.equal(retry(policy.onFailure(s, { ...unavailable, retryAfterMs: 10 })).delayMs, 1000);
  assert.equal(retry(policy.onFailure(s, { ...unavailable, headers: { 'retry-after': '30' } })).delayMs, 30_000);
  const date = new Date(T0 + 90_000).toUTCString();
  assert.equal(retry(policy.onFailure(s, { ...unavailable, headers: { 'retry-after': date } })).delayMs, 90_000);
  assert.equal(retry(policy.onFailure(s, { ...unavailable, headers: { 'retry-after-ms': '2500' } })).delayMs, 2500);
});

test('parseRetryAfter: seconds, HTTP date, ms variants; unreadable ignored; past date is now', () => {
  assert.equal(parseRetryAfter({ 'retry-after': '120' }, T0), 120_000);
  assert.equal(parseRetryAfter({ 'retry-after': ' 0 ' }, T0), 0);
  assert.equal(parseRetryAfter({ 'retry-after': new Date(T0 + 5000).toUTCString() }, T0), 5000);
  assert.equal(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, T0), 0);
  assert.equal(parseRetryAfter({ 'retry-after-ms': '1500', 'retry-after': '60' }, T0), 1500);
  assert.equal(parseRetryAfter({ 'x-ms-retry-after-ms': '250.4' }, T0), 251);
  assert.equal(parseRetryAfter({ 'retry-after': ['7', '9'] }, T0), 7000);
  assert.equal(parseRetryAfter({ 'retry-after': 'soon' }, T0), undefined);
  assert.equal(parseRetryAfter({ 'retry-after': '-5' }, T0), undefined);
  assert.equal(parseRetryAfter({ 'retry-after': '1.5' }, T0), undefined);
  assert.equal(parseRetryAfter({ 'retry-after-ms': 'x' }, T0), undefined);
  assert.equal(parseRetryAfter({}, T0), undefined);
});

test('bounded attempts: the last allowed failure abandons with max_attempts and the last error', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'none', baseDelayMs: 100, maxAttempts: 3 });
  let state = initialRetryState(T0);
  state = retry(policy.onFailure(state, unavailable)).state;
  clock.advance(100);
  state = retry(policy.onFailure(state, { outcome: 'Throttled', reason: 'TooManyRequests', status: 429 })).state;
  clock.advance(200);
  const d = policy.onFailure(state, { outcome: 'PnsUnreachable', reason: 'ECONNRESET' });
  assert.equal(d.kind, 'abandon');
  assert.equal(d.kind === 'abandon' && d.reason, 'max_attempts');
  assert.deepEqual(d.state.lastError, { outcome: 'PnsUnreachable', reason: 'ECONNRESET', atMs: T0 + 300, attempt: 3 });
  assert.equal(d.state.attempts, 3);
  assert.match(d.kind === 'abandon' ? d.message : '', /after 3 attempts; last error: PnsUnreachable \(ECONNRESET\)/);
});

test('every decision records the last error', () => {
  const clock = new ManualClock(T0 + 5000);
  const d = retry(new RetryPolicy(clock).onFailure(initialRetryState(T0), unavailable));
  assert.deepEqual(d.state.lastError, { outcome: 'PnsUnavailable', reason: 'ServiceUnavailable', status: 503, atMs: T0 + 5000, attempt: 1 });
});

test('30-minute window: a retry that would fall after it abandons now (deadline), before it retries', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'none', baseDelayMs: 1000, maxAttempts: 100 });
  assert.equal(policy.deadline(T0), T0 + 30 * MIN);
  // A Retry-After beyond the window: no point holding the target.
  const far = policy.onFailure(initialRetryState(T0), { ...unavailable, retryAfterMs: 31 * MIN });
  assert.equal(far.kind === 'abandon' && far.reason, 'deadline');
  assert.match(far.kind === 'abandon' ? far.message : '', /30 minutes.*PnsUnavailable/);
  // Late in the window: a 1 s retry still fits at 29:58, not at 29:59.5.
  clock.set(T0 + 30 * MIN - 2000);
  assert.equal(policy.onFailure(initialRetryState(T0), unavailable).kind, 'retry');
  clock.set(T0 + 30 * MIN - 500);
  assert.equal(policy.onFailure(initialRetryState(T0), unavailable).kind, 'abandon');
});

test('checkDeadline: a target not handed to the PNS within 30 minutes of acceptance is abandoned', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock);
  const state = initialRetryState(T0);
  assert.equal(policy.checkDeadline(state), undefined);
  clock.advance(30 * MIN - 1);
  assert.equal(policy.checkDeadline(state), undefined);
  clock.advance(1);
  const d = policy.checkDeadline(state);
  assert.equal(d?.kind, 'abandon');
  assert.equal(d?.kind === 'abandon' && d.reason, 'deadline');
  assert.equal(d?.state, state);
  // A scheduled notification's window starts when it becomes due, which the caller passes as acceptedAtMs.
  assert.equal(policy.checkDeadline(initialRetryState(T0 + 60 * MIN)), undefined);
});

test('a virtual-time run: failures until success never exceed the window and never sleep', () => {
  const clock = new ManualClock(T0);
  const policy = new RetryPolicy(clock, { jitter: 'full', maxAttempts: 50 }, sequence(0.9));
  let state = initialRetryState(T0);
  let decisions = 0;
  for (;;) {
    if (policy.checkDeadline(state) !== undefined) break;
    const d = policy.onFailure(state, { outcome: 'Throttled', reason: '429', status: 429, headers: { 'retry-after': '5' } });
    decisions++;
    if (d.kind === 'abandon') {
      assert.ok(clock.now() < policy.deadline(T0));
      break;
    }
    assert.ok(d.atMs < policy.deadline(T0));
    state = d.state;
    clock.set(d.atMs);
  }
  assert.ok(decisions > 5 && decisions < 50, `decisions: ${decisions}`);
});

test('options are checked', () => {
  const clock = new ManualClock(T0);
  assert.throws(() => new RetryPolicy(clock, { baseDelayMs: 0 }), RangeError);
  assert.throws(() => new RetryPolicy(clock, { baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
  assert.throws(() => new RetryPolicy(clock, { maxAttempts: 0 }), RangeError);
  assert.equal(new RetryPolicy(clock).options.abandonAfterMs, 30 * MIN);
});
