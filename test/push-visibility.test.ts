/**
 * What happened to my push? (issue 12 item 4): a push that fails or waits for a retry is visible in the
 * log (one warning line per failing batch), in the outcomes API (pending targets with attempts and last
 * error), and in /_metrics (pushes by platform and outcome, retries, queue depth and age, latency).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotificationHubsClient, createAppleNotification, createAppleRegistrationDescription } from '@azure/notification-hubs';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

/** The value of one series in a Prometheus text answer (undefined when absent). */
function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('a push that waits for a retry is visible', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let device: { handle: string };
  let registrationId: string;
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    device = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    registrationId = (await client.createRegistration(createAppleRegistrationDescription({ deviceToken: device.handle, tags: ['stuck'] }))).registrationId!;
  });
  after(() => h.close());

  test('log line, pending target with attempts and last error, metrics; then the retry succeeds', async () => {
    await emulatorCall(h, 'apns', '/_emulator/faults', 'POST', { status: 503, reason: 'ServiceUnavailable', count: 1 });
    const res = await client.sendNotification(createAppleNotification({ body: { aps: { alert: 'later' } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'stuck' });
    const id = res.notificationId!;
    // Run what is due now, not the retry.
    await h.settle({ horizonMs: 0 });

    const warn = h.logLines.filter((l) => l.level === 40 && l.notification === id);
    assert.equal(warn.length, 1, 'one warning line for the failing batch');
    assert.equal(warn[0]!.msg, 'pushes of a batch failed and wait for a retry');
    assert.deepEqual(warn[0]!.failures, [{ platform: 'apns', outcome: 'PnsUnavailable', reason: 'ServiceUnavailable', targets: 1, retry: true }]);
    assert.equal(typeof warn[0]!.nextAttemptAt, 'string');

    const waiting = await h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes`);
    assert.equal(waiting.status, 200);
    assert.equal(waiting.body.state, 'Processing');
    assert.deepEqual(waiting.body.items, []);
    assert.equal(waiting.body.pending.planning, false);
    assert.equal(waiting.body.pending.more, false);
    const [p] = waiting.body.pending.items;
    assert.equal(waiting.body.pending.items.length, 1);
    assert.equal(p.registrationId, registrationId);
    assert.equal(p.platform, 'apns');
    assert.equal(p.handle.toLowerCase(), device.handle, 'the registered device token');
    assert.equal(p.attempts, 1);
    assert.equal(p.lastError.outcome, 'PnsUnavailable');
    assert.equal(p.lastError.reason, 'ServiceUnavailable');
    assert.equal(p.lastError.status, 503);
    assert.equal(p.nextAttemptAt, warn[0]!.nextAttemptAt);

    let text = await (await fetch(`${h.httpUrl}/_metrics`)).text();
    assert.equal(metric(text, 'herald_push_retries_total{platform="apns",outcome="PnsUnavailable"}'), 1);
    assert.equal(metric(text, 'herald_pushes_total{platform="apns",outcome="Success"}'), undefined);
    assert.equal(metric(text, 'herald_queue_jobs'), 1, 'the retry waits in the queue');
    assert.equal(metric(text, 'herald_queue_oldest_runnable_age_seconds'), 0, 'not runnable yet');

    // The retry's time comes (virtual time): it is delivered.
    await h.settle({ horizonMs: 3_600_000 });
    const done = await h.admin('GET', `/hubs/sandbox/messages/${id}/outcomes`);
    assert.equal(done.body.state, 'Completed');
    assert.equal(done.body.pending, undefined, 'a finished notification has nothing pending');
    assert.equal(done.body.items[0].outcome, 'Success');
    assert.equal(done.body.items[0].attempts, 2);
    text = await (await fetch(`${h.httpUrl}/_metrics`)).text();
    assert.equal(metric(text, 'herald_pushes_total{platform="apns",outcome="Success"}'), 1);
    assert.equal(metric(text, 'herald_push_latency_seconds_count{platform="apns"}'), 1);
    assert.equal(metric(text, 'herald_queue_jobs'), 0);
    assert.equal(h.logLines.filter((l) => l.level === 40 && l.notification === id).length, 1, 'the successful retry logs no warning');
  });

  test('a final failure is logged with its outcome and counted, without a retry', async () => {
    await emulatorCall(h, 'apns', '/_emulator/devices/' + encodeURIComponent(device.handle) + '/expire', 'POST', {});
    const res = await client.sendNotification(createAppleNotification({ body: { aps: { alert: 'gone' } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'stuck' });
    await h.settle();
    const warn = h.logLines.filter((l) => l.level === 40 && l.notification === res.notificationId);
    assert.equal(warn.length, 1);
    assert.equal(warn[0]!.msg, 'pushes of a batch failed');
    assert.deepEqual(warn[0]!.failures, [{ platform: 'apns', outcome: 'ExpiredChannel', reason: 'Unregistered', targets: 1 }]);
    const text = await (await fetch(`${h.httpUrl}/_metrics`)).text();
    assert.equal(metric(text, 'herald_pushes_total{platform="apns",outcome="ExpiredChannel"}'), 1);
  });
});
