/**
 * A large send planned in slices by several nodes (issue 11, item 3), on every adapter: two Store instances
 * on one database are two nodes, each with its own send worker, on one ManualClock (virtual time only).
 * The planning sizes are made small (a page of 10, slices of at least 20) so that a hub of 120 devices is
 * cut into several slices. Run by each adapter's sliced-plan.test.ts.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../store/store.ts';
import type { DeliveryOutcome, PnsBatch, PnsConnector } from '../pns/connector.ts';
import { ManualClock } from '../shared/clock.ts';
import { parseTagExpression } from '../tags/index.ts';
import type { DispatchWorker } from './dispatcher.ts';
import { fcmBroadcast, pipelineNode } from './test-pipeline.ts';

const HUB = { name: 'big', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 };
const DEVICES = 120;
/** A first page of 10, then the other 110 in min(4, floor(110 / 20)) = 4 slices of 27 or 28. */
const PLANNING = { page: 10, sliceMin: 20, maxSlices: 4 };
const LEASE_MS = 60_000;

/** Delivers every target (Success) and records its handle; optionally holds every batch until `answer()`. */
class RecordingConnector implements PnsConnector {
  readonly platform = 'fcmv1' as const;
  readonly handles: string[] = [];
  private release: () => void = () => {};
  private readonly released: Promise<void>;
  private reached: () => void = () => {};
  /** Resolves when a batch is in the connector's hands. */
  readonly sending = new Promise<void>((r) => (this.reached = r));
  constructor(hold: boolean) {
    this.released = hold ? new Promise<void>((r) => (this.release = r)) : Promise.resolve();
  }
  async send(b: PnsBatch): Promise<DeliveryOutcome[]> {
    this.reached();
    await this.released;
    this.handles.push(...b.targets.map((t) => t.handle));
    return b.targets.map(() => ({ kind: 'delivered', azure: 'Success', reason: 'ok', status: 200 }) as DeliveryOutcome);
  }
  answer(): void {
    this.release();
  }
  async close(): Promise<void> {}
}

/** One node: a send pipeline on `store`, with the small planning sizes. */
function node(store: Store, clock: ManualClock, connector: PnsConnector, nodeId: string, concurrency: number) {
  return pipelineNode(store, clock, connector, { concurrency, leaseMs: LEASE_MS, nodeId, planning: PLANNING });
}

const broadcast = fcmBroadcast;

const tags = (expression: string) => ({ kind: 'tags' as const, expression, parsed: parseTagExpression(expression) });

/**
 * Both workers idle, again and again, until the notification has ended (each looks for due work itself).
 * With `clock`, half a lease passes whenever both are idle and it has not ended: the workers' resets take
 * back the leases of jobs that failed.
 */
async function untilEnded(store: Store, id: string, workers: DispatchWorker[], clock?: ManualClock): Promise<void> {
  for (let round = 0; round < 100; round++) {
    const n = await store.dispatch.getNotification(HUB.name, id);
    if (n && n.endedAt !== undefined) return;
    for (const w of workers) w.wake();
    await Promise.all(workers.map((w) => w.idle({ withinMs: 0 })));
    if (clock) await clock.advanceAsync(LEASE_MS / 2);
  }
  assert.fail('the notification did not end');
}

