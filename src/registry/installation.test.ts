import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests } from '../../test/fixtures/captured.ts';
import { HubError } from '../shared/errors.ts';
import {
  INSTALLATION_NEVER_EXPIRES,
  installationToJson,
  MAX_INSTALLATION_JSON_DEPTH,
  parseInstallation,
  parseInstallationJson,
} from './installation.ts';

const NOW = Date.parse('2026-01-02T03:04:05.678Z');
const TOKEN = '00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0';
const P256DH = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const AUTH = Buffer.alloc(16, 9).toString('base64url');
const ENDPOINT = 'https://fcm.googleapis.com/fcm/send/abc';
const WNS = 'https://db5p.notify.windows.com/?token=AwYAAAB';

function rejects(fn: () => unknown, code: string, reason: string, details: Record<string, unknown> = {}): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.details?.reason, reason, err.message);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, `details.${k}`);
    return true;
  });
}

function capturedPut(id: string): { body: unknown; pathId: string } {
  const req = capturedRequests().find((r) => r.method === 'PUT' && r.url.startsWith(`/myhub/installations/${id}?`));
  assert.ok(req, `captured PUT of ${id}`);
  return { body: parseInstallationJson(req.body), pathId: id };
}

const apns = (extra: Record<string, unknown> = {}) => ({ installationId: 'i1', platform: 'apns', pushChannel: TOKEN, ...extra });

test('the captured JS PUT parses and GET shows it as the real service does (§5.1, §5.3)', () => {
  const { body, pathId } = capturedPut('inst-1');
  const inst = parseInstallation(body, pathId, NOW);
  assert.equal(inst.platform, 'apns');
  assert.equal(inst.pushChannel, TOKEN.toUpperCase());
  assert.deepEqual(inst.tags, ['likes_hockey', 'likes_football']);
  assert.equal(inst.userId, 'user1');
  assert.deepEqual(inst.templates, { t1: { body: '{"aps":{"alert":"$(message)"}}', headers: { 'apns-priority': '10' }, tags: ['tt'] } });
  assert.equal(inst.createdAt, NOW);
  const json = installationToJson(inst);
  assert.deepEqual(json, {
    installationId: 'inst-1',
    pushChannel: TOKEN.toUpperCase(),
    pushChannelExpired: false,
    platform: 'apns',
    expirationTime: '9999-12-31T23:59:59.9999999Z',
    tags: ['likes_hockey', 'likes_football'],
    userId: 'user1',
    templates: { t1: { body: '{"aps":{"alert":"$(message)"}}', headers: { 'apns-priority': '10' }, tags: ['tt', 't1'] } },
    lastUpdate: '2026-01-02T03:04:05.678Z',
  });
  assert.deepEqual(Object.keys(json), ['installationId', 'pushChannel', 'pushChannelExpired', 'platform', 'expirationTime', 'tags', 'userId', 'templates', 'lastUpdate']);
});

test('the captured JS browser PUT has placeholder keys, which validateHandle refuses; real keys parse', () => {
  const { body, pathId } = capturedPut('inst-2');
  // "BP256"/"AUTH" are not a 65-byte P-256 point and a 16-byte secret (RFC 8291): refused, not stored.
  rejects(() => parseInstallation(body, pathId, NOW), 'invalid_request', 'invalid_handle', { field: 'P256DH' });
  const real = { ...(body as object), pushChannel: { endpoint: ENDPOINT, p256dh: P256DH, auth: AUTH } };
  const inst = parseInstallation(real, pathId, NOW);
  assert.deepEqual(inst.pushChannel, { endpoint: ENDPOINT, p256dh: P256DH, auth: AUTH });
  assert.equal(inst.pushChannelAsString, undefined);
  assert.deepEqual(installationToJson(inst).pushChannel, { endpoint: ENDPOINT, p256dh: P256DH, auth: AUTH });
});

test('a .NET browser pushChannel (a JSON string) is accepted and echoed as a string (§5.1, §16)', () => {
  const channel = JSON.stringify({ endpoint: ENDPOINT, p256dh: P256DH, auth: AUTH });
  const inst = parseInstallation({ installationId: 'b1', platform: 'Browser', pushChannel: channel }, 'b1', NOW);
  assert.equal(inst.platform, 'browser');
  assert.equal(inst.pushChannelAsString, true);
  assert.deepEqual(inst.pushChannel, { endpoint: ENDPOINT, p256dh: P256DH, auth: AUTH });
  assert.equal(installationToJson(inst).pushChannel, channel);
  rejects(() => parseInstallation({ platform: 'browser', pushChannel: 'not json' }, 'b1', NOW), 'invalid_request', 'invalid_handle');
});

test('platform is case-insensitive and echoed lower-case; installationId may be omitted in the body', () => {
  const fcm = parseInstallation({ platform: 'fcmV1', pushChannel: 'fcm-token-1' }, 'f1', NOW);
  assert.equal(fcm.platform, 'fcmv1');
  assert.equal(fcm.installationId, 'f1');
  assert.equal(installationToJson(fcm).platform, 'fcmv1');
  assert.equal(parseInstallation(apns({ platform: 'APNS' }), 'i1', NOW).platform, 'apns');
});

