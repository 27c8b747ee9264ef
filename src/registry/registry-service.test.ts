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

