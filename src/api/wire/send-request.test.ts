import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { capturedRequests, type CapturedRequest } from '../../../test/fixtures/captured.ts';
import { eligibleKinds, type SendRequest } from '../../dispatch/send-model.ts';
import { parseScheduleTime, parseSendFormat, parseSendRequest, type SendRequestInput } from './send-request.ts';
import { rejects } from '../../../test/fixtures/hub-error.ts';


/** A captured request as the HTTP layer hands it over: lower-case header map, decoded query, body bytes. */
function fromCaptured(req: CapturedRequest): SendRequestInput {
  const url = new URL(req.url, 'https://localhost');
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i]!.toLowerCase()] = req.rawHeaders[i + 1]!;
  const path = decodeURIComponent(url.pathname);
  return { headers, query: url.searchParams, body: Buffer.from(req.body), batch: path.endsWith('/$batch'), scheduled: path.includes('/schedulednotifications') };
}

const sends = capturedRequests().filter((r) => r.method === 'POST' && /\/(messages|schedulednotifications)\//.test(r.url));
function captured(method: string, predicate: (r: CapturedRequest) => boolean): SendRequestInput {
  const found = sends.filter(predicate);
  assert.ok(found.length > 0, `no captured ${method}`);
  return fromCaptured(found[0]!);
}

function input(headers: Record<string, string | string[]>, body: string | Buffer, extra: Partial<SendRequestInput> = {}): SendRequestInput {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { headers: lower, query: new URLSearchParams(), body: Buffer.from(body), batch: false, scheduled: false, ...extra };
}

const APPLE = '{"aps":{"alert":"hi"}}';
const q = (s: string) => new URLSearchParams(s);

test('every captured send of the official client parses', () => {
  assert.equal(sends.length, 11);
  for (const req of sends.filter((r) => !r.body.includes('"title":"hi"'))) parseSendRequest(fromCaptured(req));
});

test('tag expression send (captured): apple, tags, apns-* passthrough, native Apple only', () => {
  const r = parseSendRequest(captured('tag send', (x) => x.rawHeaders.includes('likes_hockey && !likes_football')));
  assert.equal(r.format, 'apple');
  assert.equal(r.platform, 'apns');
  assert.equal(r.target.kind, 'tags');
  assert.equal(r.target.kind === 'tags' && r.target.expression, 'likes_hockey && !likes_football');
  assert.deepEqual(r.target.kind === 'tags' && r.target.parsed.tags, ['likes_hockey', 'likes_football']);
  assert.deepEqual(r.platformHeaders, { 'apns-priority': '10', 'apns-push-type': 'alert' });
  assert.deepEqual(r.eligibleKinds, ['Apple']);
  assert.equal(r.test, false);
  assert.equal(r.scheduledAtMs, undefined);
  assert.equal(r.payload.kind, 'json');
  assert.deepEqual(r.payload.kind === 'json' && r.payload.value, { aps: { alert: { title: 'Hi', body: 'there' }, badge: 1 } });
});

test('test sends (captured): tags with test=true; broadcast template with the JS "undefined" tags header', () => {
  const tagged = parseSendRequest(captured('test send', (x) => x.url.includes('test=true') && x.rawHeaders.includes('a||b')));
  assert.equal(tagged.test, true);
  assert.equal(tagged.target.kind, 'tags');
  const broadcast = parseSendRequest(captured('broadcast test', (x) => x.rawHeaders.includes('undefined')));
  assert.equal(broadcast.test, true);
  assert.deepEqual(broadcast.target, { kind: 'broadcast' });
  assert.equal(broadcast.format, 'template');
  assert.equal(broadcast.platform, undefined);
  assert.deepEqual({ ...(broadcast.payload.kind === 'template' ? broadcast.payload.properties : {}) }, { message: 'hello' });
  assert.deepEqual(broadcast.eligibleKinds, ['WindowsTemplate', 'AppleTemplate', 'GcmTemplate', 'FcmV1Template', 'BrowserTemplate', 'AdmTemplate', 'BaiduTemplate', 'XiaomiTemplate', 'MpnsTemplate']);
});

test('broadcast (captured fcmv1, no tags header); absent, empty and "undefined" tags all mean broadcast', () => {
  const r = parseSendRequest(captured('broadcast', (x) => x.body.startsWith('{"message":{"notification"')));
  assert.deepEqual(r.target, { kind: 'broadcast' });
  assert.deepEqual(r.eligibleKinds, ['FcmV1']);
  for (const tags of ['', '  ', 'undefined']) {
    assert.deepEqual(parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': tags }, APPLE)).target, { kind: 'broadcast' });
  }
});

test('direct sends (captured): apple token upper-cased; windows toast with X-WNS-Type; test ignored on direct', () => {
  const apple = parseSendRequest(captured('apple direct', (x) => x.url.includes('direct=true') && x.rawHeaders.includes('apple')));
  assert.deepEqual(apple.target, { kind: 'direct', batch: false, handles: [{ platform: 'apns', value: '00FC13ADFF785122B4AD' }] });
  assert.deepEqual(apple.eligibleKinds, []);
  const wns = parseSendRequest(captured('wns direct', (x) => x.url.includes('direct=true') && x.rawHeaders.includes('windows')));
  assert.deepEqual(wns.target, { kind: 'direct', batch: false, handles: [{ platform: 'wns', value: 'https://db5.notify.windows.com/?token=x' }] });
  assert.equal(wns.payload.kind === 'xml' && wns.payload.root, 'toast');
  assert.deepEqual(wns.platformHeaders, { 'x-wns-type': 'wns/toast' });
  // JS sends test=true&direct=true when both options are set, then ignores the body (§7.5).
  const both = fromCaptured(sends.find((x) => x.url.includes('direct=true') && x.rawHeaders.includes('apple'))!);
  assert.equal(parseSendRequest({ ...both, query: q('direct=true&test=true') }).test, false);
});

test('windows raw (captured): any bytes, X-WNS-* passthrough; raw may be binary', () => {
  const r = parseSendRequest(captured('raw', (x) => x.rawHeaders.includes('wns/raw')));
  assert.deepEqual(r.payload, { kind: 'raw', bytes: Buffer.from('raw payload') });
  assert.deepEqual(r.platformHeaders, { 'x-wns-cache-policy': 'cache', 'x-wns-type': 'wns/raw' });
  assert.equal(r.contentType, 'application/octet-stream');
  const bin = parseSendRequest(input({ 'ServiceBusNotification-Format': 'windows', 'X-WNS-Type': 'wns/raw' }, Buffer.from([0xff, 0, 1])));
  assert.equal(bin.payload.kind, 'raw');
});

test('browser direct: endpoint + Auth + P256DH validated; the captured dummy keys are refused', () => {
  const req = fromCaptured(sends.find((x) => x.rawHeaders.includes('browser'))!);
  rejects(() => parseSendRequest(req), 'invalid_request', 'invalid_handle', { field: 'P256DH' });
  const p256dh = createECDH('prime256v1').generateKeys().toString('base64url');
  const auth = randomBytes(16).toString('base64url');
  const r = parseSendRequest({ ...req, headers: { ...req.headers, p256dh, auth } });
  assert.deepEqual(r.target, { kind: 'direct', batch: false, handles: [{ platform: 'browser', value: 'https://fcm.googleapis.com/fcm/send/abc', p256dh, auth }] });
  assert.deepEqual(r.payload.kind === 'json' && r.payload.value, { title: 'hi' });
});

test('batch direct (captured): handles from the devices part, payload and its type from the notification part', () => {
  const r = parseSendRequest(captured('batch', (x) => x.url.includes('$batch')));
  assert.deepEqual(r.target, { kind: 'direct', batch: true, handles: [{ platform: 'fcmv1', value: 'tok1' }, { platform: 'fcmv1', value: 'tok2' }] });
  assert.equal(r.contentType, 'application/json;charset=utf-8');
  assert.equal(r.body.toString(), '{"message":{"data":{"a":"b"}}}');
  assert.equal(r.test, false);
});

function batchOf(format: string, devices: unknown, extra: Record<string, string> = {}): SendRequestInput {
  const B = 'b';
  const body = `--${B}\r\nContent-Disposition: inline; name=notification\r\n\r\n${format === 'windows' ? '<toast/>' : '{"message":{}}'}\r\n--${B}\r\nContent-Disposition: inline; name=devices\r\n\r\n${JSON.stringify(devices)}\r\n--${B}--`;
  return input({ 'ServiceBusNotification-Format': format, 'Content-Type': `multipart/mixed; boundary = "${B}"`, ...extra }, body, { batch: true, query: q('direct=true') });
}

test('batch: duplicates sent once; a bad handle names its index; 1001 handles → 400; browser takes subscriptions', () => {
  const r = parseSendRequest(batchOf('fcmv1', ['a', 'b', 'a']));
  assert.deepEqual(r.target.kind === 'direct' && r.target.handles.map((h) => h.value), ['a', 'b']);
  rejects(() => parseSendRequest(batchOf('windows', ['https://x.notify.windows.com/?t=1', 'not a url'], { 'X-WNS-Type': 'wns/toast' })), 'invalid_request', 'invalid_handle', { field: 'devices[1]' });
  rejects(() => parseSendRequest(batchOf('fcmv1', ['a', 7])), 'invalid_request', 'invalid_handle', { field: 'devices[1]' });
  rejects(() => parseSendRequest(batchOf('fcmv1', Array.from({ length: 1001 }, (_, i) => `t${i}`))), 'invalid_request', 'too_many_devices', { limit: 1000 });
  const p256dh = createECDH('prime256v1').generateKeys().toString('base64url');
  const auth = randomBytes(16).toString('base64url');
  const b = parseSendRequest(batchOf('browser', [{ endpoint: 'https://push.example/1', keys: { p256dh, auth } }, { endpoint: 'https://push.example/2', p256dh, auth }]));
  assert.equal(b.target.kind === 'direct' && b.target.handles.length, 2);
  rejects(() => parseSendRequest(batchOf('browser', ['https://push.example/1'])), 'invalid_request', 'invalid_handle', { field: 'devices[0]' });
  rejects(() => parseSendRequest(batchOf('template', ['a'])), 'invalid_request', 'direct_template');
  rejects(() => parseSendRequest(batchOf('baidu', ['a'])), 'invalid_request', 'direct_not_supported');
  rejects(() => parseSendRequest(batchOf('fcmv1', ['a'], { 'ServiceBusNotification-DeviceHandle': 'a' })), 'invalid_request', 'direct_handle_conflict');
});

test('scheduled (captured): JS ISO time with Z; tags or broadcast', () => {
  const tagged = parseSendRequest(captured('schedule', (x) => x.url.includes('schedulednotifications') && x.rawHeaders.includes('likes_hockey')));
  assert.equal(tagged.scheduledAtMs, Date.UTC(2030, 0, 1, 10));
  assert.equal(tagged.target.kind, 'tags');
  const bc = parseSendRequest(captured('schedule broadcast', (x) => x.url.includes('schedulednotifications') && !x.rawHeaders.includes('ServiceBusNotification-Tags')));
  assert.deepEqual(bc.target, { kind: 'broadcast' });
});

test('schedule time: .NET form without offset is UTC; offsets honoured; bad or missing → 400', () => {
  assert.equal(parseScheduleTime('2030-01-01T10:00:00'), Date.UTC(2030, 0, 1, 10));
  assert.equal(parseScheduleTime('2030-01-01T10:00:00.1234567Z'), Date.UTC(2030, 0, 1, 10, 0, 0, 123));
  assert.equal(parseScheduleTime('2030-01-01T12:00:00+02:00'), Date.UTC(2030, 0, 1, 10));
  assert.equal(parseScheduleTime('2030-01-01T05:30-0430'), Date.UTC(2030, 0, 1, 10));
  for (const bad of ['tomorrow', '2030-02-30T10:00:00Z', '2030-01-01T24:00:00Z', '2030-01-01T10:61:00Z', '1893456000']) {
    rejects(() => parseScheduleTime(bad), 'invalid_request', 'invalid_schedule_time', { header: 'ServiceBusNotification-ScheduleTime' });
  }
  const base = { 'ServiceBusNotification-Format': 'apple' };
  rejects(() => parseSendRequest(input(base, APPLE, { scheduled: true })), 'invalid_request', 'missing_header', { header: 'ServiceBusNotification-ScheduleTime' });
  const withTime = { ...base, 'ServiceBusNotification-ScheduleTime': '2030-01-01T10:00:00' };
  rejects(() => parseSendRequest(input(withTime, APPLE)), 'invalid_request', 'schedule_time_not_allowed');
  rejects(() => parseSendRequest(input({ ...withTime, 'ServiceBusNotification-DeviceHandle': 'ab' }, APPLE, { scheduled: true, query: q('direct') })), 'invalid_request', 'direct_not_schedulable');
  rejects(() => parseSendRequest(input(withTime, APPLE, { scheduled: true, query: q('test') })), 'invalid_request', 'test_not_schedulable');
});

test('format: every name in any case, .NET fcm → gcm, unknown or missing → 400', () => {
  assert.equal(parseSendFormat('FcmV1'), 'fcmv1');
  assert.equal(parseSendFormat('fcm'), 'gcm');
  assert.equal(parseSendFormat(' Apple '), 'apple');
  assert.deepEqual(eligibleKinds('windowsphone'), ['Mpns']);
  assert.deepEqual(eligibleKinds('gcm'), ['Gcm']);
  rejects(() => parseSendFormat('nokiax'), 'invalid_request', 'unknown_format', { header: 'ServiceBusNotification-Format' });
  rejects(() => parseSendRequest(input({}, APPLE)), 'invalid_request', 'missing_header', { header: 'ServiceBusNotification-Format' });
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': ['apple', 'gcm'] }, APPLE)), 'invalid_request', 'header_repeated');
});

test('tag expressions: parsed with the limits; errors name the position; 21 OR tags or 7 mixed → 400', () => {
  const send = (tags: string, extra: Partial<SendRequestInput> = {}) => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': tags }, APPLE, extra));
  const e = rejects(() => send('a && (b'), 'invalid_request', 'tag_expression_syntax');
  assert.match(e.message, /position \d+/);
  assert.equal(typeof e.details?.['position'], 'number');
  const or = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`).join('||');
  assert.equal(send(or(20)).target.kind, 'tags');
  rejects(() => send(or(21)), 'invalid_request', 'tag_expression_too_many_tags', { limit: 20 });
  rejects(() => send(Array.from({ length: 7 }, (_, i) => `t${i}`).join(' && ')), 'invalid_request', 'tag_expression_too_many_tags', { limit: 6 });
  assert.equal(send(or(21), { tagLimits: { maxTagsOrOnly: 30 } }).target.kind, 'tags');
});

test('direct: header required with ?direct, refused without it, not with tags; .NET bare &direct flag', () => {
  const f = { 'ServiceBusNotification-Format': 'gcm' };
  const body = '{"data":{}}';
  rejects(() => parseSendRequest(input(f, body, { query: q('direct') })), 'invalid_request', 'missing_header', { header: 'ServiceBusNotification-DeviceHandle' });
  rejects(() => parseSendRequest(input({ ...f, 'ServiceBusNotification-DeviceHandle': 'tok' }, body)), 'invalid_request', 'direct_flag_missing');
  rejects(() => parseSendRequest(input({ ...f, 'ServiceBusNotification-DeviceHandle': 'tok', 'ServiceBusNotification-Tags': 'a' }, body, { query: q('direct') })), 'invalid_request', 'direct_tags_conflict');
  const r = parseSendRequest(input({ ...f, 'ServiceBusNotification-DeviceHandle': 'tok', 'ServiceBusNotification-Tags': 'undefined' }, body, { query: q('direct') }));
  assert.deepEqual(r.target, { kind: 'direct', batch: false, handles: [{ platform: 'gcm', value: 'tok' }] });
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-DeviceHandle': 'xyz' }, APPLE, { query: q('direct') })), 'invalid_request', 'invalid_handle', { field: 'ServiceBusNotification-DeviceHandle' });
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'template', 'ServiceBusNotification-DeviceHandle': 'x' }, '{}', { query: q('direct') })), 'invalid_request', 'direct_template');
});

test('adm bodies are ADM messages: data of string values, consolidationKey up to 64, expiresAfter 1 s to 31 days, a matching md5 (#14 item 6)', () => {
  const send = (body: string): SendRequest => parseSendRequest(input({ 'ServiceBusNotification-Format': 'adm' }, body));
  assert.equal(send('{"data":{"message":"hi"},"consolidationKey":"sync","expiresAfter":3600}').payload.kind, 'json');
  assert.equal(send('{"data":{}}').payload.kind, 'json');
  assert.equal(send('{"notification":{"title":"Hi","body":"there"},"priority":"high"}').payload.kind, 'json', 'a notification message (AdmNativeMessage)');
  rejects(() => send('{"consolidationKey":"k"}'), 'invalid_request', 'invalid_payload', { format: 'adm', admReason: 'InvalidData' });
  rejects(() => send('{"data":{},"priority":"urgent"}'), 'invalid_request', 'invalid_payload', { admReason: 'InvalidData' });
  rejects(() => send('{"message":"hi"}'), 'invalid_request', 'invalid_payload', { admReason: 'InvalidData' });
  rejects(() => send('{"data":{"count":3}}'), 'invalid_request', 'invalid_payload', { admReason: 'InvalidData' });
  rejects(() => send(`{"data":{},"consolidationKey":"${'k'.repeat(65)}"}`), 'invalid_request', 'invalid_payload', { admReason: 'InvalidConsolidationKey' });
  rejects(() => send('{"data":{},"expiresAfter":2678401}'), 'invalid_request', 'invalid_payload', { admReason: 'InvalidExpiration' });
  rejects(() => send('{"data":{"a":"1"},"md5":"nope"}'), 'invalid_request', 'invalid_payload', { admReason: 'InvalidChecksum' });
  assert.throws(() => send('{"data":{"count":3}}'), /data\.count is number; ADM data values are strings/);
});

test('JSON payloads: must parse; native ones must be objects; fcmv1 needs {"message":{…}} without token/topic/condition/fid (#14 item 3)', () => {
  const send = (format: string, body: string | Buffer): SendRequest => parseSendRequest(input({ 'ServiceBusNotification-Format': format }, body));
  rejects(() => send('apple', '{"aps":'), 'malformed_body', 'invalid_json');
  rejects(() => send('apple', Buffer.from([0x7b, 0xff, 0x7d])), 'malformed_body', 'invalid_utf8');
  rejects(() => send('gcm', '[1]'), 'invalid_request', 'invalid_payload');
  rejects(() => send('adm', '"text"'), 'invalid_request', 'invalid_payload');
  assert.deepEqual(send('browser', '"just text"').payload, { kind: 'json', text: '"just text"', value: 'just text' });
  rejects(() => send('fcmv1', '{"notification":{}}'), 'invalid_request', 'invalid_payload', { format: 'fcmv1' });
  for (const key of ['topic', 'condition', 'token', 'fid']) {
    const e = rejects(() => send('fcmv1', `{"message":{"${key}":"x","data":{}}}`), 'fcm_target_in_payload', 'fcm_target_in_payload', { field: `message.${key}` });
    assert.match(e.message, new RegExp(`sets '${key}'; remove it`));
  }
  rejects(() => send('fcmv1', '{"message":{"android":{"direct_boot_ok":"yes"}}}'), 'invalid_request', 'invalid_payload', { field: 'message.android.direct_boot_ok' });
  rejects(() => send('fcmv1', '{"message":{"android":{"bandwidthConstrainedOk":1}}}'), 'invalid_request', 'invalid_payload', { field: 'message.android.bandwidthConstrainedOk' });
  rejects(() => send('fcmv1', '{"message":{"android":{"restricted_satellite_ok":null}}}'), 'invalid_request', 'invalid_payload', { field: 'message.android.restricted_satellite_ok' });
  rejects(() => send('fcmv1', '{"message":{"apns":{"live_activity_token":"not hex"}}}'), 'invalid_request', 'invalid_payload', { field: 'message.apns.live_activity_token' });
  const ok = '{"message":{"android":{"direct_boot_ok":true,"bandwidth_constrained_ok":false,"restricted_satellite_ok":true},"apns":{"live_activity_token":"a1b2c3d4"}}}';
  assert.equal(send('fcmv1', ok).payload.kind, 'json');
  assert.equal(send('apple', `\ufeff${APPLE}`).payload.kind, 'json');
  rejects(() => send('apple', ''), 'invalid_request', 'empty_body');
});

test('template payload: flat object of strings; numbers and booleans become strings; nested values refused', () => {
  const send = (body: string) => parseSendRequest(input({ 'ServiceBusNotification-Format': 'template' }, body));
  const r = send('{"message":"hi","count":3,"flag":true,"ratio":1.5}');
  assert.deepEqual({ ...(r.payload.kind === 'template' ? r.payload.properties : {}) }, { message: 'hi', count: '3', flag: 'true', ratio: '1.5' });
  rejects(() => send('{"a":{"b":"c"}}'), 'invalid_request', 'invalid_payload', { field: 'a' });
  rejects(() => send('{"a":null}'), 'invalid_request', 'invalid_payload', { field: 'a' });
  rejects(() => send('{"a":["x"]}'), 'invalid_request', 'invalid_payload', { field: 'a' });
  rejects(() => send('["x"]'), 'invalid_request', 'invalid_payload');
  rejects(() => send(`{"${'k'.repeat(121)}":"v"}`), 'invalid_request', 'invalid_payload');
});

test('windows XML: type checked against the root, inferred when absent (.NET); DOCTYPE refused', () => {
  const send = (headers: Record<string, string>, body: string) => parseSendRequest(input({ 'ServiceBusNotification-Format': 'windows', ...headers }, body));
  assert.equal(send({ 'X-WNS-Type': 'wns/badge' }, '<badge value="1"/>').payload.kind, 'xml');
  const inferred = send({}, '<tile><visual/></tile>');
  assert.equal(inferred.platformHeaders['x-wns-type'], 'wns/tile');
  rejects(() => send({}, '<other/>'), 'invalid_request', 'missing_header', { header: 'X-WNS-Type' });
  rejects(() => send({ 'X-WNS-Type': 'wns/toast' }, '<tile/>'), 'invalid_request', 'wns_type_mismatch');
  rejects(() => send({ 'X-WNS-Type': 'wns/toast' }, '<toast>'), 'malformed_body', undefined);
  rejects(() => send({ 'X-WNS-Type': 'wns/toast' }, '<!DOCTYPE x [<!ENTITY a "b">]><toast/>'), 'invalid_request', 'xml_doctype_refused');
  rejects(() => send({ 'X-WNS-Type': 'wns/popup' }, '<toast/>'), 'invalid_request', 'invalid_header', { header: 'x-wns-type' });
  const mpns = parseSendRequest(input({ 'ServiceBusNotification-Format': 'windowsphone', 'X-WindowsPhone-Target': 'toast', 'X-NotificationClass': '2' }, '<wp:Notification xmlns:wp="WPNotification"/>'));
  assert.deepEqual(mpns.platformHeaders, { 'x-windowsphone-target': 'toast', 'x-notificationclass': '2' });
  assert.equal(parseSendRequest(input({ 'ServiceBusNotification-Format': 'windowsphone' }, 'raw')).payload.kind, 'raw');
});

test('platform headers: only the format\'s own pass; values checked; template keeps all recognised ones', () => {
  const headers = { 'apns-priority': '5', 'X-Apns-Priority': '10', 'ServiceBusNotification-Apns-Expiry': '2030-01-01T00:00:00Z', 'X-WNS-TTL': '60', 'Other': 'x' };
  const apple = parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', ...headers }, APPLE));
  // The legacy headers become the APNs ones (§7.1); an explicit apns-* header wins.
  assert.deepEqual(apple.platformHeaders, { 'apns-priority': '5', 'apns-expiration': String(Date.UTC(2030, 0, 1) / 1000) });
  const gcm = parseSendRequest(input({ 'ServiceBusNotification-Format': 'gcm', ...headers }, '{}'));
  assert.deepEqual(gcm.platformHeaders, {});
  const tpl = parseSendRequest(input({ 'ServiceBusNotification-Format': 'template', ...headers }, '{}'));
  assert.deepEqual(Object.keys(tpl.platformHeaders).sort(), ['apns-expiration', 'apns-priority', 'x-wns-ttl']);
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'apns-priority': '7' }, APPLE)), 'invalid_request', 'invalid_header', { header: 'apns-priority' });
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'apns-expiration': 'soon' }, APPLE)), 'invalid_request', 'invalid_header', { header: 'apns-expiration' });
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', 'apns-topic': 'x'.repeat(5000) }, APPLE)), 'invalid_request', 'invalid_header');
});

test('legacy APNs headers X-Apns-Priority and ServiceBusNotification-Apns-Expiry become apns-priority and apns-expiration (#10 item 4)', () => {
  const legacy = (headers: Record<string, string>) => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple', ...headers }, APPLE)).platformHeaders;
  assert.deepEqual(legacy({ 'X-Apns-Priority': '5', 'ServiceBusNotification-Apns-Expiry': '2030-01-31T13:05:09Z' }),
    { 'apns-priority': '5', 'apns-expiration': String(Date.UTC(2030, 0, 31, 13, 5, 9) / 1000) });
  // .NET writes the expiry with the invariant culture; azure-sb with toISOString; 0 means "do not store".
  assert.equal(legacy({ 'ServiceBusNotification-Apns-Expiry': '01/31/2030 13:05:09' })['apns-expiration'], String(Date.UTC(2030, 0, 31, 13, 5, 9) / 1000));
  assert.equal(legacy({ 'ServiceBusNotification-Apns-Expiry': '0' })['apns-expiration'], '0');
  assert.deepEqual(legacy({ 'X-Apns-Priority': '10', 'apns-priority': '5' }), { 'apns-priority': '5' });
  const tpl = parseSendRequest(input({ 'ServiceBusNotification-Format': 'template', 'X-Apns-Priority': '10' }, '{}')).platformHeaders;
  assert.deepEqual(tpl, { 'apns-priority': '10' });
  rejects(() => legacy({ 'ServiceBusNotification-Apns-Expiry': 'next tuesday' }), 'invalid_request', 'invalid_header', { header: 'servicebusnotification-apns-expiry' });
  rejects(() => legacy({ 'X-Apns-Priority': 'high' }), 'invalid_request', 'invalid_header', { header: 'x-apns-priority' });
});

test('request size: more than 64 KiB is 413 payload_too_large', () => {
  const big = `{"aps":{"alert":"${'x'.repeat(64 * 1024)}"}}`;
  rejects(() => parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple' }, big)), 'payload_too_large', 'body_too_large', { limit: 65536 });
  // Per-platform limits (APNs 4 KB) are the connectors' job: a 10 KB apple payload is accepted here.
  assert.equal(parseSendRequest(input({ 'ServiceBusNotification-Format': 'apple' }, `{"aps":{"alert":"${'x'.repeat(10_000)}"}}`)).payload.kind, 'json');
});

test('browser: TTL, Urgency and Topic pass through, checked (RFC 8030); other formats do not take them (#14 item 4)', () => {
  const send = (headers: Record<string, string>, format = 'browser') => parseSendRequest(input({ 'ServiceBusNotification-Format': format, ...headers }, '{"t":1}'));
  assert.deepEqual(send({ TTL: '60', Urgency: 'high', Topic: 'score_42-x' }).platformHeaders, { ttl: '60', urgency: 'high', topic: 'score_42-x' });
  assert.deepEqual(send({ TTL: '2419200' }).platformHeaders, { ttl: '2419200' });
  assert.deepEqual(send({ TTL: '60', Urgency: 'high' }, 'gcm').platformHeaders, {});
  rejects(() => send({ TTL: '2419201' }), 'invalid_request', 'invalid_header', { header: 'ttl' });
  rejects(() => send({ TTL: '-1' }), 'invalid_request', 'invalid_header', { header: 'ttl' });
  rejects(() => send({ Urgency: 'urgent' }), 'invalid_request', 'invalid_header', { header: 'urgency' });
  rejects(() => send({ Topic: 'x'.repeat(33) }), 'invalid_request', 'invalid_header', { header: 'topic' });
  const e = rejects(() => send({ Topic: 'has space' }), 'invalid_request', 'invalid_header', { header: 'topic' });
  assert.match(e.message, /at most 32 characters/);
});

test('browser: a Declarative Web Push body (web_push 8030) needs notification.title and navigate; other JSON passes (#14 item 4)', () => {
  const send = (body: unknown) => parseSendRequest(input({ 'ServiceBusNotification-Format': 'browser' }, JSON.stringify(body)));
  const good = { web_push: 8030, notification: { title: 'Hi', navigate: 'https://example.com/inbox', body: 'b', dir: 'ltr', silent: false, actions: [{ action: 'open', title: 'Open', navigate: '/a' }] }, app_badge: 3, mutable: true };
  assert.equal(send(good).payload.kind, 'json');
  assert.equal(send({ notification: { title: 'not declarative' } }).payload.kind, 'json', 'no web_push: the service worker reads it');
  const cases: Array<[unknown, string]> = [
    [{ web_push: 9001, notification: { title: 't', navigate: '/' } }, 'web_push'],
    [{ web_push: '8030', notification: { title: 't', navigate: '/' } }, 'web_push'],
    [{ web_push: 8030 }, 'notification'],
    [{ web_push: 8030, notification: { navigate: '/' } }, 'notification.title'],
    [{ web_push: 8030, notification: { title: 't' } }, 'notification.navigate'],
    [{ web_push: 8030, notification: { title: 't', navigate: 'javascript:alert(1)' } }, 'notification.navigate'],
    [{ web_push: 8030, notification: { title: 't', navigate: '/', dir: 'up' } }, 'notification.dir'],
    [{ web_push: 8030, notification: { title: 't', navigate: '/', silent: 'no' } }, 'notification.silent'],
    [{ web_push: 8030, notification: { title: 't', navigate: '/', actions: [{ action: 'a', title: 'A' }] } }, 'notification.actions[0].navigate'],
    [{ web_push: 8030, notification: { title: 't', navigate: '/' }, app_badge: -1 }, 'app_badge'],
    [{ web_push: 8030, notification: { title: 't', navigate: '/' }, mutable: 'yes' }, 'mutable'],
  ];
  for (const [body, field] of cases) {
    const e = rejects(() => send(body), 'invalid_request', 'invalid_declarative_push', { field, format: 'browser' });
    assert.match(e.message, /^Declarative Web Push: /);
  }
});
