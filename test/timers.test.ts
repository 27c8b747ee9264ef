/**
 * The hub's own timers run on its injected clock (issue 10, "tests that fail on a busy machine"): a test
 * moves a ManualClock and the hub's periodic work follows, with no real time passing (scheduled sends and
 * retries on virtual time: test/sends.test.ts; request timeouts: the connector tests).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSasToken } from '../src/auth/sas.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';

describe("the hub's timers on virtual time", () => {
  let h: TestHerald;
  let auth: string;
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({ 'registry.expiredRetentionSeconds': 0, 'registry.purgeIntervalSeconds': 3600 }, { clock });
    const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    // Signed for a day of the hub's clock, which the tests move by the hour.
    auth = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(clock.now() / 1000) + 86_400);
  });
  after(() => h.close());

  const call = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${h.httpUrl}/sandbox${path}?api-version=2020-06`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/atom+xml;type=entry;charset=utf-8', ...headers },
      ...(body === undefined ? {} : { body }),
    });

  test('the purge of expired registrations runs every purgeIntervalSeconds of the hub clock', async () => {
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: 1 } })).status, 200);
    const created = await call('POST', '/registrations', '<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><AppleRegistrationDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><DeviceToken>AB12CD34</DeviceToken></AppleRegistrationDescription></content></entry>');
    assert.equal(created.status, 200);
    const id = /<RegistrationId>([^<]+)</.exec(await created.text())![1]!;
    assert.equal((await h.admin('PATCH', '/hubs/sandbox', { settings: { registrationTtlSeconds: null } })).status, 200);

    await clock.advanceAsync(2000);
    assert.equal((await call('GET', `/registrations/${id}`)).status, 410, 'expired, not purged yet: the purge runs hourly');
    await clock.advanceAsync(3600_000);
    // The purge ran inside advanceAsync; its store write may still be settling.
    for (let i = 0; i < 100 && (await call('GET', `/registrations/${id}`)).status !== 404; i++) await new Promise((r) => setImmediate(r));
    assert.equal((await call('GET', `/registrations/${id}`)).status, 404, 'purged by the interval');
  });

});
