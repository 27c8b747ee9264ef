/**
 * The hub setting `deviceSuccessOutcomes` (issue 11: per-device success rows may be optional, failures
 * always kept): off, a batch records per-device rows for its failures only, and its successes still
 * count per PNS. On (the default), every device has its row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../shared/clock.ts';
import type { DeliveryOutcome, PnsBatch, PnsConnector } from '../pns/connector.ts';
import { HubError } from '../shared/errors.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { fcmBroadcast, pipelineNode } from './test-pipeline.ts';

/** Delivers to every token but `bad-*`, which FCM refuses. */
class SplitConnector implements PnsConnector {
  readonly platform = 'fcmv1' as const;
  async send(batch: PnsBatch): Promise<DeliveryOutcome[]> {
    return batch.targets.map((t) =>
      t.handle.startsWith('bad-') ? { kind: 'rejected', azure: 'BadChannel', reason: 'INVALID_ARGUMENT', status: 400 } : { kind: 'delivered', azure: 'Success', reason: 'ok', status: 200 },
    );
  }
  async close(): Promise<void> {}
}

for (const setting of [false, undefined] as const) {
  test(`deviceSuccessOutcomes ${setting === undefined ? 'absent (default)' : setting}: ${setting === false ? 'failures only have rows' : 'every device has a row'}, the counts are whole`, async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const { hubs, worker, sends } = pipelineNode(store, systemClock, new SplitConnector());
    try {
      await hubs.createHub('news');
      if (setting !== undefined) await hubs.updateSettings('news', { deviceSuccessOutcomes: setting });
      for (const token of ['ok-1', 'ok-2', 'bad-1']) {
        await store.registrations.upsert('news', { id: `r-${token}`, kind: 'FcmV1', handle: { platform: 'fcmv1', value: token }, tags: [], updatedAt: systemClock.now() }, { now: systemClock.now() });
      }
      await worker.start();
      const n = await sends.accept(await hubs.getHub('news'), fcmBroadcast());
      await worker.idle();
      const stored = await store.dispatch.getNotification('news', n.id);
      assert.deepEqual(stored?.counts, { fcmv1: { Success: 2, BadChannel: 1 } });
      const rows = (await store.dispatch.listOutcomes('news', n.id, {}, { limit: 10 })).items.map((o) => `${o.handle} ${o.outcome}`).sort();
      assert.deepEqual(rows, setting === false ? ['bad-1 BadChannel'] : ['bad-1 BadChannel', 'ok-1 Success', 'ok-2 Success']);
    } finally {
      await worker.stop();
      await store.close();
    }
  });
}

test('deviceSuccessOutcomes must be true or false: anything else is refused and nothing changes', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  const { hubs } = pipelineNode(store, systemClock, new SplitConnector());
  try {
    await hubs.createHub('news');
    await assert.rejects(hubs.updateSettings('news', { deviceSuccessOutcomes: 'no' }), (e: unknown) => e instanceof HubError && e.code === 'invalid_request' && /deviceSuccessOutcomes must be true or false/.test(e.message));
    assert.equal((await hubs.getHub('news')).settings.deviceSuccessOutcomes, undefined);
  } finally {
    await store.close();
  }
});
