import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests } from '../../test/fixtures/captured.ts';
import { HubError } from '../shared/errors.ts';
import { installationToJson, parseInstallation, parseInstallationJson } from './installation.ts';
import { applyInstallationPatch, MAX_PATCH_OPERATIONS } from './installation-patch.ts';
import type { Installation } from './model.ts';

const NOW = Date.parse('2026-01-02T03:04:05.678Z');
const LATER = NOW + 60_000;
const TOKEN = '00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0';
const TOKEN2 = 'ab'.repeat(32);
const WNS = 'https://db5p.notify.windows.com/?token=AwYAAAB';
const TOAST = '<toast><visual><binding template="ToastText01"><text id="1">$(m)</text></binding></visual></toast>';

function rejects(fn: () => unknown, reason: string, details: Record<string, unknown> = {}): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, 'invalid_request', err.message);
    assert.equal(err.details?.reason, reason, err.message);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, `details.${k}`);
    return true;
  });
}

function captured(method: string): unknown {
  const req = capturedRequests().find((r) => r.method === method && r.url.startsWith('/myhub/installations/inst-1?'));
  assert.ok(req);
  return parseInstallationJson(req.body);
}

const base = (extra: Record<string, unknown> = {}): Installation =>
  parseInstallation({ platform: 'apns', pushChannel: TOKEN, tags: ['a', 'b'], userId: 'u1', ...extra }, 'i1', NOW);

/** The GET body after a patch, as the client would read it (§5.5). */
const get = (inst: Installation, ops: unknown) => installationToJson(applyInstallationPatch(inst, ops, LATER));

test('the captured JS PATCH applies to the captured PUT as §5.4 says, once its placeholder token is real', () => {
  const inst = parseInstallation(captured('PUT'), 'inst-1', NOW);
  const ops = captured('PATCH') as Array<{ op: string; path: string; value?: string }>;
  // The SDK run used "abc" as an APNs token; it is not hex of even length, so the patch is refused at op 3.
  rejects(() => applyInstallationPatch(inst, ops, LATER), 'invalid_handle', { opIndex: 3, field: 'pushChannel' });
  const fixed = ops.map((o) => (o.path === '/pushChannel' ? { ...o, value: TOKEN2 } : o));
  const json = get({ ...inst, pushChannelExpired: true }, fixed);
  assert.deepEqual(json, {
    installationId: 'inst-1',
    pushChannel: TOKEN2.toUpperCase(),
    pushChannelExpired: false, // replace /pushChannel resets it (§5.4, UNCONFIRMED)
    platform: 'apns',
    expirationTime: '9999-12-31T23:59:59.9999999Z',
    tags: ['likes_football', 'likes_baseball'],
    userId: 'bob',
    templates: {
      t1: { body: '{"aps":{"alert":"$(message)"}}', headers: { 'apns-priority': '10' }, tags: ['tt', 't1'] },
      t2: { body: '{"aps":{"alert":"$(m)"}}', tags: ['x', 't2'] },
    },
    lastUpdate: new Date(LATER).toISOString(),
  });
});

test('tags: add one or many (no duplicates), remove by name, the last removal drops the property', () => {
  assert.deepEqual(get(base(), [{ op: 'add', path: '/tags', value: 'c' }]).tags, ['a', 'b', 'c']);
  assert.deepEqual(get(base(), [{ op: 'add', path: '/tags', value: '["b","d","d"]' }]).tags, ['a', 'b', 'd']);
  assert.deepEqual(get(base(), [{ op: 'add', path: '/tags', value: ['e', 'a'] }]).tags, ['a', 'b', 'e']);
  assert.deepEqual(get(base({ tags: undefined }), [{ op: 'add', path: '/tags', value: 'new' }]).tags, ['new']);
  assert.deepEqual(get(base(), [{ op: 'remove', path: '/tags/absent' }]).tags, ['a', 'b']);
  assert.deepEqual(get(base(), [{ op: 'replace', path: '/tags', value: '["z"]' }]).tags, ['z']);
  const none = get(base(), [{ op: 'remove', path: '/tags/a' }, { op: 'remove', path: '/tags/b' }]);
  assert.equal('tags' in none, false);
  assert.equal('tags' in get(base(), [{ op: 'remove', path: '/tags' }]), false);
});

