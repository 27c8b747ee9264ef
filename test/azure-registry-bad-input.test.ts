/**
 * Bad input on the registry's Azure surface: each case checks the exact status, the error detail, and
 * that nothing was stored (wire spec §3.3 error bodies; never a 5xx for a client's mistake).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSasToken } from '../src/auth/sas.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';

const ATOM = 'application/atom+xml;type=entry;charset=utf-8';
const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';

function entry(description: string): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">${description}</content></entry>`;
}

function apple(inner: string, kind = 'AppleRegistrationDescription'): string {
  return entry(`<${kind} ${NS}>${inner}</${kind}>`);
}

describe('registry bad input', () => {
  let h: TestHerald;
  let auth: string;
  // Registration lifetimes run on the hub's clock: a test moves it past an expiry instead of waiting.
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    auth = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
  });
  after(() => h.close());

  async function call(method: string, path: string, body?: string, type = ATOM, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.httpUrl}/sandbox${path}${path.includes('?') ? '&' : '?'}api-version=2020-06`, {
      method,
      headers: { authorization: auth, 'content-type': type, ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, text: await res.text() };
  }

  const count = async () => (await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total as number;
  const installations = async () => (await h.admin('GET', '/hubs/sandbox/installations?count=true&top=1')).body.total as number;

  function expectError(r: { status: number; text: string }, status: number, detail: RegExp) {
    assert.equal(r.status, status, r.text);
    assert.match(r.text, new RegExp(`^<Error><Code>${status}</Code><Detail>`));
    assert.match(r.text, detail);
  }

  test('registrations: every bad body is refused and nothing is stored', async () => {
    const before = await count();
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`).join(',');
    const cases: Array<[string, string, number, RegExp]> = [
      ['malformed XML', '<entry><content><AppleRegistrationDescription>', 400, /XML|parse|malformed/i],
      ['not XML at all', '{"json": true}', 400, /XML|parse|malformed/i],
      ['unknown kind', apple('<DeviceToken>ABCD0123</DeviceToken>', 'FooRegistrationDescription'), 400, /FooRegistrationDescription/],
      ['DOCTYPE', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY big "boom">]>${apple('<DeviceToken>ABCD0123</DeviceToken>').replace(/^<\?xml[^>]*>/, '')}`, 400, /DOCTYPE/i],
      ['a 61st tag', apple(`<Tags>${tags(61)}</Tags><DeviceToken>ABCD0123</DeviceToken>`), 400, /at most 60/],
      ['a forbidden tag character', apple('<Tags>ok,bad tag!</Tags><DeviceToken>ABCD0123</DeviceToken>'), 400, /bad tag!/],
      ['a broken template expression', apple('<DeviceToken>ABCD0123</DeviceToken><BodyTemplate><![CDATA[{"aps":{"alert":"$(message"}}]]></BodyTemplate>', 'AppleTemplateRegistrationDescription'), 400, /\$\(message/],
      ['an APNs token that is not hex', apple('<DeviceToken>not-hex!</DeviceToken>'), 400, /DeviceToken/],
      ['a missing handle', apple('<Tags>a</Tags>'), 400, /DeviceToken/],
    ];
    for (const [name, body, status, detail] of cases) {
      expectError(await call('POST', '/registrations', body), status, detail);
      assert.equal(await count(), before, `${name}: nothing stored`);
    }
  });

  test('ids with a slash are refused; a tampered continuation token is 400', async () => {
    const body = apple('<DeviceToken>ABCD0123</DeviceToken>');
    expectError(await call('PUT', '/registrations/a%2Fb', body), 400, /RegistrationId must not contain '\/'/);
    expectError(await call('PUT', '/installations/a%2Fb', '{"installationId":"a/b","platform":"apns","pushChannel":"ABCD0123"}', 'application/json'), 400, /installationId must not contain '\/'/);
    expectError(await call('PUT', '/registrations/a/b', body), 404, /does not exist/);
    assert.equal(await count(), 0);

    for (let i = 0; i < 3; i++) await call('POST', '/registrations', apple(`<DeviceToken>ABCDEF0${i}</DeviceToken>`));
    const res = await fetch(`${h.httpUrl}/sandbox/registrations?$top=1`, { headers: { authorization: auth } });
    const token = res.headers.get('x-ms-continuationtoken')!;
    assert.match(token, /^[A-Za-z0-9_.-]+$/, 'URL-safe alphabet (§6.11)');
    const ok = await call('GET', `/registrations?$top=1&continuationtoken=${token}`);
    assert.equal(ok.status, 200);
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expectError(await call('GET', `/registrations?$top=1&continuationtoken=${tampered}`), 400, /continuation token is not valid/);
    expectError(await call('GET', `/tags/x/registrations?$top=1&continuationtoken=${token}`), 400, /continuation token is not valid/, );
    expectError(await call('GET', '/registrations?$top=zero'), 400, /\$top must be a positive integer/);
    expectError(await call('GET', "/registrations?$filter=Nonsense+gt+'1'"), 400, /Unsupported \$filter/);
  });

  test('installations: malformed JSON, missing platform, PATCH on a missing installation, bad patch', async () => {
    const before = await installations();
    expectError(await call('PUT', '/installations/i1', '{"installationId": "i1", ', 'application/json'), 400, /JSON/);
    expectError(await call('PUT', '/installations/i1', '{"installationId":"i1","pushChannel":"ABCD0123"}', 'application/json'), 400, /platform/);
    expectError(await call('PUT', '/installations/i1', '{"installationId":"i1","platform":"carrier-pigeon","pushChannel":"ABCD0123"}', 'application/json'), 400, /platform/);
    expectError(await call('PUT', '/installations/i1', '{"installationId":"other","platform":"apns","pushChannel":"ABCD0123"}', 'application/json'), 400, /installationId/);
    expectError(await call('PUT', '/installations/i1', `{"installationId":"i1","platform":"apns","pushChannel":"ABCD0123","tags":${JSON.stringify(Array.from({ length: 61 }, (_, i) => `t${i}`))}}`, 'application/json'), 400, /at most 60/);
    expectError(await call('PATCH', '/installations/missing', '[{"op":"add","path":"/tags","value":"x"}]', 'application/json'), 404, /Installation not found/);
    assert.equal(await installations(), before);

    assert.equal((await call('PUT', '/installations/i2', '{"installationId":"i2","platform":"apns","pushChannel":"ABCD0123","tags":["keep"]}', 'application/json')).status, 200);
    expectError(await call('PATCH', '/installations/i2', '[{"op":"explode","path":"/tags","value":"x"}]', 'application/json'), 400, /op/);
    expectError(await call('PATCH', '/installations/i2', '[{"op":"add","path":"/tags","value":"bad tag!"}]', 'application/json'), 400, /bad tag!/);
    const got = await call('GET', '/installations/i2', undefined, 'application/json');
    assert.deepEqual(JSON.parse(got.text).tags, ['keep'], 'a refused PATCH changes nothing');
  });

  test('an expired registration answers 410 until it is purged; re-creating under a new id works', async () => {
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: 1 } })).status, 200);
    const created = await call('POST', '/registrations', apple('<DeviceToken>AB12CD34</DeviceToken>'));
    assert.equal(created.status, 200);
    assert.doesNotMatch(created.text, /9999-12-31/, 'ExpirationTime shows the TTL');
    const id = /<RegistrationId>([^<]+)</.exec(created.text)![1]!;
    await clock.advanceAsync(1100);
    expectError(await call('GET', `/registrations/${id}`), 410, /expired/);
    expectError(await call('PUT', `/registrations/${id}`, apple('<DeviceToken>AB12CD34</DeviceToken>')), 410, /Use a different registration ID/);
    const listed = await call('GET', '/registrations?$filter=DeviceToken+eq+%27AB12CD34%27');
    assert.doesNotMatch(listed.text, new RegExp(id), 'expired registrations are not listed');
    assert.equal(await h.registry.purgeExpired(0), 1);
    expectError(await call('GET', `/registrations/${id}`), 404, /Registration not found/);
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: null } })).status, 200);
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: -5 } })).status, 400);
  });
});
