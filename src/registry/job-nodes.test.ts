/**
 * Jobs and the node that runs them (issue 11): a job records its node; on a shared store a periodic,
 * cluster-wide check (one node per interval) fails the unfinished jobs of a node whose heartbeat lapsed,
 * leaving those of live nodes alone; a finished job is final. An embedded store fails every unfinished
 * job at start-up, as before. All on virtual time.
 */
import { registrationDescriptionLines } from '../api/wire/registration-xml.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usePostgresServer } from '../../test/postgres-server.ts';
import { HubService } from '../hubs/hub-service.ts';
import { ManualClock } from '../shared/clock.ts';
import { createLogger } from '../shared/logger.ts';
import { SecretBox } from '../shared/secret-box.ts';
import { openPostgresStore } from '../store/postgres/postgres-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { JobRecord, Store } from '../store/store.ts';
import { ContinuationTokens } from './continuation.ts';
import { FileArea } from './file-area.ts';
import { JobService, ORPHANED_JOB_FAILURE } from './jobs.ts';
import { RegistryService } from './registry-service.ts';

const postgres = usePostgresServer();
const EVERY_MS = 5_000;
const STALE_MS = 15_000;
const T0 = 1_700_000_000_000;

function node(store: Store, dir: string, clock: ManualClock, nodeId: string) {
  const secret = Buffer.alloc(32, 7);
  const hubs = new HubService(store, new SecretBox(secret), clock);
  const registry = new RegistryService(store, clock, new ContinuationTokens(secret));
  const files = new FileArea(dir, store.files);
  const jobs = new JobService(store, registry, files, clock, createLogger('silent'), registrationDescriptionLines, { node: nodeId });
  return { store, hubs, jobs, nodeId, dir, files };
}

const running = (id: string, node: string | undefined, at = T0): JobRecord => ({
  hub: 'work',
  id,
  type: 'ExportRegistrations',
  status: 'Running',
  progress: 40,
  outputContainerUri: 'file:///out',
  ...(node === undefined ? {} : { node }),
  createdAt: at,
  updatedAt: at,
});

async function setUp(stores: Store[], done: () => Promise<void>) {
  const clock = new ManualClock(T0);
  const nodes = stores.map((s, i) => node(s, mkdtempSync(join(tmpdir(), 'herald-job-nodes-')), clock, `node-${'ab'[i]}`));
  const hub = (await nodes[0]!.hubs.createHub('work')).hub;
  return {
    clock,
    nodes,
    hub,
    done: async () => {
      await done();
      for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
    },
  };
}

const statusOf = async (store: Store, id: string) => {
  const j = (await store.jobs.get('work', id))!;
  return [j.status, j.failure];
};

let url: string | undefined;
async function twoPostgresNodes() {
  if (url === undefined) url = await postgres.createDatabase();
  else await postgres.emptyDatabase(url);
  const stores = [await openPostgresStore({ url }), await openPostgresStore({ url })];
  return setUp(stores, async () => void (await Promise.all(stores.map((s) => s.close()))));
}