test('userId (and /user): add, replace and remove, reflected by GET', () => {
  assert.equal(get(base(), [{ op: 'add', path: '/userId', value: 'bob' }]).userId, 'bob');
  assert.equal(get(base(), [{ op: 'replace', path: '/user', value: 'carol' }]).userId, 'carol');
  assert.equal('userId' in get(base(), [{ op: 'remove', path: '/userId' }]), false);
  assert.equal('userId' in get(base({ userId: undefined }), [{ op: 'remove', path: '/userId' }]), false);
});

test('pushChannel: add|replace resets pushChannelExpired; other patches keep it', () => {
  const expired = { ...base(), pushChannelExpired: true };
  assert.equal(get(expired, [{ op: 'add', path: '/tags', value: 'c' }]).pushChannelExpired, true);
  const json = get(expired, [{ op: 'add', path: '/pushChannel', value: TOKEN2 }]);
  assert.equal(json.pushChannelExpired, false);
  assert.equal(json.pushChannel, TOKEN2.toUpperCase());
  rejects(() => applyInstallationPatch(base(), [{ op: 'remove', path: '/pushChannel' }], LATER), 'missing_field', { opIndex: 0 });
});

test('a .NET browser pushChannel stays a string through a patch', () => {
  const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
  const auth = Buffer.alloc(16, 2).toString('base64url');
  const channel = JSON.stringify({ endpoint: 'https://push.example/1', p256dh, auth });
  const inst = parseInstallation({ platform: 'browser', pushChannel: channel }, 'b1', NOW);
  assert.equal(get(inst, [{ op: 'add', path: '/tags', value: 't' }]).pushChannel, channel);
  const next = JSON.stringify({ endpoint: 'https://push.example/2', p256dh, auth });
  assert.equal(get(inst, [{ op: 'replace', path: '/pushChannel', value: next }]).pushChannel, next);
  const asObject = { endpoint: 'https://push.example/3', p256dh, auth };
  assert.deepEqual(get(inst, [{ op: 'replace', path: '/pushChannel', value: asObject }]).pushChannel, asObject);
});

test('templates: whole template, each field, tags by name, removal', () => {
  const inst = base({ templates: { t1: { body: '{"a":"$(x)"}', headers: { 'apns-priority': '10' }, tags: ['tt'] } } });
  const t = (ops: unknown) => get(inst, ops).templates as Record<string, Record<string, unknown>>;
  assert.deepEqual(t([{ op: 'add', path: '/templates/t2', value: { body: '{}' } }]).t2, { body: '{}', tags: ['t2'] });
  assert.deepEqual(t([{ op: 'replace', path: '/templates/t1/body', value: '{"b":"$(y)"}' }]).t1?.body, '{"b":"$(y)"}');
  assert.deepEqual(t([{ op: 'add', path: '/templates/t1/headers', value: '{"apns-push-type":"alert"}' }]).t1?.headers, { 'apns-push-type': 'alert' });
  assert.deepEqual(t([{ op: 'add', path: '/templates/t1/headers/apns-expiration', value: '0' }]).t1?.headers, { 'apns-priority': '10', 'apns-expiration': '0' });
  assert.equal(t([{ op: 'remove', path: '/templates/t1/headers/APNS-PRIORITY' }]).t1?.headers, undefined);
  assert.equal(t([{ op: 'add', path: '/templates/t1/expiry', value: '0' }]).t1?.expiry, '0');
  assert.deepEqual(t([{ op: 'add', path: '/templates/t1/tags', value: 'more' }]).t1?.tags, ['tt', 'more', 't1']);
  assert.deepEqual(t([{ op: 'remove', path: '/templates/t1/tags/tt' }]).t1?.tags, ['t1']);
  assert.deepEqual(t([{ op: 'replace', path: '/templates/t1/tags', value: '["r"]' }]).t1?.tags, ['r', 't1']);
  assert.equal(t([{ op: 'add', path: '/templates', value: '{"only":{"body":"{}"}}' }]).t1, undefined);
  assert.equal('templates' in get(inst, [{ op: 'remove', path: '/templates/t1' }]), false);
  assert.equal('templates' in get(inst, [{ op: 'remove', path: '/templates' }]), false);
  assert.deepEqual(Object.keys(t([{ op: 'remove', path: '/templates/absent' }])), ['t1']);
  // A broken expression in a patched body is refused like in a PUT, naming the operation.
  rejects(() => applyInstallationPatch(inst, [{ op: 'add', path: '/tags', value: 'ok' }, { op: 'replace', path: '/templates/t1/body', value: '{"a":"$(x"}' }], LATER),
    'template_expression_syntax', { opIndex: 1, template: 't1' });
});