test('a GET body fed back as a PUT (real service example) gives the same installation', () => {
  const rec = {
    installationId: '95e4cf2e-1',
    pushChannel: '62BCD3A8FA',
    pushChannelExpired: true,
    platform: 'apns',
    expirationTime: '2020-01-01T00:00:00Z',
    lastUpdate: 'whenever',
    lastActiveOn: 'whenever',
    somethingNew: { x: 1 },
    tags: ['tag1'],
    pushVariables: { var1: 'value1' },
    templates: { 'Template Name': { body: '{"aps":{"alert":"alert!"}}', expiry: '2018-11-07T16:18:32.6641371-08:00', tags: ['Template Name'] } },
  };
  const inst = parseInstallation(rec, '95e4cf2e-1', NOW);
  assert.equal(inst.pushChannelExpired, false); // read-only, ignored
  assert.equal(inst.expiresAt, undefined);
  assert.deepEqual(inst.templates?.['Template Name']?.tags, undefined); // the echoed name is not a stored tag
  const json = installationToJson(inst);
  assert.deepEqual(json.templates, rec.templates);
  assert.deepEqual(json.pushVariables, { var1: 'value1' });
  const again = parseInstallation(json, '95e4cf2e-1', NOW + 1000, inst);
  assert.deepEqual({ ...again, updatedAt: NOW }, inst);
});

test('userId is read whatever its key case; duplicate spellings are refused', () => {
  for (const key of ['userId', 'UserID', 'userID', 'USERID']) {
    assert.equal(parseInstallation(apns({ [key]: 'bob@x.com' }), 'i1', NOW).userId, 'bob@x.com');
  }
  assert.equal('userId' in installationToJson(parseInstallation(apns(), 'i1', NOW)), false);
  rejects(() => parseInstallation(apns({ userId: 'a', UserID: 'b' }), 'i1', NOW), 'invalid_request', 'duplicate_field', { field: 'userId' });
  rejects(() => parseInstallation(apns({ userId: 'has space' }), 'i1', NOW), 'invalid_request', 'invalid_field', { field: 'userId' });
});

test('times: createdAt from previous, updatedAt now, expirationTime from expiresAt', () => {
  const first = parseInstallation(apns(), 'i1', NOW);
  const second = parseInstallation(apns(), 'i1', NOW + 5000, { ...first, expiresAt: Date.parse('2027-01-01T00:00:00Z') });
  assert.equal(second.createdAt, NOW);
  assert.equal(second.updatedAt, NOW + 5000);
  assert.equal(installationToJson(second).expirationTime, '2027-01-01T00:00:00.000Z');
  assert.equal(installationToJson(first).expirationTime, INSTALLATION_NEVER_EXPIRES);
});

test('secondary tiles are accepted and validated for WNS only', () => {
  const toast = { body: '<toast><visual><binding template="ToastText01"><text id="1">$(m)</text></binding></visual></toast>', headers: { 'X-WNS-Type': 'wns/toast' } };
  const body = {
    platform: 'wns',
    pushChannel: WNS,
    templates: { main: toast },
    secondaryTiles: { tileA: { pushChannel: `${WNS}2`, pushChannelExpired: true, tags: ['sport'], templates: { t: toast } } },
  };
  const inst = parseInstallation(body, 'w1', NOW);
  assert.deepEqual(inst.secondaryTiles, { tileA: { pushChannel: `${WNS}2`, pushChannelExpired: false, tags: ['sport'], templates: { t: toast } } });
  assert.deepEqual((installationToJson(inst).secondaryTiles as Record<string, { templates: unknown }>).tileA?.templates, { t: { ...toast, tags: ['t'] } });
  rejects(() => parseInstallation({ ...apns(), secondaryTiles: body.secondaryTiles }, 'i1', NOW), 'invalid_request', 'invalid_field', { field: 'secondaryTiles' });
  const noType = { ...body, secondaryTiles: { tileA: { pushChannel: WNS, templates: { t: { body: toast.body } } } } };
  rejects(() => parseInstallation(noType, 'w1', NOW), 'invalid_request', 'missing_header', { template: 't' });
  rejects(() => parseInstallation({ ...body, secondaryTiles: { tileA: { tags: [] } } }, 'w1', NOW), 'invalid_request', 'missing_field');
});

test('templates named like Object.prototype members stay plain data', () => {
  const body = JSON.parse(`{"platform":"apns","pushChannel":"${TOKEN}","templates":{"__proto__":{"body":"{}"},"constructor":{"body":"{}"}}}`) as unknown;
  const inst = parseInstallation(body, 'i1', NOW);
  assert.deepEqual(Object.keys(inst.templates ?? {}), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(inst.templates), Object.prototype);
  const json = JSON.stringify(installationToJson(inst));
  assert.match(json, /"__proto__":\{"body":"\{\}","tags":\["__proto__"\]\}/);
});

