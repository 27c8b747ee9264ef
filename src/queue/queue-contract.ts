/**
 * The contract every Queue adapter meets (issue 11), exported as a function so each adapter's test file
 * runs it against real instances, no mocks: `queueContract('sqlite file', openPair)`. `openPair` gives two
 * Store instances on one database (two nodes); every test runs on virtual time (times are passed in, and
 * the worker's tests use a ManualClock), never on the machine's speed.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { DeliveryResult, Store } from '../store/store.ts';
import { batch, OTHER, OWNER, RULES } from '../store/store-contract.ts';
import type { PnsConnector } from '../pns/connector.ts';
import { ManualClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { fcmBroadcast, HeldConnector, pipelineNode } from '../dispatch/test-pipeline.ts';

const HUB = { name: 'q', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 };
const notification = (id: string) => ({ hub: 'q', id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 });

/** A batch's result: one Success per target, feedback for a dead registration, optionally a retry. */
function result(now: number, extra: Partial<DeliveryResult> = {}): DeliveryResult {
  return { outcomes: [{ registrationId: 'r', handle: 'h', platform: 'apns', outcome: 'Success', attempts: 1, at: now }], counts: { apns: { Success: 1 } }, expired: [], now, ...extra };
}

/** A notification whose plan made `n` batches; the plan itself is done. */
async function withBatches(store: Store, id: string, n: number): Promise<void> {
  await store.dispatch.createNotification(notification(id), { kind: 'plan', payload: { after: null }, runAt: 1 });
  const [plan] = await store.queue.claim(OWNER, 1, 1, 60_000);
  assert.equal(plan?.kind, 'plan');
  assert.equal(await store.dispatch.finishPlanStep(plan!, { batches: Array.from({ length: n }, (_, i) => batch(`t${i}`)), targets: n, now: 2 }, RULES), 'done');
}

/** A send pipeline on `store` (one node), on a ManualClock; only the queue's own wake-ups reach its worker. */
function node(store: Store, clock: ManualClock, connector: PnsConnector, leaseMs: number, nodeId: string, logLines: Array<{ msg?: string }> = [], concurrency = 2) {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  return pipelineNode(store, clock, connector, { concurrency, leaseMs, nodeId, logger: createLogger('warn', sink), wakeOnAccept: false });
}