test('a new WNS template built field by field is valid once complete', () => {
  const inst = parseInstallation({ platform: 'wns', pushChannel: WNS }, 'w1', NOW);
  const json = get(inst, [
    { op: 'add', path: '/templates/toast/body', value: TOAST },
    { op: 'add', path: '/templates/toast/headers', value: '{"X-WNS-Type":"wns/toast"}' },
  ]);
  assert.deepEqual(json.templates, { toast: { body: TOAST, headers: { 'X-WNS-Type': 'wns/toast' }, tags: ['toast'] } });
  rejects(() => applyInstallationPatch(inst, [{ op: 'add', path: '/templates/toast/body', value: TOAST }, { op: 'add', path: '/tags', value: 'x' }], LATER),
    'missing_header', { opIndex: 0 });
});

test('pushVariables: one variable or the whole object', () => {
  const inst = base({ pushVariables: { a: '1' } });
  assert.deepEqual(get(inst, [{ op: 'add', path: '/pushVariables/b', value: '2' }]).pushVariables, { a: '1', b: '2' });
  assert.deepEqual(get(inst, [{ op: 'replace', path: '/pushVariables/a', value: '9' }]).pushVariables, { a: '9' });
  assert.equal('pushVariables' in get(inst, [{ op: 'remove', path: '/pushVariables/a' }]), false);
  assert.deepEqual(get(inst, [{ op: 'replace', path: '/pushVariables', value: '{"c":"3"}' }]).pushVariables, { c: '3' });
  rejects(() => applyInstallationPatch(inst, [{ op: 'add', path: '/pushVariables/a-b', value: '1' }], LATER), 'invalid_field', { opIndex: 0 });
});

test('secondaryTiles: a tile, its channel, tags and templates; channel writes reset its expiry flag', () => {
  const tile = { pushChannel: `${WNS}tile`, tags: ['s'] };
  const inst = parseInstallation({ platform: 'wns', pushChannel: WNS, secondaryTiles: { tileA: tile } }, 'w1', NOW);
  const expired: Installation = { ...inst, secondaryTiles: { tileA: { ...inst.secondaryTiles!.tileA!, pushChannelExpired: true } } };
  const tiles = (ops: unknown) => get(expired, ops).secondaryTiles as Record<string, Record<string, unknown>>;
  assert.equal(tiles([{ op: 'add', path: '/secondaryTiles/tileA/tags', value: 'x' }]).tileA?.pushChannelExpired, true);
  assert.deepEqual(tiles([{ op: 'add', path: '/secondaryTiles/tileA/tags', value: 'x' }]).tileA?.tags, ['s', 'x']);
  const moved = tiles([{ op: 'replace', path: '/secondaryTiles/tileA/pushChannel', value: `${WNS}new` }]).tileA;
  assert.equal(moved?.pushChannel, `${WNS}new`);
  assert.equal(moved?.pushChannelExpired, false);
  const withTemplate = tiles([{ op: 'add', path: '/secondaryTiles/tileA/templates/t', value: JSON.stringify({ body: TOAST, headers: { 'X-WNS-Type': 'wns/toast' } }) }]);
  assert.deepEqual(withTemplate.tileA?.templates, { t: { body: TOAST, headers: { 'X-WNS-Type': 'wns/toast' }, tags: ['t'] } });
  assert.deepEqual(Object.keys(tiles([{ op: 'add', path: '/secondaryTiles/tileB', value: tile }])), ['tileA', 'tileB']);
  assert.equal('secondaryTiles' in get(expired, [{ op: 'remove', path: '/secondaryTiles/tileA' }]), false);
});

test('property names in paths are case-insensitive; ~1 and ~0 are decoded', () => {
  const inst = base({ templates: { 'a/b~c': { body: '{}' } } });
  const json = get(inst, [
    { op: 'add', path: '/Tags', value: 'c' },
    { op: 'replace', path: '/UserID', value: 'dave' },
    { op: 'add', path: '/Templates/a~1b~0c/Tags', value: 'q' },
  ]);
  assert.deepEqual(json.tags, ['a', 'b', 'c']);
  assert.equal(json.userId, 'dave');
  assert.deepEqual((json.templates as Record<string, { tags: string[] }>)['a/b~c']?.tags, ['q', 'a/b~c']);
  assert.deepEqual(Object.keys(get(inst, [{ op: 'REMOVE', path: '/templates/a~1b~0c' }])).includes('templates'), false);
});

