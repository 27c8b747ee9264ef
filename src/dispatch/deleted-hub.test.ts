/**
 * Issue 10 item 15: a batch still in flight when its hub is deleted must not write its outcomes and
 * feedback into a new hub of the same name (nor delete that hub's registrations). The connector holds
 * the batch until the test has deleted and re-created the hub: no timing, the order is fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../shared/clock.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { fcmBroadcast, HeldConnector, pipelineNode } from './test-pipeline.ts';

test('a batch in flight when its hub is deleted writes nothing into a new hub of the same name', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  const clock = systemClock;
  const connector = new HeldConnector({ kind: 'handle-expired', azure: 'ExpiredChannel', reason: 'UNREGISTERED', status: 404 });
  const { hubs, worker, sends } = pipelineNode(store, clock, connector, { concurrency: 2 });
  const registration = { id: 'reg-1', kind: 'FcmV1' as const, handle: { platform: 'fcmv1' as const, value: 'token-1' }, tags: ['news'], updatedAt: clock.now() };
  const installation = { installationId: 'inst-1', platform: 'fcmv1' as const, pushChannel: 'token-2', pushChannelExpired: false, tags: ['news'], createdAt: clock.now(), updatedAt: clock.now() };
  const materialised = { ...registration, id: 'inst-1-native', handle: { platform: 'fcmv1' as const, value: 'token-2' }, installationId: 'inst-1', etag: 1, createdAt: clock.now() };
  const populate = async () => {
    await store.registrations.upsert('news', registration, { now: clock.now() });
    await store.installations.put('news', installation, [materialised]);
  };
  try {
    const { hub } = await hubs.createHub('news');
    await populate();
    await worker.start();
    const req = fcmBroadcast();
    const n = await sends.accept(hub, req);
    await connector.sending;

    // The hub goes while its batch is at the PNS; someone creates a hub of the same name with the same ids.
    await hubs.deleteHub('news');
    await hubs.createHub('news');
    await populate();
    connector.answer();
    await worker.idle();

    assert.deepEqual(await store.dispatch.listFeedback('news', 10), [], 'the new hub sees no feedback');
    assert.deepEqual((await store.dispatch.listOutcomes('news', n.id, {}, { limit: 10 })).items, [], 'nor outcomes');
    assert.equal(await store.dispatch.getNotification('news', n.id), undefined);
    assert.ok(await store.registrations.get('news', 'reg-1'), 'its registration was not removed');
    assert.ok(await store.registrations.get('news', 'inst-1-native'), "nor its installation's");
    assert.equal((await store.installations.get('news', 'inst-1'))?.pushChannelExpired, false, 'nor its installation marked expired');
  } finally {
    await worker.stop();
    await store.close();
  }
});
