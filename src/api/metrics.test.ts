import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createDeliveryMetrics } from './metrics.ts';

test('push metrics: many hubs, notifications and PNS reasons add no series; queue gauges read the store at scrape', async () => {
  const registry = new Registry();
  let depth = { jobs: 7, oldestRunnableAt: 1_000 as number | undefined };
  const observer = createDeliveryMetrics(registry, { depth: async () => depth, now: () => 31_000 });
  for (let i = 0; i < 500; i++) {
    observer.batchDelivered({
      hub: `hub-${i}`,
      notificationId: `n-${i}`,
      acceptedAt: 0,
      now: 2_000,
      lines: [
        { platform: ['apns', 'fcmv1', 'wns', 'browser'][i % 4]!, outcome: 'Success', reason: `ok ${i}`, count: 3, retry: false },
        { platform: 'apns', outcome: 'PnsUnavailable', reason: `device ${i} said no`, count: 1, retry: true },
      ],
    });
  }
  const text = await registry.metrics();
  assert.ok(!/hub-|n-\d|device \d/.test(text), 'no hub, notification or reason in any label');
  const series = text.split('\n').filter((l) => /^herald_push/.test(l));
  assert.equal(series.filter((l) => l.startsWith('herald_pushes_total{')).length, 4, 'one series per platform and outcome');
  assert.match(text, /herald_pushes_total\{platform="apns",outcome="Success"\} 375/);
  assert.match(text, /herald_push_retries_total\{platform="apns",outcome="PnsUnavailable"\} 500/);
  // A batch with retries of a platform is not its last answer: apns latency is never observed here.
  assert.match(text, /herald_push_latency_seconds_count\{platform="fcmv1"\} 125/);
  assert.ok(!/herald_push_latency_seconds_count\{platform="apns"\}/.test(text));
  assert.match(text, /herald_queue_jobs 7/);
  assert.match(text, /herald_queue_oldest_runnable_age_seconds 30/);
  depth = { jobs: 0, oldestRunnableAt: undefined };
  await new Promise((resolve) => setImmediate(resolve));
  const later = await registry.metrics();
  assert.match(later, /herald_queue_jobs 0/);
  assert.match(later, /herald_queue_oldest_runnable_age_seconds 0/);
});
