/**
 * Import and export jobs on both stores (SQLite, and PostgreSQL where an import chunk is one COPY and a
 * few statements): the same lines give the same registrations, the same Output.txt and Failed.txt, and
 * on PostgreSQL a file uploaded to one node is imported by a job another node runs.
 */
import { registrationDescriptionLines } from '../api/wire/registration-xml.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
import type { HubRecord, Store } from '../store/store.ts';
import { ContinuationTokens } from './continuation.ts';
import { FileArea } from './file-area.ts';
import { JobService } from './jobs.ts';
import { RegistryService } from './registry-service.ts';

const postgres = usePostgresServer();
const NS = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"';
const line = (token: string, id?: string, tags = 'imported') =>
  `<FcmV1RegistrationDescription ${NS}>${id ? `<RegistrationId>${id}</RegistrationId>` : ''}<Tags>${tags}</Tags><FcmV1RegistrationId>${token}</FcmV1RegistrationId></FcmV1RegistrationDescription>`;

/** One Herald node's job machinery over a store (its file area the store's, or a directory's). */
function node(store: Store, dir: string, clock: ManualClock) {
  const secret = Buffer.alloc(32, 7);
  const hubs = new HubService(store, new SecretBox(secret), clock);
  const registry = new RegistryService(store, clock, new ContinuationTokens(secret));
  const files = new FileArea(dir, store.files);
  const jobs = new JobService(store, registry, files, clock, createLogger('silent'), registrationDescriptionLines);
  return { hubs, registry, files, jobs };
}

type Node = ReturnType<typeof node>;

async function upload(n: Node, name: string, text: string): Promise<string> {
  const w = await n.files.store.create(name, { whole: true });
  await w.write(text);
  await w.close();
  return `file://${join(n.files.root, name)}`;
}

async function readText(n: Node, name: string): Promise<string> {
  let text = '';
  for await (const chunk of n.files.store.read(name)) text += String(chunk);
  return text;
}

/** Runs a job to its end; answers the job and its two output files' lines (split on tabs). */
async function run(n: Node, hub: HubRecord, type: string, text: string, dir = n) {
  const input = await upload(dir, `in-${randomBytes(4).toString('hex')}.txt`, text);
  const submitted = await n.jobs.submit(hub, { type, outputContainerUri: `file://${join(n.files.root, 'out')}`, importFileUri: input });
  await n.jobs.idle();
  const job = (await n.jobs.get(hub, submitted.id))!;
  const lines = async (file: string) =>
    (await readText(n, `out/${hub.name}/${job.id}/${file}`))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
  return { job, ok: await lines('Output.txt'), failed: await lines('Failed.txt') };
}