export function slicedPlanContract(label: string, openPair: () => Promise<[Store, Store]>): void {
  describe(`A large send planned in slices by two nodes: ${label}`, () => {
    let a: Store;
    let b: Store;
    const all = Array.from({ length: DEVICES }, (_, i) => `token-${i}`);
    beforeEach(async () => {
      [a, b] = await openPair();
      await a.hubs.create(HUB, []);
      for (let i = 0; i < DEVICES; i++) {
        await a.registrations.upsert(HUB.name, { id: `r${i}`, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `token-${i}` }, tags: [`g${i % 3}`], updatedAt: 1 }, { now: 1 });
      }
    });
    afterEach(async () => {
      await a.close();
      await b.close();
    });

    // The timeouts only stop a hung test; nothing here waits on real time.
    test('a broadcast accepted by one node is planned in slices and delivered by both: every device once, exact counts', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new RecordingConnector(false);
      const one = node(a, clock, connector, 'node-a', 2);
      const two = node(b, clock, connector, 'node-b', 2);
      try {
        await one.worker.start();
        await two.worker.start();
        const n = await one.sends.accept(await one.hubs.getHub(HUB.name), broadcast());
        await untilEnded(b, n.id, [one.worker, two.worker]);
        const done = await b.dispatch.getNotification(HUB.name, n.id);
        assert.equal(done?.state, 'Completed');
        assert.equal(done?.targets, DEVICES, 'targets counted once per device');
        assert.deepEqual(done?.counts, { fcmv1: { Success: DEVICES } });
        assert.deepEqual([...connector.handles].sort(), [...all].sort(), 'every device exactly once');
        assert.equal((await a.dispatch.listOutcomes(HUB.name, n.id, {}, { limit: 1000 })).items.length, DEVICES);
        assert.equal(await a.queue.nextRunAt(), undefined, 'no job of it is left');
      } finally {
        await one.worker.stop();
        await two.worker.stop();
      }
    });

    test('the first step leaves one plan job per slice, which two nodes claim at once; slices of nodes that died run again after the reset', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new RecordingConnector(true);
      // Node A plans the first step, then holds its first batch at the PNS (one job at a time).
      const one = node(a, clock, connector, 'node-a', 1);
      const two = node(b, clock, connector, 'node-b', 2);
      const three = node(a, clock, connector, 'node-c', 2);
      try {
        await one.worker.start();
        const n = await one.sends.accept(await one.hubs.getHub(HUB.name), broadcast());
        await connector.sending;
        assert.equal((await a.dispatch.getNotification(HUB.name, n.id))?.targets, PLANNING.page, 'the first step planned its page');
        // Two nodes that die after claiming: each takes two slices, none the same.
        const [fromA, fromB] = await Promise.all([a.queue.claim('dead-a', clock.now(), 2, LEASE_MS), b.queue.claim('dead-b', clock.now(), 2, LEASE_MS)]);
        const slices = [...fromA, ...fromB];
        assert.deepEqual(slices.map((j) => j.kind), ['plan', 'plan', 'plan', 'plan'], 'four slices, claimed by two nodes at once');
        assert.equal(new Set(slices.map((j) => j.id)).size, 4);
        const ranges = slices.map((j) => j.payload as { after: string | null; until?: string }).sort((x, y) => (x.until === undefined ? 1 : y.until === undefined ? -1 : 0));
        assert.ok(ranges.every((r) => typeof r.after === 'string'), 'every slice starts after the first page');
        assert.equal(ranges.filter((r) => r.until === undefined).length, 1, 'one slice runs to the end of the listing');
        assert.deepEqual(await a.queue.claim('dead-a', clock.now(), 10, LEASE_MS), [], 'nothing else is waiting');
        connector.answer();
        await one.worker.idle({ withinMs: 0 });
        const open = await a.dispatch.getNotification(HUB.name, n.id);
        assert.deepEqual([open?.endedAt, open?.counts], [undefined, { fcmv1: { Success: PLANNING.page } }], 'the first batch is counted; the pending slices keep the notification open');
        // Node A stops (its reset timer with it); the dead nodes' leases lapse and the reset takes the slices back.
        await one.worker.stop();
        clock.advance(LEASE_MS + 1);
        assert.equal(await b.queue.resetLapsed(clock.now()), 4);
        await two.worker.start();
        await three.worker.start();
        await untilEnded(a, n.id, [two.worker, three.worker]);
        const done = await a.dispatch.getNotification(HUB.name, n.id);
        assert.equal(done?.state, 'Completed');
        assert.equal(done?.targets, DEVICES);
        assert.deepEqual(done?.counts, { fcmv1: { Success: DEVICES } });
        assert.deepEqual([...connector.handles].sort(), [...all].sort(), 'every device exactly once');
      } finally {
        connector.answer();
        await one.worker.stop();
        await two.worker.stop();
        await three.worker.stop();
      }
    });

    test('a node that fails in the middle of a slice: the slice resumes from its own saved cursor, no device twice', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new RecordingConnector(false);
      // The first time any node reads a slice's second page, that step fails (its node crashed there).
      const slices: Array<{ after?: string; until?: string }> = [];
      let failedAt: { after: string; until: string } | undefined;
      let resumed = 0;
      for (const store of [a, b]) {
        const listIds = store.registrations.listIds.bind(store.registrations);
        store.registrations.listIds = async (hub, filter, p) => {
          const { after, until } = p;
          if (after !== undefined && until !== undefined) {
            if (failedAt === undefined && slices.some((r) => r.until === until && r.after !== after)) {
              failedAt = { after, until };
              throw new Error('the node died here');
            }
            if (failedAt?.after === after && failedAt.until === until) resumed++;
          }
          return listIds(hub, filter, p);
        };
        const cut = store.registrations.slices.bind(store.registrations);
        store.registrations.slices = async (...args) => {
          const ranges = await cut(...args);
          slices.push(...ranges);
          return ranges;
        };
      }
      const one = node(a, clock, connector, 'node-a', 2);
      const two = node(b, clock, connector, 'node-b', 2);
      try {
        await one.worker.start();
        await two.worker.start();
        const n = await one.sends.accept(await one.hubs.getHub(HUB.name), broadcast());
        await untilEnded(a, n.id, [one.worker, two.worker], clock);
        assert.ok(failedAt, 'a step in the middle of a slice failed');
        assert.equal(resumed, 1, 'the failed step ran again once, from the cursor its slice had saved');
        const done = await a.dispatch.getNotification(HUB.name, n.id);
        assert.equal(done?.state, 'Completed');
        assert.equal(done?.targets, DEVICES);
        assert.deepEqual(done?.counts, { fcmv1: { Success: DEVICES } });
        assert.deepEqual([...connector.handles].sort(), [...all].sort(), 'every device exactly once');
      } finally {
        await one.worker.stop();
        await two.worker.stop();
      }
    });

    test('a send within its first page pays no slicing pass; a tag send past it is cut on the hub\'s key space, each device once', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new RecordingConnector(false);
      const one = node(a, clock, connector, 'node-a', 2);
      const two = node(b, clock, connector, 'node-b', 2);
      // What each node's store answered when asked for slices.
      const sliced: number[] = [];
      for (const store of [a, b]) {
        const slices = store.registrations.slices.bind(store.registrations);
        store.registrations.slices = async (...args) => {
          const ranges = await slices(...args);
          sliced.push(ranges.length);
          return ranges;
        };
      }
      for (let i = 0; i < 5; i++) await a.registrations.upsert(HUB.name, { id: `few${i}`, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `few-${i}` }, tags: ['few'], updatedAt: 1 }, { now: 1 });
      try {
        await one.worker.start();
        await two.worker.start();
        const hub = await one.hubs.getHub(HUB.name);
        const few = await one.sends.accept(hub, { ...broadcast(), target: tags('few') });
        await untilEnded(a, few.id, [one.worker, two.worker]);
        assert.deepEqual([(await a.dispatch.getNotification(HUB.name, few.id))?.targets, sliced], [5, []], 'one page, no slicing pass');
        // g0 has 40 devices, its first page ends at r27: the ~97 registrations of the hub after it make 4 slices.
        const tagged = await one.sends.accept(hub, { ...broadcast(), target: tags('g0') });
        await untilEnded(a, tagged.id, [one.worker, two.worker]);
        assert.deepEqual(sliced, [4]);
        const done = await a.dispatch.getNotification(HUB.name, tagged.id);
        assert.equal(done?.targets, 40);
        assert.deepEqual(done?.counts, { fcmv1: { Success: 40 } });
        // g1 || g2 has 80, its first page ends at r14: 4 slices again.
        const wide = await one.sends.accept(hub, { ...broadcast(), target: tags('g1 || g2') });
        await untilEnded(a, wide.id, [one.worker, two.worker]);
        assert.deepEqual(sliced, [4, 4]);
        const both = await a.dispatch.getNotification(HUB.name, wide.id);
        assert.deepEqual([both?.targets, both?.counts], [80, { fcmv1: { Success: 80 } }]);
        assert.deepEqual([...connector.handles].sort(), [...Array.from({ length: 5 }, (_, i) => `few-${i}`), ...all.filter((_, i) => i % 3 === 0), ...all.filter((_, i) => i % 3 !== 0)].sort(), 'every device of each send once');
      } finally {
        await one.worker.stop();
        await two.worker.stop();
      }
    });
  });
}
