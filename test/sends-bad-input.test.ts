/**
 * Bad sends (issue 5, "Bad input"): each is refused with its exact status and detail, and nothing is
 * stored (no notification row) or sent (the emulators saw no request).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSasToken } from '../src/auth/sas.ts';
import { emulatorCall, startTestHerald, type TestHerald } from './helpers.ts';

describe('bad sends', () => {
  let h: TestHerald;
  let auth: string;
  before(async () => {
    h = await startTestHerald();
    const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    auth = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
  });
  after(() => h.close());

  const notifications = () => {
    const db = new Database(join(h.dataDir, 'herald.db'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM notifications').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const requestsSeen = async () => {
    let n = 0;
    for (const p of ['apns', 'fcmv1', 'wns', 'browser'] as const) n += (await emulatorCall(h, p, '/_emulator/stats')).requests ?? 0;
    return n;
  };

  async function send(path: string, headers: Record<string, string>, body: string | Buffer) {
    const res = await fetch(`${h.httpUrl}/sandbox${path}`, { method: 'POST', headers: { authorization: auth, ...headers }, body });
    return { status: res.status, text: await res.text() };
  }

  const json = { 'content-type': 'application/json;charset=utf-8' };
  const boundary = 'nh-boundary-1';
  const multipart = (devices: string, notification = '{"message":{"data":{"a":"b"}}}', b = boundary) =>
    `--${b}\r\nContent-type: application/json;charset=utf-8\r\nContent-Disposition: inline; name=notification\r\n\r\n${notification}\r\n--${b}\r\nContent-type: application/json\r\nContent-Disposition: inline; name=devices\r\n\r\n${devices}\r\n--${b}--`;

  const cases: Array<[string, string, Record<string, string>, string | Buffer, number, RegExp]> = [
    ['an unknown format', '/messages/', { ...json, 'ServiceBusNotification-Format': 'pigeon' }, '{}', 400, /pigeon/],
    ['an apple payload that is not JSON', '/messages/', { ...json, 'ServiceBusNotification-Format': 'apple' }, '{"aps":', 400, /JSON/],
    ['an fcmv1 payload without its message envelope', '/messages/', { ...json, 'ServiceBusNotification-Format': 'fcmv1' }, '{"data":{}}', 400, /message/],
    ['a payload over the limit', '/messages/', { ...json, 'ServiceBusNotification-Format': 'apple' }, `{"aps":{"alert":"${'x'.repeat(70 * 1024)}"}}`, 413, /larger than the limit/],
    ['a tag expression with a syntax error', '/messages/', { ...json, 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'a && (b' }, '{"aps":{}}', 400, /position/],
    ['a tag expression over the limit', '/messages/', { ...json, 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'a && b && c && d && e && f && g' }, '{"aps":{}}', 400, /6/],
    ['a template property bag that is not flat', '/messages/', { ...json, 'ServiceBusNotification-Format': 'template' }, '{"message":{"nested":"no"}}', 400, /message/],
    ['a schedule time that does not parse', '/schedulednotifications/', { ...json, 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-ScheduleTime': 'next tuesday' }, '{"aps":{}}', 400, /next tuesday|ScheduleTime/],
    ['a $batch body with a broken boundary', '/messages/$batch?direct', { 'content-type': `multipart/mixed; boundary = "${boundary}"`, 'ServiceBusNotification-Format': 'fcmv1' }, multipart('["t1"]', undefined, 'other-boundary'), 400, /part/],
    ['a $batch of 1001 handles', '/messages/$batch?direct', { 'content-type': `multipart/mixed; boundary = "${boundary}"`, 'ServiceBusNotification-Format': 'fcmv1' }, multipart(JSON.stringify(Array.from({ length: 1001 }, (_, i) => `tok-${i}`))), 400, /1000/],
    ['a direct send with a malformed handle', '/messages/?direct', { ...json, 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-DeviceHandle': 'not-a-token!' }, '{"aps":{}}', 400, /DeviceHandle must be the device token in hexadecimal/],
  ];

  for (const [name, path, headers, body, status, detail] of cases) {
    test(`${name}: ${status}, nothing stored or sent`, async () => {
      const storedBefore = notifications();
      const sentBefore = await requestsSeen();
      const r = await send(path, headers, body);
      assert.equal(r.status, status, r.text);
      assert.match(r.text, new RegExp(`^<Error><Code>${status}</Code><Detail>`));
      assert.match(r.text, detail);
      assert.equal(notifications(), storedBefore, 'no notification stored');
      assert.equal(await requestsSeen(), sentBefore, 'nothing sent to any PNS');
    });
  }

  test('over the hub send rate: 429 with Retry-After and the Azure error body, nothing stored', async () => {
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { sendsPerSecond: 1 } })).status, 200);
    try {
      const headers = { ...json, 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'nobody' };
      assert.equal((await send('/messages/', headers, '{"aps":{}}')).status, 201);
      const stored = notifications();
      const res = await fetch(`${h.httpUrl}/sandbox/messages/`, { method: 'POST', headers: { authorization: auth, ...headers }, body: '{"aps":{}}' });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.match(await res.text(), /^<Error><Code>429<\/Code><Detail>The hub's sends rate limit of 1 per second is reached/);
      assert.equal(notifications(), stored);
    } finally {
      await h.admin('PATCH', '/hubs/sandbox', { settings: { sendsPerSecond: null } });
    }
  });
});
