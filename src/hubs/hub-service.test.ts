import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.ts';
import { SecretBox } from '../shared/secret-box.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { HubService, MAX_CACHED_HUBS, MAX_CACHED_MISSES } from './hub-service.ts';

test('bounded: lookups of 100,000 hub names that do not exist keep a bounded cache, and a real hub stays cached', async () => {
  const store = openSqliteStore({ path: ':memory:' });
  try {
    const hubs = new HubService(store, new SecretBox(Buffer.alloc(32, 1)), new ManualClock(0));
    await hubs.createHub('real');
    let lookups = 0;
    const get = store.hubs.get.bind(store.hubs);
    store.hubs.get = (name) => {
      lookups++;
      return get(name);
    };
    assert.ok((await hubs.authContext('real')).hub);
    const before = lookups;
    for (let i = 0; i < 100_000; i++) {
      assert.equal((await hubs.authContext(`random-${i}`)).hub, undefined);
      assert.ok(hubs.cachedAuthContexts <= MAX_CACHED_HUBS + MAX_CACHED_MISSES);
    }
    // Random names never pushed the real hub out: it is still served from memory.
    assert.ok((await hubs.authContext('real')).hub);
    assert.equal(lookups, before + 100_000);
  } finally {
    await store.close();
  }
});