describe('jobs of a stopped node on a shared store (PostgreSQL, two nodes)', () => {
  test('a job records the node it was submitted to', async () => {
    const t = await twoPostgresNodes();
    try {
      const [a, b] = t.nodes as [ReturnType<typeof node>, ReturnType<typeof node>];
      const job = await a.jobs.submit(t.hub, { type: 'ExportRegistrations', outputContainerUri: `file://${join(a.files.root, 'out')}` });
      await a.jobs.idle();
      assert.equal(job.node, 'node-a');
      assert.equal((await b.store.jobs.get('work', job.id))?.node, 'node-a', 'the other node reads it');
    } finally {
      await t.done();
    }
  });

  test("the check fails the unfinished jobs of a node whose heartbeat lapsed, once per interval, and leaves a live node's jobs alone", async () => {
    const t = await twoPostgresNodes();
    try {
      const [a, b] = t.nodes as [ReturnType<typeof node>, ReturnType<typeof node>];
      await a.store.tasks.heartbeat('node-a', T0, STALE_MS);
      await b.store.tasks.heartbeat('node-b', T0, STALE_MS);
      await a.store.jobs.create(running('of-a', 'node-a'));
      await a.store.jobs.create({ ...running('of-a-started', 'node-a'), status: 'Started', progress: 0 });
      await b.store.jobs.create(running('of-b', 'node-b'));
      await a.store.jobs.create({ ...running('of-a-done', 'node-a'), status: 'Completed', progress: 100 });
      await a.store.jobs.create(running('of-nobody', 'node-gone'));
      // Jobs from before nodes were recorded: failed only once not updated for the stale time.
      await a.store.jobs.create(running('legacy-old', undefined, T0 - STALE_MS - 1));
      await a.store.jobs.create(running('legacy-fresh', undefined, T0 + 10_000));
      const timers = [a.jobs.watchNodes(EVERY_MS, STALE_MS), b.jobs.watchNodes(EVERY_MS, STALE_MS)];

      // Node a stops heartbeating at T0; node b goes on. Each interval both nodes run the check.
      const failedAt: number[] = [];
      for (let i = 1; i <= 4; i++) {
        t.clock.advance(EVERY_MS);
        const [na, nb] = await Promise.all([a.jobs.lastNodeCheck(), b.jobs.lastNodeCheck()]);
        failedAt.push(na + nb);
        await b.store.tasks.heartbeat('node-b', t.clock.now(), STALE_MS);
        if (i === 1) {
          assert.deepEqual(await statusOf(b.store, 'of-nobody'), ['Failed', ORPHANED_JOB_FAILURE], 'a node with no heartbeat row at all');
          assert.deepEqual(await statusOf(b.store, 'legacy-old'), ['Failed', ORPHANED_JOB_FAILURE]);
        }
        if (i <= 2) assert.deepEqual(await statusOf(b.store, 'of-a'), ['Running', undefined], `node a seen ${i * EVERY_MS} ms ago still counts as alive`);
      }
      // T0+5s: the unknown node's job and the old legacy one; T0+20s: node a's two (its last beat is 20 s old);
      // T0+25s... nothing new. The legacy job updated at T0+10s is 15 s old only at T0+25s (not yet stale).
      assert.deepEqual(failedAt, [2, 0, 0, 2]);
      assert.deepEqual(await statusOf(b.store, 'of-a'), ['Failed', ORPHANED_JOB_FAILURE]);
      assert.deepEqual(await statusOf(b.store, 'of-a-started'), ['Failed', ORPHANED_JOB_FAILURE]);
      assert.equal((await b.store.jobs.get('work', 'of-a'))?.updatedAt, T0 + 4 * EVERY_MS);
      assert.deepEqual(await statusOf(b.store, 'of-b'), ['Running', undefined], "a live node's job is untouched");
      assert.deepEqual(await statusOf(b.store, 'of-a-done'), ['Completed', undefined], 'a finished job is untouched');
      assert.deepEqual(await statusOf(b.store, 'legacy-fresh'), ['Running', undefined]);
      for (const timer of timers) t.clock.clearTimer(timer);
    } finally {
      await t.done();
    }
  });

  test('a job failed by the check stays Failed: the late writes of its node do not bring it back', async () => {
    const t = await twoPostgresNodes();
    try {
      const [a, b] = t.nodes as [ReturnType<typeof node>, ReturnType<typeof node>];
      await a.store.jobs.create(running('late', 'node-a'));
      t.clock.advance(STALE_MS + 1);
      assert.equal(await b.jobs.failOrphaned(EVERY_MS, STALE_MS), 1);
      await a.store.jobs.update({ ...running('late', 'node-a'), progress: 80, updatedAt: t.clock.now() });
      await a.store.jobs.update({ ...running('late', 'node-a'), status: 'Completed', progress: 100, updatedAt: t.clock.now() });
      assert.deepEqual(await statusOf(b.store, 'late'), ['Failed', ORPHANED_JOB_FAILURE]);
      assert.equal(await a.jobs.failOrphaned(EVERY_MS, STALE_MS), 0, 'not due again within the interval, on any node');
    } finally {
      await t.done();
    }
  });
});

