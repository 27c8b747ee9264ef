/**
 * Two Herald nodes (in this process) on one PostgreSQL database: what one changes, the other's caches
 * drop through the store's change signal, not through their time-to-live. Both hubs run on a ManualClock
 * that never moves, so a cache entry would otherwise be served for ever.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSasToken } from '../src/auth/sas.ts';
import { FULL_RULE } from '../src/hubs/hub-service.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';

const postgres = usePostgresServer();

/** Looks again every few ms until `cond` holds; the bound only stops a hung test. */
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const bound = Date.now() + 30_000;
  while (!(await cond())) {
    if (Date.now() > bound) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('caches across nodes on one PostgreSQL', () => {
  let a: TestHerald;
  let b: TestHerald;
  const clock = new ManualClock(Date.now());
  before(async () => {
    const url = await postgres.createDatabase();
    const flags = { 'store.url': url, sandbox: false, adminKey: 'k'.repeat(40), secretKey: randomBytes(32).toString('base64'), 'tls.mode': 'off' };
    a = await startTestHerald(flags, { clock });
    b = await startTestHerald(flags, { clock });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  test('a key regenerated on one node is refused by the other; a settings change is seen there', async () => {
    await a.hubs.createHub('shared');
    const rule = await a.hubs.getRule('shared', FULL_RULE);
    const audience = `${b.httpUrl}/shared`.replace('http://', 'https://');
    const token = createSasToken(audience, rule.name, rule.primaryKey, Math.floor(clock.now() / 1000) + 3600);
    const list = () => fetch(`${b.httpUrl}/shared/registrations?api-version=2015-01`, { headers: { authorization: token } }).then((r) => r.status);
    assert.equal(await list(), 200, 'the other node takes the key (and caches the hub and its rules)');

    await a.hubs.regenerateKey('shared', FULL_RULE, 'primary');
    await until(async () => (await list()) === 401, 'the other node to refuse the old key');

    assert.equal((await b.hubs.authContext('shared')).hub?.settings.sendsPerSecond, undefined);
    await a.hubs.updateSettings('shared', { sendsPerSecond: 7 });
    await until(async () => (await b.hubs.authContext('shared')).hub?.settings.sendsPerSecond === 7, 'the other node to see the new settings');

    await a.hubs.deleteHub('shared');
    await until(async () => (await b.hubs.authContext('shared')).hub === undefined, 'the other node to forget the deleted hub');
  });
});