export function queueContract(label: string, openPair: () => Promise<[Store, Store]>): void {
  describe(`Queue contract: ${label}`, () => {
    let a: Store;
    let b: Store;
    beforeEach(async () => {
      [a, b] = await openPair();
      await a.hubs.create(HUB, []);
    });
    afterEach(async () => {
      await a.close();
      await b.close();
    });

    test('concurrent claims from two nodes are disjoint, and record their owner and lease', async () => {
      await withBatches(a, 'n', 24);
      const rounds = await Promise.all(Array.from({ length: 8 }, (_, k) => (k % 2 ? a : b).queue.claim(k % 2 ? OWNER : OTHER, 3, 3, 1000)));
      const all = rounds.flat();
      assert.equal(all.length, 24);
      assert.equal(new Set(all.map((j) => j.id)).size, 24, 'no job handed out twice');
      for (const [k, jobs] of rounds.entries()) for (const j of jobs) assert.deepEqual([j.owner, j.leasedUntil, j.kind], [k % 2 ? OWNER : OTHER, 1003, 'deliver']);
      assert.deepEqual(await a.queue.claim(OWNER, 500, 10, 1000), [], 'a leased job is nobody else\'s');
      assert.equal(await a.queue.nextRunAt(), undefined, 'nothing unclaimed is waiting');
    });

    test('pendingOf lists a notification\'s queued jobs (claimed or not) with payload and run time; depth counts jobs and the oldest runnable', async () => {
      assert.deepEqual(await a.queue.depth(1), { jobs: 0, oldestRunnableAt: undefined });
      await withBatches(a, 'n', 3);
      await withBatches(a, 'other', 1);
      const [claimed] = await a.queue.claim(OWNER, 3, 1, 1000);
      const pending = await b.queue.pendingOf('Q', 'n', 10);
      assert.equal(pending.length + (claimed?.notificationId === 'n' ? 0 : 1), 3, 'the hub name in any case');
      assert.ok(pending.every((j) => j.kind === 'deliver' && j.runAt === 2 && j.attempt === 0));
      assert.equal(pending.filter((j) => j.running).length, claimed?.notificationId === 'n' ? 1 : 0, 'a claimed job is running');
      assert.deepEqual(pending.map((j) => j.kind === 'deliver' && j.payload.targets).filter(Boolean).length, pending.length);
      assert.equal((await b.queue.pendingOf('q', 'n', 1)).length, 1, 'limit');
      assert.deepEqual(await b.queue.pendingOf('q', 'nothing', 10), []);
      assert.deepEqual(await b.queue.depth(1), { jobs: 4, oldestRunnableAt: undefined }, 'nothing runnable before run_at');
      assert.deepEqual(await b.queue.depth(10), { jobs: 4, oldestRunnableAt: 2 }, 'claimed jobs are counted, but are not waiting');
    });

    test("a stale owner's completion is refused and writes nothing; the new owner's counts once", async () => {
      await a.registrations.upsert('q', { id: 'dead', kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'token-dead' }, tags: [], updatedAt: 1 }, { now: 1 });
      await withBatches(a, 'n', 1);
      const [first] = await a.queue.claim(OWNER, 3, 1, 1000);
      assert.equal(first?.attempt, 0);
      // Node A stalls past its lease: the reset on node B takes the job back, and B claims it.
      assert.equal(await b.queue.resetLapsed(1003), 0, 'not before the lease lapsed');
      assert.equal(await b.queue.resetLapsed(1004), 1);
      const [second] = await b.queue.claim(OTHER, 1004, 1, 60_000);
      assert.equal(second?.id, first!.id);
      assert.equal(second?.attempt, 1, 'taken back from a lapsed lease: attempt + 1');
      assert.equal(await a.queue.extend(first!, 5000), false, 'the stale owner cannot renew it');
      const stale = result(1005, {
        expired: [{ at: 1005, platform: 'fcmv1', handle: 'token-dead', registrationId: 'dead', notificationId: 'n', error: 'ExpiredChannel' }],
        retry: { payload: batch('again'), runAt: 1006 },
      });
      assert.equal(await a.dispatch.finishDelivery(first!, stale, RULES), 'stale');
      const untouched = await b.dispatch.getNotification('q', 'n');
      assert.deepEqual(untouched?.counts, {}, 'no counts');
      assert.equal(untouched?.state, 'Processing', 'not ended');
      assert.deepEqual((await b.dispatch.listOutcomes('q', 'n', {}, { limit: 10 })).items, [], 'no outcomes');
      assert.deepEqual(await b.dispatch.listFeedback('q', 10), [], 'no feedback');
      assert.ok(await b.registrations.get('q', 'dead'), 'feedback not applied');
      assert.equal(await b.queue.nextRunAt(), undefined, 'no retry enqueued');
      // A stale plan step is refused the same way.
      await a.dispatch.createNotification(notification('p'), { kind: 'plan', payload: { after: null }, runAt: 1 });
      const [plan] = await a.queue.claim(OWNER, 2000, 1, 1000);
      await b.queue.resetLapsed(3001);
      assert.equal(await a.dispatch.finishPlanStep(plan!, { batches: [batch('x')], targets: 1, now: 3002 }, RULES), 'stale');
      assert.equal((await b.dispatch.getNotification('q', 'p'))?.targets, 0, 'no targets counted');
      assert.deepEqual((await b.queue.claim(OTHER, 3003, 10, 1000)).map((j) => j.kind), ['plan'], 'no batch enqueued; the plan waits to run again');

      assert.equal(await b.dispatch.finishDelivery(second!, result(1007), RULES), 'done');
      const done = await a.dispatch.getNotification('q', 'n');
      assert.deepEqual(done?.counts, { apns: { Success: 1 } });
      assert.equal(done?.state, 'Completed');
      assert.equal(await a.dispatch.finishDelivery(first!, result(1008), RULES), 'stale', 'the job is gone: refused as well');
    });

    test('a batch completed twice counts once', async () => {
      await withBatches(a, 'n', 2);
      const [one, two] = await a.queue.claim(OWNER, 3, 2, 1000);
      assert.equal(await a.dispatch.finishDelivery(one!, result(4), RULES), 'done');
      assert.equal(await a.dispatch.finishDelivery(one!, result(4), RULES), 'stale', 'a second completion of the same job');
      assert.equal(await b.dispatch.finishDelivery(one!, result(4), RULES), 'stale', 'from another node too');
      assert.deepEqual((await a.dispatch.getNotification('q', 'n'))?.counts, { apns: { Success: 1 } });
      assert.equal((await a.dispatch.listOutcomes('q', 'n', {}, { limit: 10 })).items.length, 1);
      assert.equal(await a.dispatch.finishDelivery(two!, result(5), RULES), 'done');
      const n = await b.dispatch.getNotification('q', 'n');
      assert.deepEqual(n?.counts, { apns: { Success: 2 } });
      assert.equal(n?.state, 'Completed');
    });

    test('counts of concurrent batches on two nodes add up', async () => {
      await withBatches(a, 'n', 20);
      const [fromA, fromB] = await Promise.all([a.queue.claim(OWNER, 3, 10, 60_000), b.queue.claim(OTHER, 3, 10, 60_000)]);
      assert.equal(fromA.length + fromB.length, 20);
      const done = await Promise.all([...fromA.map((j) => a.dispatch.finishDelivery(j, result(4), RULES)), ...fromB.map((j) => b.dispatch.finishDelivery(j, result(4), RULES))]);
      assert.deepEqual(new Set(done), new Set(['done']));
      const n = await a.dispatch.getNotification('q', 'n');
      assert.deepEqual(n?.counts, { apns: { Success: 20 } });
      assert.equal(n?.state, 'Completed');
      assert.equal((await b.dispatch.listOutcomes('q', 'n', {}, { limit: 100 })).items.length, 20);
    });

    test('an extended lease keeps the job: the reset leaves it and the owner completes it', async () => {
      await withBatches(a, 'n', 1);
      const [job] = await a.queue.claim(OWNER, 3, 1, 1000);
      assert.equal(await b.queue.extend({ ...job!, owner: OTHER }, 9000), false, 'only the owner extends');
      assert.equal(await a.queue.extend(job!, 2003), true);
      assert.equal(await a.queue.extend(job!, 1503), true, 'a renewal that lands late...');
      assert.equal(await b.queue.resetLapsed(1600), 0, '...does not shorten the lease: it only moves forward');
      assert.equal(await b.queue.resetLapsed(1500), 0, 'the extended lease holds past the first one');
      assert.deepEqual(await b.queue.claim(OTHER, 1500, 10, 1000), []);
      assert.equal(await a.dispatch.finishDelivery(job!, result(1600), RULES), 'done');
      assert.equal((await b.dispatch.getNotification('q', 'n'))?.state, 'Completed');
    });

    test('an enqueue wakes the queue\'s listeners (on a shared store: every node\'s)', async () => {
      const listener = a.capabilities.sharedAcrossProcesses ? b : a;
      let unsubscribe = () => {};
      const woken = new Promise<void>((resolve) => (unsubscribe = listener.queue.onEnqueue(resolve)));
      await a.dispatch.createNotification(notification('w'), { kind: 'plan', payload: { after: null }, runAt: 1 });
      await woken;
      unsubscribe();
    });

    // The timeouts only stop a hung test (a wake-up that never comes); nothing here waits on real time.
    test('an idle worker is woken by an enqueue (no poll, no clock advance); nothing is released at start-up', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new HeldConnector();
      // The job another node holds (a live lease) is not taken when this node starts.
      await a.dispatch.createNotification(notification('held'), { kind: 'deliver', payload: batch(), runAt: 1 });
      const [held] = await a.queue.claim(OTHER, clock.now(), 1, 60_000);
      const accepting = a;
      const running = a.capabilities.sharedAcrossProcesses ? b : a;
      const { worker, hubs } = node(running, clock, connector, 60_000, OWNER);
      const { sends } = node(accepting, clock, connector, 60_000, 'acceptor');
      await running.registrations.upsert('q', { id: 'r1', kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'token-1' }, tags: [], updatedAt: 1 }, { now: 1 });
      try {
        await worker.start();
        await worker.idle({ withinMs: 0 });
        assert.equal(await a.queue.extend(held!, clock.now() + 60_000), true, 'the held job is still its owner\'s');
        const hub = await hubs.getHub('q');
        const n = await sends.accept(hub, fcmBroadcast());
        // Only the wake-up can bring the worker to it: the clock stands still.
        await connector.sending;
        connector.answer();
        await worker.idle({ withinMs: 0 });
        assert.equal((await running.dispatch.getNotification('q', n.id))?.state, 'Completed');
      } finally {
        connector.answer();
        await worker.stop();
      }
    });

    test("a long batch renews its lease on the worker's clock: the reset never takes it, and it completes once", { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new HeldConnector();
      const logLines: Array<{ msg?: string }> = [];
      // The real queue, with each renewal's promise kept: the test waits for the database to answer each
      // one before it moves virtual time on, so the outcome never depends on the machine's speed.
      const renewals: Promise<boolean>[] = [];
      const watched: Store = { ...a, queue: { ...a.queue, extend: (job, until) => { const p = a.queue.extend(job, until); renewals.push(p); return p; } } };
      const { worker, hubs, sends } = node(watched, clock, connector, 3000, OWNER, logLines);
      await a.registrations.upsert('q', { id: 'r1', kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'token-1' }, tags: [], updatedAt: 1 }, { now: 1 });
      try {
        await worker.start();
        const n = await sends.accept(await hubs.getHub('q'), fcmBroadcast());
        worker.wake();
        await connector.sending;
        // Ten leases pass while the batch is at the PNS; the other node resets every second.
        for (let i = 0; i < 30; i++) {
          await clock.advanceAsync(1000);
          assert.deepEqual(await Promise.all(renewals.splice(0)), [true], `${i + 1} s in: one renewal per third of the lease, each kept`);
          assert.equal(await b.queue.resetLapsed(clock.now()), 0, `${i + 1} s in: the lease was renewed ${JSON.stringify(logLines)}`);
        }
        connector.answer();
        await worker.idle({ withinMs: 0 });
        const done = await a.dispatch.getNotification('q', n.id);
        assert.equal(done?.state, 'Completed');
        assert.deepEqual(done?.counts, { fcmv1: { Success: 1 } });
      } finally {
        connector.answer();
        await worker.stop();
      }
    });

    test('a worker that stalled past its lease logs and drops its result; the node that took the job over counts it once', { timeout: 120_000 }, async () => {
      const clock = new ManualClock(1_000_000);
      const connector = new HeldConnector();
      const logLines: Array<{ msg?: string }> = [];
      // One job at a time: busy with the held batch, this worker does not claim it again after the reset.
      const { worker, hubs, sends } = node(a, clock, connector, 3000, OWNER, logLines, 1);
      await a.registrations.upsert('q', { id: 'r1', kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'token-1' }, tags: [], updatedAt: 1 }, { now: 1 });
      try {
        await worker.start();
        const n = await sends.accept(await hubs.getHub('q'), fcmBroadcast());
        worker.wake();
        await connector.sending;
        // The batch is at the PNS when the other node's clock is past its lease (this node stalled: its
        // renewals never ran): that node takes it back, claims and completes it.
        const later = clock.now() + 60_000;
        assert.equal(await b.queue.resetLapsed(later), 1);
        const [taken] = await b.queue.claim(OTHER, later, 10, 60_000);
        assert.equal(taken?.kind, 'deliver');
        assert.equal(taken?.attempt, 1);
        assert.equal(await b.dispatch.finishDelivery(taken!, { outcomes: [{ registrationId: 'r1', handle: 'token-1', platform: 'fcmv1', outcome: 'Success', attempts: 1, at: later }], counts: { fcmv1: { Success: 1 } }, expired: [], now: later }, RULES), 'done');
        connector.answer();
        await worker.idle({ withinMs: 0 });
        const done = await a.dispatch.getNotification('q', n.id);
        assert.deepEqual(done?.counts, { fcmv1: { Success: 1 } }, 'counted once');
        assert.equal((await a.dispatch.listOutcomes('q', n.id, {}, { limit: 10 })).items.length, 1, 'one outcome');
        assert.ok(logLines.some((l) => l.msg?.includes('its result was dropped')), JSON.stringify(logLines));
      } finally {
        connector.answer();
        await worker.stop();
      }
    });
  });
}