describe('a running job that another node marked Failed', () => {
  test('stops before its next chunk: nothing of its import is written, and it stays Failed', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const t = await setUp([store], () => store.close());
    try {
      const [a] = t.nodes as [ReturnType<typeof node>];
      // The job's first write as Running is where another node's check lands (this node's heartbeat lapsed).
      let hooked = false;
      const jobs: Store['jobs'] = {
        ...store.jobs,
        update: async (job) => {
          await store.jobs.update(job);
          if (!hooked && job.status === 'Running') {
            hooked = true;
            assert.equal(await store.jobs.failOrphaned(t.clock.now(), ORPHANED_JOB_FAILURE, t.clock.now()), 1);
          }
        },
      };
      const wrapped: Store = Object.assign(Object.create(Object.getPrototypeOf(store)) as Store, store, { jobs });
      const registry = new RegistryService(wrapped, t.clock, new ContinuationTokens(Buffer.alloc(32, 7)));
      const service = new JobService(wrapped, registry, a.files, t.clock, createLogger('silent'), registrationDescriptionLines, { node: 'node-a' });
      const NS = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"';
      const w = await a.files.store.create('in.txt', { whole: true });
      await w.write(Array.from({ length: 300 }, (_, i) => `<FcmV1RegistrationDescription ${NS}><FcmV1RegistrationId>t-${i}</FcmV1RegistrationId></FcmV1RegistrationDescription>`).join('\n'));
      await w.close();
      const job = await service.submit(t.hub, { type: 'ImportCreateRegistrations', outputContainerUri: `file://${join(a.files.root, 'out')}`, importFileUri: `file://${join(a.files.root, 'in.txt')}` });
      await service.idle();
      assert.ok(hooked);
      assert.deepEqual(await statusOf(store, job.id), ['Failed', ORPHANED_JOB_FAILURE]);
      assert.equal(await registry.countRegistrations(t.hub, {}), 0, 'no chunk was imported after the job was failed');
    } finally {
      await t.done();
    }
  });
});

describe('jobs on an embedded store (SQLite)', () => {
  const open = () => {
    const store = openSqliteStore({ path: ':memory:' });
    return setUp([store], () => store.close());
  };

  test('at start-up every unfinished job is failed as interrupted by a restart, as before; finished ones are kept', async () => {
    const t = await open();
    try {
      const [a] = t.nodes as [ReturnType<typeof node>];
      await a.store.jobs.create(running('mine', 'node-a'));
      await a.store.jobs.create(running('legacy', undefined));
      await a.store.jobs.create({ ...running('done', 'node-a'), status: 'Completed', progress: 100 });
      assert.equal(await a.jobs.failInterrupted(), 2);
      for (const id of ['mine', 'legacy']) {
        const [status, failure] = await statusOf(a.store, id);
        assert.equal(status, 'Failed');
        assert.match(failure!, /interrupted by a restart/);
      }
      assert.deepEqual(await statusOf(a.store, 'done'), ['Completed', undefined]);
    } finally {
      await t.done();
    }
  });

  test('a job records its node, and the store keeps the same rules as a shared one (orphans, finished jobs final)', async () => {
    const t = await open();
    try {
      const [a] = t.nodes as [ReturnType<typeof node>];
      const job = await a.jobs.submit(t.hub, { type: 'ExportRegistrations', outputContainerUri: `file://${join(a.files.root, 'out')}` });
      await a.jobs.idle();
      assert.deepEqual([(await a.store.jobs.get('work', job.id))?.node, (await a.store.jobs.get('work', job.id))?.status], ['node-a', 'Completed']);
      await a.store.tasks.heartbeat('node-a', T0, STALE_MS);
      await a.store.jobs.create(running('live', 'node-a'));
      await a.store.jobs.create(running('dead', 'node-x'));
      assert.equal(await a.store.jobs.failOrphaned(T0 - STALE_MS, ORPHANED_JOB_FAILURE, T0), 1);
      assert.deepEqual(await statusOf(a.store, 'dead'), ['Failed', ORPHANED_JOB_FAILURE]);
      assert.deepEqual(await statusOf(a.store, 'live'), ['Running', undefined]);
      await a.store.jobs.update({ ...running('dead', 'node-x'), status: 'Completed' });
      assert.deepEqual(await statusOf(a.store, 'dead'), ['Failed', ORPHANED_JOB_FAILURE]);
    } finally {
      await t.done();
    }
  });
});
