/**
 * The contract every Store adapter must meet, exported as a function so each adapter's test file runs
 * the same suite against a real instance (no mocks): `storeContract('sqlite', () => openSqliteStore(...))`.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { NAMESPACE_SCOPE, type HubRecord, type RuleRecord, type Store } from './store.ts';

function hub(name: string, at = 1_700_000_000_000): HubRecord {
  return { name, settings: { registrationTtlSeconds: null }, createdAt: at, updatedAt: at };
}

function rule(scope: string, name: string, extra: Partial<RuleRecord> = {}): RuleRecord {
  return {
    scope,
    name,
    rights: ['Listen'],
    primaryKey: `p-${name}`,
    secondaryKey: `s-${name}`,
    createdAt: 1,
    updatedAt: 1,
    ...extra,
  };
}

const isCode = (code: string) => (err: unknown) => err instanceof HubError && err.code === code;

export function storeContract(adapter: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${adapter}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('ping answers', async () => {
      await store.ping();
    });

    test('a hub is created with its rules, found case-insensitively, listed and deleted', async () => {
      await store.hubs.create(hub('MyHub'), [rule('MyHub', 'A', { rights: ['Listen', 'Send', 'Manage'] }), rule('MyHub', 'B')]);
      const got = await store.hubs.get('myhub');
      assert.equal(got?.name, 'MyHub');
      assert.deepEqual(got?.settings, { registrationTtlSeconds: null });
      assert.deepEqual((await store.rules.list('MYHUB')).map((r) => [r.name, r.rights]), [
        ['A', ['Listen', 'Send', 'Manage']],
        ['B', ['Listen']],
      ]);
      assert.deepEqual((await store.hubs.list()).map((h) => h.name), ['MyHub']);
      assert.equal(await store.hubs.delete('MYHUB'), true);
      assert.equal(await store.hubs.get('MyHub'), undefined);
      assert.deepEqual(await store.rules.list('MyHub'), [], 'rules go with the hub');
      assert.equal(await store.hubs.delete('MyHub'), false);
    });

    test('hub settings are replaced and kept', async () => {
      await store.hubs.create(hub('settings'), []);
      const updated = await store.hubs.updateSettings('SETTINGS', { registrationTtlSeconds: 3600 }, 42);
      assert.deepEqual(updated?.settings, { registrationTtlSeconds: 3600 });
      assert.equal(updated?.updatedAt, 42);
      assert.deepEqual((await store.hubs.get('settings'))?.settings, { registrationTtlSeconds: 3600 });
      assert.equal(await store.hubs.updateSettings('none', { registrationTtlSeconds: null }, 1), undefined);
    });

    test('a taken hub name (any case) is refused and nothing of the second create is stored', async () => {
      await store.hubs.create(hub('h1'), [rule('h1', 'A')]);
      await assert.rejects(store.hubs.create(hub('H1', 5), [rule('H1', 'Other')]), isCode('hub_exists'));
      assert.equal((await store.hubs.get('h1'))?.createdAt, 1_700_000_000_000);
      assert.deepEqual((await store.rules.list('h1')).map((r) => r.name), ['A']);
    });

    test('a hub whose rules cannot all be stored is not created at all', async () => {
      await assert.rejects(store.hubs.create(hub('h2'), [rule('h2', 'A'), rule('h2', 'A')]));
      assert.equal(await store.hubs.get('h2'), undefined);
      assert.deepEqual(await store.rules.list('h2'), []);
    });

    test('rules: insert, duplicate, limit, key update and delete, per scope', async () => {
      await store.hubs.create(hub('h'), []);
      await store.rules.insert(rule('h', 'r1'), 2);
      await assert.rejects(store.rules.insert(rule('h', 'r1'), 2), isCode('rule_exists'));
      await store.rules.insert(rule('h', 'r2'), 2);
      await assert.rejects(store.rules.insert(rule('h', 'r3'), 2), isCode('too_many_rules'));
      assert.equal(await store.rules.get('h', 'r3'), undefined);

      const updated = await store.rules.updateKeys('h', 'r1', { secondaryKey: 'new' }, 99);
      assert.equal(updated?.primaryKey, 'p-r1');
      assert.equal(updated?.secondaryKey, 'new');
      assert.equal(updated?.updatedAt, 99);
      assert.equal(await store.rules.updateKeys('h', 'nope', { primaryKey: 'x' }, 1), undefined);

      await store.rules.insert(rule(NAMESPACE_SCOPE, 'r1', { rights: ['Manage'] }), 12);
      assert.deepEqual((await store.rules.get(NAMESPACE_SCOPE, 'r1'))?.rights, ['Manage']);
      assert.deepEqual((await store.rules.get('h', 'r1'))?.rights, ['Listen'], 'scopes are separate');

      assert.equal(await store.rules.delete('h', 'r1'), true);
      assert.equal(await store.rules.delete('h', 'r1'), false);
      assert.ok(await store.rules.get(NAMESPACE_SCOPE, 'r1'));
    });

    test('credentials: put replaces, list, delete, and go with the hub', async () => {
      await store.hubs.create(hub('Creds'), []);
      const base = { hub: 'Creds', platform: 'apns', sealed: 'v1.x', summary: { keyId: 'K' }, endpoint: null, updatedAt: 1 };
      await store.credentials.put(base);
      await store.credentials.put({ ...base, sealed: 'v1.y', endpoint: 'https://127.0.0.1:1/', updatedAt: 2 });
      await store.credentials.put({ ...base, platform: 'wns' });
      const got = await store.credentials.get('creds', 'apns');
      assert.deepEqual(got, { ...base, sealed: 'v1.y', endpoint: 'https://127.0.0.1:1/', updatedAt: 2 });
      assert.deepEqual((await store.credentials.list('Creds')).map((c) => c.platform), ['apns', 'wns']);
      assert.equal(await store.credentials.delete('Creds', 'wns'), true);
      assert.equal(await store.credentials.delete('Creds', 'wns'), false);
      await assert.rejects(store.credentials.put({ ...base, hub: 'missing' }), isCode('hub_not_found'));
      await store.hubs.delete('Creds');
      await store.hubs.create(hub('Creds'), []);
      assert.deepEqual(await store.credentials.list('Creds'), [], 'a re-created hub starts without credentials');
    });
  });
}