function storeSuite(name: string, open: () => Promise<{ stores: Store[]; done(): Promise<void> }>) {
  describe(`import and export jobs on ${name}`, () => {
    const setUp = async () => {
      const { stores, done } = await open();
      const dirs = stores.map(() => mkdtempSync(join(tmpdir(), 'herald-jobs-')));
      const clock = new ManualClock(1_700_000_000_000);
      const nodes = stores.map((s, i) => node(s, dirs[i]!, clock));
      const { hub } = await nodes[0]!.hubs.createHub('imports');
      return {
        nodes,
        hub,
        clock,
        done: async () => {
          await done();
          for (const d of dirs) rmSync(d, { recursive: true, force: true });
        },
      };
    };

    test('a create import stores the good lines with their tags and reports each bad line with its number and reason', async () => {
      const t = await setUp();
      try {
        const n = t.nodes[0]!;
        const lines = [line('good-1'), 'this is not xml', line('good-2'), '', `<FooRegistrationDescription ${NS}/>`, line('bad token with spaces'), line('good-3', undefined, 'imported,second')];
        const r = await run(n, t.hub, 'ImportCreateRegistrations', lines.join('\n'));
        assert.equal(r.job.status, 'Completed', r.job.failure);
        assert.deepEqual([r.job.outputProperties?.SucceededLines, r.job.outputProperties?.FailedLines], ['3', '3']);
        assert.deepEqual(r.ok.map((l) => `${l[0]} ${l[1]}`), ['1 Succeeded', '3 Succeeded', '7 Succeeded']);
        assert.deepEqual(r.failed.map((l) => l[0]), ['2', '5', '6']);
        assert.match(r.failed[2]![1]!, /FcmV1RegistrationId/);
        assert.equal(await n.registry.countRegistrations(t.hub, { tag: 'imported' }), 3);
        assert.equal(await n.registry.countRegistrations(t.hub, { tag: 'second' }), 1);
        const stored = await n.registry.getRegistration(t.hub, r.ok[2]![2]!);
        assert.deepEqual([stored.handle.value, stored.etag, [...stored.tags].sort()], ['good-3', 1, ['imported', 'second']]);
      } finally {
        await t.done();
      }
    });

    test('update, upsert and delete imports by id: conditions and ETags as one by one, the file order deciding a repeated id', async () => {
      const t = await setUp();
      try {
        const n = t.nodes[0]!;
        const existing = await n.registry.upsertRegistration(t.hub, 'reg-1', { kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'old' }, tags: ['old-tag'] });
        assert.equal(existing.etag, 1);
        const upd = await run(n, t.hub, 'ImportUpdateRegistrations', [line('changed', 'reg-1', 'new-tag'), line('nobody', 'missing-id'), line('no-id')].join('\n'));
        assert.deepEqual(upd.ok.map((l) => l[0]), ['1']);
        assert.deepEqual(upd.failed.map((l) => [l[0], l[1]]), [['2', 'Registration not found.'], ['3', 'ImportUpdateRegistrations needs a RegistrationId on every line.']]);
        const changed = await n.registry.getRegistration(t.hub, 'reg-1');
        assert.deepEqual([changed.handle.value, changed.etag, changed.tags, changed.createdAt], ['changed', 2, ['new-tag'], existing.createdAt]);
        assert.equal(await n.registry.countRegistrations(t.hub, { tag: 'old-tag' }), 0, "the old tag's rows went");
        await assert.rejects(n.registry.getRegistration(t.hub, 'missing-id'), { code: 'registration_not_found' });

        // An installation's registration is written only through the installation.
        await n.registry.putInstallation(t.hub, 'inst-1', { platform: 'fcmv1', pushChannel: 'inst-token' });
        const owned = (await n.registry.listRegistrations(t.hub, 'test', { installationId: 'inst-1' }, {})).items[0]!.id;
        const ups = await run(n, t.hub, 'ImportUpsertRegistrations', [line('first', 'reg-2'), line('second', 'reg-2', 'again'), line('steal', owned), line('fresh')].join('\n'));
        assert.deepEqual(ups.ok.map((l) => l[0]), ['1', '2', '4']);
        assert.deepEqual(ups.failed.map((l) => l[0]), ['3']);
        assert.match(ups.failed[0]![1]!, /belongs to an installation/);
        const twice = await n.registry.getRegistration(t.hub, 'reg-2');
        assert.deepEqual([twice.handle.value, twice.etag, twice.tags], ['second', 2, ['again']], 'the later line wins, written after the first');
        assert.equal((await n.registry.getRegistration(t.hub, owned)).handle.value, 'inst-token');

        const del = await run(n, t.hub, 'ImportDeleteRegistrations', [line('x', 'reg-1'), line('x', 'reg-1')].join('\n'));
        assert.deepEqual([del.ok.length, del.failed.length], [1, 1]);
        await assert.rejects(n.registry.getRegistration(t.hub, 'reg-1'), { code: 'registration_not_found' });
      } finally {
        await t.done();
      }
    });

    test('an import over an expired registration fails that line (registration_gone), as a single write would', async () => {
      const t = await setUp();
      try {
        const n = t.nodes[0]!;
        const hub = await n.hubs.updateSettings('imports', { registrationTtlSeconds: 60 });
        await n.registry.upsertRegistration(hub, 'reg-old', { kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'old' }, tags: [] });
        t.clock.advance(61_000);
        const r = await run(n, hub, 'ImportUpsertRegistrations', [line('new', 'reg-old'), line('other', 'reg-new')].join('\n'));
        assert.deepEqual(r.ok.map((l) => l[0]), ['2']);
        assert.match(r.failed[0]![1]!, /expired/);
        assert.equal((await n.registry.getRegistration(hub, 'reg-new')).expiresAt, t.clock.now() + 60_000);
      } finally {
        await t.done();
      }
    });

    test('an import of more lines than a chunk, then an export of them all', async () => {
      const t = await setUp();
      try {
        const n = t.nodes[0]!;
        const r = await run(n, t.hub, 'ImportCreateRegistrations', Array.from({ length: 700 }, (_, i) => line(`token-${i}`)).join('\n'));
        assert.equal(r.ok.length, 700);
        assert.deepEqual(r.ok.slice(0, 3).map((l) => l[0]), ['1', '2', '3']);
        const exp = await n.jobs.submit(t.hub, { type: 'ExportRegistrations', outputContainerUri: `file://${join(n.files.root, 'exports')}` });
        await n.jobs.idle();
        assert.equal((await n.jobs.get(t.hub, exp.id)).status, 'Completed');
        const exported = (await readText(n, `exports/imports/${exp.id}/Output.txt`)).trim().split('\n');
        assert.equal(exported.length, 700);
      } finally {
        await t.done();
      }
    });

    if (name === 'postgresql') {
      test('a file uploaded to one node is imported by a job another node runs, and its output is read on the first', async () => {
        const t = await setUp();
        try {
          const [a, b] = t.nodes as [Node, Node];
          // Different data directories: nothing is shared but the database.
          const input = await upload(a, 'hubs/imports/devices.txt', [line('n-1'), line('n-2')].join('\n'));
          const job = await b.jobs.submit(t.hub, { type: 'ImportCreateRegistrations', outputContainerUri: `file://${join(b.files.root, 'out')}`, importFileUri: input.replace(a.files.root, b.files.root) });
          await b.jobs.idle();
          assert.equal((await b.jobs.get(t.hub, job.id)).status, 'Completed');
          assert.equal((await readText(a, `out/imports/${job.id}/Output.txt`)).trim().split('\n').length, 2);
          assert.equal(await a.registry.countRegistrations(t.hub, { tag: 'imported' }), 2);
        } finally {
          await t.done();
        }
      });
    }
  });
}

storeSuite('sqlite', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  return { stores: [store], done: () => store.close() };
});

let url: string | undefined;
storeSuite('postgresql', async () => {
  if (url === undefined) url = await postgres.createDatabase();
  else await postgres.emptyDatabase(url);
  const stores = [await openPostgresStore({ url }), await openPostgresStore({ url })];
  return { stores, done: async () => void (await Promise.all(stores.map((s) => s.close()))) };
});
