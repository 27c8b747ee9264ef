/**
 * The installation write group on PostgreSQL: PUTs that arrive while groups are being written wait and
 * go together in a later group, and a later PUT of one installation is written after the earlier one
 * (it wins, as it would alone), however many groups are in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Installation, Registration } from '../../registry/model.ts';
import { usePostgresServer } from '../../../test/postgres-server.ts';
import { openPostgresStore } from './postgres-store.ts';

const postgres = usePostgresServer();

const installation = (id: string, version: number): Installation => ({
  installationId: id,
  platform: 'fcmv1',
  pushChannel: `chan-${id}-${version}`,
  pushChannelExpired: false,
  tags: [`v${version}`],
  createdAt: 10,
  updatedAt: 10 + version,
});
const registrations = (id: string, version: number): Registration[] => [
  { id: `${id}-0`, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `chan-${id}-${version}` }, tags: [`$InstallationId:{${id}}`, `v${version}`], installationId: id, etag: 1, createdAt: 10, updatedAt: 10 + version },
];

test('PUTs of one installation, each issued before the last committed, end with the last one; others go in shared groups', async () => {
  const store = await openPostgresStore({ url: await postgres.createDatabase() });
  try {
    await store.hubs.create({ name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    const writes: Array<Promise<void>> = [];
    for (let v = 1; v <= 30; v++) {
      writes.push(store.installations.put('h', installation('same', v), registrations('same', v)));
      for (let k = 0; k < 5; k++) writes.push(store.installations.put('h', installation(`other-${v}-${k}`, 1), registrations(`other-${v}-${k}`, 1)));
      // A new turn of the event loop every few PUTs: several groups form, some while others are written.
      if (v % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    const got = await store.installations.get('h', 'same');
    assert.equal(got?.pushChannel, 'chan-same-30', 'the last PUT wins');
    assert.deepEqual((await store.registrations.get('h', 'same-0'))?.tags, ['$InstallationId:{same}', 'v30']);
    assert.equal(await store.registrations.count('h', { tag: 'v29' }), 0, "an earlier PUT's tag rows are gone");
    assert.equal(await store.installations.count('h', {}), 151);
  } finally {
    await store.close();
  }
});

test('a group with a PUT that takes another installation\'s registration id: that PUT alone is write_conflict, the others commit with their events (#11 put, #13)', async () => {
  const store = await openPostgresStore({ url: await postgres.createDatabase() });
  try {
    await store.hubs.create({ name: 'h', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
    await store.installations.put('h', installation('owner', 1), registrations('owner', 1));
    // Issued in one turn of the event loop: they go in one group.
    const thief = registrations('thief', 1).map((r) => ({ ...r, id: 'owner-0' }));
    const results = await Promise.allSettled([
      store.installations.put('h', installation('a', 1), registrations('a', 1)),
      store.installations.put('h', installation('thief', 1), thief),
      store.installations.put('h', installation('b', 1), registrations('b', 1)),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code)),
      ['ok', 'write_conflict', 'ok'],
    );
    assert.equal(await store.installations.get('h', 'thief'), undefined);
    assert.equal((await store.registrations.get('h', 'owner-0'))?.installationId, 'owner');
    assert.equal(await store.registrations.count('h', { tag: 'v1' }), 3, 'owner, a and b');
    // The events commit with the PUTs (#13): one per installation written, none for the refused PUT, and
    // none twice although the group's statement failed and a and b were written again one by one.
    const { events } = await store.events.read('h', undefined, { limit: 100, retainedSince: 0 });
    assert.deepEqual(
      events.filter((e) => e.type === 'installation.upserted').map((e) => e.data.installationId).sort(),
      ['a', 'b', 'owner'],
    );
  } finally {
    await store.close();
  }
});