test('bad input: each answers invalid_request with a reason and names the field', () => {
  const tags61 = Array.from({ length: 61 }, (_, i) => `t${i}`);
  const cases: Array<[string, () => unknown, string, Record<string, unknown>?]> = [
    ['body not an object', () => parseInstallation([], 'i1', NOW), 'invalid_body'],
    ['missing platform', () => parseInstallation({ pushChannel: TOKEN }, 'i1', NOW), 'missing_field', { field: 'platform' }],
    ['unknown platform', () => parseInstallation(apns({ platform: 'symbian' }), 'i1', NOW), 'unknown_platform', { field: 'platform' }],
    ['baidu', () => parseInstallation(apns({ platform: 'baidu', pushChannel: 'u-c' }), 'i1', NOW), 'platform_not_supported'],
    ['id mismatch', () => parseInstallation(apns(), 'other', NOW), 'installation_id_mismatch', { field: 'installationId' }],
    ["path id with '/'", () => parseInstallation(apns({ installationId: undefined }), 'a/b', NOW), 'invalid_id'],
    ["body id with '/'", () => parseInstallation(apns({ installationId: 'a/b' }), 'a', NOW), 'invalid_id'],
    ['missing pushChannel', () => parseInstallation(apns({ pushChannel: undefined }), 'i1', NOW), 'missing_field', { field: 'pushChannel' }],
    ['bad APNs token', () => parseInstallation(apns({ pushChannel: 'xyz' }), 'i1', NOW), 'invalid_handle', { field: 'pushChannel' }],
    ['a 61st tag', () => parseInstallation(apns({ tags: tags61 }), 'i1', NOW), 'too_many_tags', { index: 60 }],
    ['forbidden tag character', () => parseInstallation(apns({ tags: ['ok', 'no spaces'] }), 'i1', NOW), 'tag_invalid_char', { index: 1 }],
    ['tags not a list', () => parseInstallation(apns({ tags: 'a' }), 'i1', NOW), 'tags_not_list'],
    ['a system tag', () => parseInstallation(apns({ tags: ['$UserId:{victim}'] }), 'i1', NOW), 'tag_system_not_allowed'],
    ['broken template expression', () => parseInstallation(apns({ templates: { t: { body: '{"a":"$(m"}' } } }), 'i1', NOW), 'template_expression_syntax', { template: 't' }],
    ['template without body', () => parseInstallation(apns({ templates: { t: {} } }), 'i1', NOW), 'missing_field', { template: 't' }],
    ['template not an object', () => parseInstallation(apns({ templates: { t: 'x' } }), 'i1', NOW), 'invalid_field', { template: 't' }],
    ['template name too long', () => parseInstallation(apns({ templates: { ['n'.repeat(201)]: { body: '{}' } } }), 'i1', NOW), 'invalid_template_name'],
    ['header value not a string', () => parseInstallation(apns({ templates: { t: { body: '{}', headers: { 'apns-priority': 10 } } } }), 'i1', NOW), 'invalid_header'],
    ['APNs header without apns-', () => parseInstallation(apns({ templates: { t: { body: '{}', headers: { 'x-y': '1' } } } }), 'i1', NOW), 'invalid_header'],
    ['template tags beyond 60 with the installation', () => parseInstallation(apns({ tags: tags61.slice(0, 40), templates: { t: { body: '{}', tags: tags61.slice(30, 61) } } }), 'i1', NOW), 'too_many_tags', { template: 't' }],
    ['bad push variable name', () => parseInstallation(apns({ pushVariables: { 'a-b': 'x' } }), 'i1', NOW), 'invalid_field', { field: 'pushVariables' }],
    ['push variable not a string', () => parseInstallation(apns({ pushVariables: { a: 1 } }), 'i1', NOW), 'invalid_field'],
  ];
  for (const [name, fn, reason, details] of cases) {
    try {
      rejects(fn, 'invalid_request', reason, details);
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
  }
});

test('parseInstallationJson bounds size and depth; only unparseable text is malformed_body', () => {
  assert.deepEqual(parseInstallationJson(Buffer.from('\ufeff{"a":[1]}')), { a: [1] });
  assert.deepEqual(parseInstallationJson('{"s":"[[[[[[[[[[[[[[[[[[[[\\"{{{{{{{{{{{{{{{{{{{{"}'), { s: '[[[[[[[[[[[[[[[[[[[["{{{{{{{{{{{{{{{{{{{{' });
  rejects(() => parseInstallationJson('{"a":'), 'malformed_body', 'invalid_json');
  rejects(() => parseInstallationJson(Buffer.from([0x7b, 0xff, 0x7d])), 'malformed_body', 'invalid_utf8');
  const deep = '['.repeat(MAX_INSTALLATION_JSON_DEPTH + 1) + ']'.repeat(MAX_INSTALLATION_JSON_DEPTH + 1);
  rejects(() => parseInstallationJson(deep), 'invalid_request', 'json_too_deep');
  rejects(() => parseInstallationJson('{"a":"xxxxxxxxxx"}', 10), 'payload_too_large', 'body_too_large', { limit: 10 });
});
