import { test } from 'node:test';
import assert from 'node:assert/strict';
// The official client's own response parsers; not exported by the package, so imported by path.
import { parseNotificationOutcome } from '../../../node_modules/@azure/notification-hubs/dist/esm/serializers/notificationOutcomeSerializer.js';
import { parseNotificationDetails } from '../../../node_modules/@azure/notification-hubs/dist/esm/serializers/notificationDetailsSerializer.js';
import { HubError } from '../../shared/errors.ts';
import { MAX_TEST_SEND_RESULTS } from '../../dispatch/send-model.ts';
import { parseXml } from './atom.ts';
import {
  APPLICATION_PLATFORM,
  renderNotificationDetails,
  renderNotificationOutcome,
  targetPlatformName,
  type NotificationDetailsView,
} from './notification-xml.ts';

const result = (i: number, outcome = 'Success') => ({ applicationPlatform: 'apple', pnsHandle: `HANDLE${i}`, registrationId: `reg-${i}`, outcome });

test('NotificationOutcome: the JS client reads counts, results and DetailedStateAvailable', async () => {
  const xml = renderNotificationOutcome({ success: 1, failure: 1, results: [result(1), { ...result(2, 'WrongToken'), applicationPlatform: APPLICATION_PLATFORM.fcmv1 }] });
  const parsed = await parseNotificationOutcome(xml);
  assert.deepEqual(parsed, {
    successCount: 1,
    failureCount: 1,
    state: 'DetailedStateAvailable',
    results: [
      { applicationPlatform: 'apple', registrationId: 'reg-1', outcome: 'Success', pnsHandle: 'HANDLE1' },
      { applicationPlatform: 'fcmv1', registrationId: 'reg-2', outcome: 'WrongToken', pnsHandle: 'HANDLE2' },
    ],
  });
});

test('NotificationOutcome: <Results/> when there are none (the JS client crashes without the element)', async () => {
  const xml = renderNotificationOutcome({ success: 0, failure: 0, results: [] });
  assert.match(xml, /<Results\/>/);
  assert.deepEqual(await parseNotificationOutcome(xml), { successCount: 0, failureCount: 0, results: [], state: 'DetailedStateAvailable' });
});

test('NotificationOutcome: .NET element order, at most 10 results, one result still a list, escaping', async () => {
  const many = Array.from({ length: 12 }, (_, i) => result(i));
  const xml = renderNotificationOutcome({ success: 12, failure: 0, results: many });
  const root = parseXml(xml);
  assert.deepEqual(root.children.map((c) => c.localName), ['Success', 'Failure', 'Results']);
  const results = root.children[2]!.children;
  assert.equal(results.length, MAX_TEST_SEND_RESULTS);
  assert.deepEqual(results[0]!.children.map((c) => c.localName), ['ApplicationPlatform', 'PnsHandle', 'RegistrationId', 'Outcome']);
  assert.equal((await parseNotificationOutcome(xml)).results.length, 10);
  const one = await parseNotificationOutcome(renderNotificationOutcome({ success: 0, failure: 1, results: [{ ...result(1), pnsHandle: 'https://x/?a=1&b=<2>', outcome: 'Bad "x" \u0001' }] }));
  assert.equal(one.results[0]!.pnsHandle, 'https://x/?a=1&b=<2>');
  assert.equal(one.results[0]!.outcome, 'Bad "x" \ufffd');
});

test('NotificationOutcome: an empty PnsHandle is an empty element, which the client accepts', async () => {
  const parsed = await parseNotificationOutcome(renderNotificationOutcome({ success: 1, failure: 0, results: [{ ...result(1), pnsHandle: '' }] }));
  assert.equal(parsed.results[0]!.pnsHandle, '');
});

function details(overrides: Partial<NotificationDetailsView> = {}): NotificationDetailsView {
  return {
    notificationId: '73622a22797441e4b434e8c2c14112ce-20181107001834-33331921-18',
    location: 'sb://localhost/myhub/messages/73622a22797441e4b434e8c2c14112ce-20181107001834-33331921-18?api-version=2020-06',
    state: 'Completed',
    enqueueTime: Date.UTC(2024, 0, 1, 0, 0, 0),
    startTime: Date.UTC(2024, 0, 1, 0, 0, 1, 123),
    endTime: Date.UTC(2024, 0, 1, 0, 0, 2, 456),
    body: '{"aps":{"alert":"<hi> & \'bye\'"}}',
    tags: 'a && !b',
    targetPlatforms: ['apple', 'fcmv1'],
    outcomeCounts: {},
    ...overrides,
  };
}

test('NotificationDetails: the JS client reads state, times, body, platforms and the error URL', async () => {
  const view = details({ pnsErrorDetailsUri: 'https://blob.example/c?sig=a&se=b' });
  const parsed = await parseNotificationDetails(renderNotificationDetails(view));
  assert.equal(parsed.notificationId, view.notificationId);
  assert.equal(parsed.location, view.location);
  assert.equal(parsed.state, 'Completed');
  assert.equal(parsed.enqueueTime?.getTime(), view.enqueueTime);
  assert.equal(parsed.startTime?.getTime(), view.startTime);
  assert.equal(parsed.endTime?.getTime(), view.endTime);
  assert.equal(parsed.notificationBody, view.body);
  assert.equal(parsed.targetPlatforms, 'apple,fcmv1');
  assert.equal(parsed.pnsErrorDetailsUrl, 'https://blob.example/c?sig=a&se=b');
});