test('a patch keeps createdAt, sets updatedAt and leaves its inputs unchanged', () => {
  const inst = base({ templates: { t: { body: '{}', tags: ['x'] } } });
  const before = structuredClone(inst);
  const ops = [{ op: 'add', path: '/templates/t/tags', value: 'y' }, { op: 'add', path: '/templates/n', value: { body: '{}' } }];
  const opsBefore = structuredClone(ops);
  const out = applyInstallationPatch(inst, ops, LATER);
  assert.equal(out.createdAt, NOW);
  assert.equal(out.updatedAt, LATER);
  assert.deepEqual(inst, before);
  assert.deepEqual(ops, opsBefore);
  assert.deepEqual(applyInstallationPatch(inst, [], LATER), { ...inst, updatedAt: LATER });
});

test('bad patches: 400 invalid_request with a reason and the operation index', () => {
  const inst = base();
  const tags = Array.from({ length: 58 }, (_, i) => `t${i}`); // with a and b: 60
  const ok = { op: 'add', path: '/tags', value: 'fine' };
  const cases: Array<[string, unknown, string, Record<string, unknown>?]> = [
    ['not an array', { op: 'add', path: '/tags', value: 'x' }, 'patch_not_array'],
    ['too many operations', Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ok), 'too_many_operations'],
    ['operation not an object', [ok, 'add'], 'invalid_patch_operation', { opIndex: 1 }],
    ['unknown op', [ok, { op: 'move', path: '/tags', value: 'x' }], 'invalid_patch_operation', { opIndex: 1 }],
    ['missing path', [{ op: 'add', value: 'x' }], 'invalid_patch_path', { opIndex: 0 }],
    ['path without /', [{ op: 'add', path: 'tags', value: 'x' }], 'invalid_patch_path', { opIndex: 0 }],
    ['unknown property', [ok, ok, { op: 'add', path: '/colour', value: 'x' }], 'invalid_patch_path', { opIndex: 2 }],
    ['read-only property', [{ op: 'replace', path: '/platform', value: 'wns' }], 'invalid_patch_path', { opIndex: 0 }],
    ['unknown template field', [{ op: 'add', path: '/templates/t/colour', value: 'x' }], 'invalid_patch_path', { opIndex: 0 }],
    ['path too deep', [{ op: 'add', path: '/userId/x', value: 'x' }], 'invalid_patch_path', { opIndex: 0 }],
    ['empty segment', [{ op: 'remove', path: '/tags/' }], 'invalid_patch_path', { opIndex: 0 }],
    ['add to /tags/{name}', [{ op: 'add', path: '/tags/x', value: 'x' }], 'invalid_patch_path', { opIndex: 0 }],
    ['add without value', [{ op: 'add', path: '/userId' }], 'missing_patch_value', { opIndex: 0 }],
    ['userId not a string', [{ op: 'add', path: '/userId', value: 5 }], 'invalid_patch_value', { opIndex: 0 }],
    ['template not an object', [{ op: 'add', path: '/templates/t', value: 'plain' }], 'invalid_patch_value', { opIndex: 0 }],
    ['JSON text that does not parse', [{ op: 'add', path: '/templates/t', value: '{"body":' }], 'invalid_patch_value', { opIndex: 0 }],
    ['a tag array with a number', [{ op: 'add', path: '/tags', value: '["a",1]' }], 'invalid_patch_value', { opIndex: 0 }],
    ['forbidden tag character', [ok, { op: 'add', path: '/tags', value: 'bad tag' }], 'tag_invalid_char', { opIndex: 1 }],
    ['a 61st tag', [{ op: 'add', path: '/tags', value: tags }, { op: 'add', path: '/tags', value: 'one-too-many' }], 'too_many_tags', { opIndex: 1 }],
    ['bad APNs token', [{ op: 'replace', path: '/pushChannel', value: 'nothex' }], 'invalid_handle', { opIndex: 0 }],
    ['bad userId', [{ op: 'add', path: '/userId', value: 'a b' }], 'invalid_field', { opIndex: 0 }],
  ];
  for (const [name, ops, reason, details] of cases) {
    try {
      rejects(() => applyInstallationPatch(inst, ops, LATER), reason, details);
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
  }
  // The error names the operation after which the installation stayed invalid, not an earlier repaired one.
  rejects(() => applyInstallationPatch(inst, [
    { op: 'add', path: '/userId', value: 'a b' },
    { op: 'add', path: '/userId', value: 'fixed' },
    { op: 'add', path: '/tags', value: 'bad tag' },
  ], LATER), 'tag_invalid_char', { opIndex: 2 });
});
