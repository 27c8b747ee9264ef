/**
 * The registry's read-modify-write paths against a real store (issue 10, item 18): a PATCH reads, patches
 * and writes in one unit of work, so concurrent PATCHes lose nothing and a PATCH never revives a deleted
 * installation.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { HubRecord, Store } from '../store/store.ts';
import { ContinuationTokens } from './continuation.ts';
import { RegistryService } from './registry-service.ts';

let store: Store;
let registry: RegistryService;
const hub: HubRecord = { name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 };

beforeEach(async () => {
  store = openSqliteStore({ path: ':memory:' });
  await store.hubs.create(hub, []);
  registry = new RegistryService(store, new ManualClock(1_700_000_000_000), new ContinuationTokens(randomBytes(32)));
});
afterEach(() => store.close());

test('twenty concurrent PATCHes of one installation all keep their change', async () => {
  await registry.putInstallation(hub, 'i1', { platform: 'apns', pushChannel: 'ABCD0001', tags: ['start'] });
  await Promise.all(Array.from({ length: 20 }, (_, i) => registry.patchInstallation(hub, 'i1', [{ op: 'add', path: '/tags', value: `t${i}` }])));
  const got = await registry.getInstallation(hub, 'i1');
  assert.deepEqual([...(got.tags ?? [])].sort(), ['start', ...Array.from({ length: 20 }, (_, i) => `t${i}`)].sort());
  const regs = await store.registrations.list('h', { installationId: 'i1' }, { limit: 10 });
  assert.equal(regs.items.length, 1);
  assert.equal(regs.items[0]!.tags.length, 1 + 21, 'the materialised registration has every tag (and the system tag)');
});

test('a PATCH racing a DELETE finds the installation gone (404) and does not bring it back', async () => {
  await registry.putInstallation(hub, 'i2', { platform: 'apns', pushChannel: 'ABCD0002' });
  const [patched, deleted] = await Promise.allSettled([
    registry.patchInstallation(hub, 'i2', [{ op: 'add', path: '/tags', value: 'late' }]),
    registry.deleteInstallation(hub, 'i2'),
  ]);
  assert.equal(deleted.status, 'fulfilled');
  // Either order is allowed; what is not is the installation (or its registrations) coming back.
  if (patched.status === 'rejected') assert.ok(patched.reason instanceof HubError && patched.reason.code === 'installation_not_found');
  assert.equal(await store.installations.get('h', 'i2'), undefined);
  assert.equal(await store.registrations.count('h', { installationId: 'i2' }), 0);
  await assert.rejects(registry.patchInstallation(hub, 'i2', [{ op: 'add', path: '/tags', value: 'x' }]), (e: unknown) => e instanceof HubError && e.code === 'installation_not_found');
});


test("a genuine token whose cursor this store did not make (another store's, say, under the same secret key) is invalid_continuation_token, not a 500 (#11 cursors)", async () => {
  const secret = randomBytes(32);
  const tokens = new ContinuationTokens(secret);
  registry = new RegistryService(store, new ManualClock(1_700_000_000_000), tokens);
  for (let i = 0; i < 3; i++) await registry.putInstallation(hub, `i${i}`, { platform: 'apns', pushChannel: `ABCD000${i}` });
  const first = await registry.listRegistrations(hub, 'all', {}, { top: '1', continuationToken: null });
  assert.ok(first.continuationToken);
  assert.equal((await registry.listRegistrations(hub, 'all', {}, { top: '5', continuationToken: first.continuationToken })).items.length, 2);
  // The scope the service binds registration listings to (hub, kind, query): a token made here with the
  // store's own cursor reads; with a cursor of another store or listing it is refused.
  const own = (await store.registrations.list('h', {}, { limit: 1 })).next!;
  assert.equal((await registry.listRegistrations(hub, 'all', {}, { top: '5', continuationToken: tokens.issue('h|registrations|all', own) })).items.length, 2);
  for (const cursor of ['p1r.1.abc', 's1i.1.abc', 'x']) {
    const foreign = tokens.issue('h|registrations|all', cursor);
    await assert.rejects(registry.listRegistrations(hub, 'all', {}, { top: '1', continuationToken: foreign }), (e: unknown) => e instanceof HubError && e.code === 'invalid_continuation_token', cursor);
  }
  const ownInstallation = (await store.installations.list('h', {}, { limit: 1 })).next!;
  assert.equal((await registry.queryInstallations(hub, 'all', {}, { top: '5', continuationToken: tokens.issue('h|installations|all', ownInstallation) }, false)).items.length, 2);
  const installations = tokens.issue('h|installations|all', 'p1i.1.abc');
  await assert.rejects(registry.queryInstallations(hub, 'all', {}, { top: '1', continuationToken: installations }, false), (e: unknown) => e instanceof HubError && e.code === 'invalid_continuation_token');
});