test('NotificationDetails: counts per PNS under the element the JS client maps them from', async () => {
  const xml = renderNotificationDetails(details({
    outcomeCounts: {
      apns: { WrongToken: 1, Success: 3 },
      wns: { ExpiredChannel: 2 },
      gcm: { Success: 4 },
      fcmv1: { Success: 2, InvalidCredentials: 1 },
      adm: { Success: 5 },
      baidu: { Success: 6 },
      browser: { Success: 7 },
      xiaomi: { PnsUnreachable: 8 },
      mpns: { Success: 9 },
    },
  }));
  const parsed = await parseNotificationDetails(xml);
  assert.deepEqual(parsed.apnsOutcomeCounts, [{ state: 'Success', count: 3 }, { state: 'WrongToken', count: 1 }]);
  assert.deepEqual(parsed.wnsOutcomeCounts, [{ state: 'ExpiredChannel', count: 2 }]);
  assert.deepEqual(parsed.fcmOutcomeCounts, [{ state: 'Success', count: 4 }]); // GcmOutcomeCounts → fcmOutcomeCounts
  assert.deepEqual(parsed.fcmV1OutcomeCounts, [{ state: 'Success', count: 2 }, { state: 'InvalidCredentials', count: 1 }]);
  assert.deepEqual(parsed.admOutcomeCounts, [{ state: 'Success', count: 5 }]);
  assert.deepEqual(parsed.baiduOutcomeCounts, [{ state: 'Success', count: 6 }]);
  assert.deepEqual(parsed.browserOutcomeCounts, [{ state: 'Success', count: 7 }]);
  assert.deepEqual(parsed.xiaomiOutcomeCounts, [{ state: 'PnsUnreachable', count: 8 }]);
  assert.match(xml, /<MpnsOutcomeCounts>/); // for .NET; JS does not read it
});

test('NotificationDetails: never an empty *OutcomeCounts (the JS client crashes on one); zeros are dropped', async () => {
  const xml = renderNotificationDetails(details({ state: 'NoTargetFound', outcomeCounts: { apns: {}, fcmv1: { Success: 0 }, wns: { Success: 0, Dropped: 1 } }, targetPlatforms: [] }));
  assert.doesNotMatch(xml, /ApnsOutcomeCounts|FcmV1OutcomeCounts|TargetPlatforms/);
  const parsed = await parseNotificationDetails(xml);
  assert.equal(parsed.state, 'NoTargetFound');
  assert.equal(parsed.apnsOutcomeCounts, undefined);
  assert.deepEqual(parsed.wnsOutcomeCounts, [{ state: 'Dropped', count: 1 }]);
  assert.throws(() => renderNotificationDetails(details({ outcomeCounts: { apns: { Success: 1.5 } } })), (e: unknown) => e instanceof HubError && e.code === 'internal');
});

test('NotificationDetails: .NET DataContract element order; every state is read back', async () => {
  const xml = renderNotificationDetails(details({
    pnsErrorDetailsUri: 'https://blob.example/c',
    outcomeCounts: { fcmv1: { Success: 1 }, apns: { Success: 1 }, adm: { Success: 1 }, gcm: { Success: 1 }, wns: { Success: 1 }, mpns: { Success: 1 }, xiaomi: { Success: 1 }, browser: { Success: 1 }, baidu: { Success: 1 } },
  }));
  assert.deepEqual(parseXml(xml).children.map((c) => c.localName), [
    'NotificationId', 'Location', 'State', 'EnqueueTime', 'StartTime', 'EndTime', 'NotificationBody', 'Tags', 'TargetPlatforms',
    'ApnsOutcomeCounts', 'MpnsOutcomeCounts', 'WnsOutcomeCounts', 'GcmOutcomeCounts', 'AdmOutcomeCounts', 'PnsErrorDetailsUri',
    'FcmV1OutcomeCounts', 'BaiduOutcomeCounts', 'BrowserOutcomeCounts', 'XiaomiOutcomeCounts',
  ]);
  for (const state of ['Enqueued', 'Processing', 'Completed', 'Abandoned', 'NoTargetFound', 'Unknown', 'Cancelled'] as const) {
    const parsed = await parseNotificationDetails(renderNotificationDetails(details({ state, startTime: undefined, endTime: undefined })));
    assert.equal(parsed.state, state);
    assert.equal(parsed.startTime, undefined);
  }
});

test('NotificationDetails: a body with XML specials, control characters and a raw-looking payload survives', async () => {
  const body = '<toast><visual><binding template="T"><text>a & b</text></binding></visual></toast>';
  const parsed = await parseNotificationDetails(renderNotificationDetails(details({ body })));
  assert.equal(parsed.notificationBody, body);
  const ctl = await parseNotificationDetails(renderNotificationDetails(details({ body: 'x\u0000y' })));
  assert.equal(ctl.notificationBody, 'x\ufffdy');
});

test('TargetPlatforms names per registration kind', () => {
  assert.equal(targetPlatformName('Apple'), 'apple');
  assert.equal(targetPlatformName('AppleTemplate'), 'appletemplate');
  assert.equal(targetPlatformName('Mpns'), 'windowsphone');
  assert.equal(targetPlatformName('MpnsTemplate'), 'windowsphonetemplate');
  assert.equal(targetPlatformName('FcmV1Template'), 'fcmv1template');
  assert.equal(targetPlatformName('Windows'), 'windows');
});
