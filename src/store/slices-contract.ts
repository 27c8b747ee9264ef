/**
 * The store contract for slices of a hub's registration listing (issue 11, a large send planned in slices):
 * the ranges `slices` gives, each listed with `listIds` up to its `until`, hold every entry of the listing
 * exactly once, with filters and tag expressions, on tiny and empty hubs, and while registrations are written.
 * Run by storeContract on every adapter.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { parseTagExpression } from '../tags/index.ts';
import type { Registration } from '../registry/model.ts';
import type { ListingSlice, RegistryFilter, Store } from './store.ts';

const HUB = { name: 'sl', settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 };

function reg(id: string, tags: string[], apns = false): Omit<Registration, 'etag' | 'createdAt'> {
  return apns
    ? { id, kind: 'Apple', handle: { platform: 'apns', value: `AB-${id}` }, tags, updatedAt: 1000 }
    : { id, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `token-${id}` }, tags, updatedAt: 1000 };
}

const tagsOf = (i: number) => [`m${i % 3}`, ...(i % 2 === 0 ? ['even'] : []), ...(i % 5 === 0 ? ['five'] : [])];

/** Every id of one range, paged `limit` at a time within it, in listing order. */
async function listRange(store: Store, filter: RegistryFilter, range: ListingSlice, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after = range.after;
  for (;;) {
    const page = await store.registrations.listIds(HUB.name, filter, { limit, ...(after === undefined ? {} : { after }), ...(range.until === undefined ? {} : { until: range.until }) });
    ids.push(...page.items.map((r) => r.id));
    if (page.next === undefined) return ids;
    after = page.next;
  }
}

async function listAll(store: Store, filter: RegistryFilter): Promise<string[]> {
  return listRange(store, filter, {}, 1000);
}

/** The ids of every range, in order; asserts the ranges chain (one's `until` is the next one's `after`). */
async function listSlices(store: Store, filter: RegistryFilter, ranges: ListingSlice[], limit = 4): Promise<string[][]> {
  for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]!.after, ranges[i - 1]!.until, 'the ranges chain on their bounds');
  assert.equal(ranges.at(-1)?.until, undefined, 'the last range is open at the end');
  const out: string[][] = [];
  for (const range of ranges) out.push(await listRange(store, filter, range, limit));
  return out;
}

export function slicesContract(adapter: string, open: () => Promise<Store>): void {
  describe(`Store contract, listing slices: ${adapter}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.hubs.create(HUB, []);
    });
    afterEach(async () => {
      await store.close();
    });

    test('the slices of a listing partition it: every id exactly once, in order, with filters and tag expressions', async () => {
      await store.hubs.create({ ...HUB, name: 'elsewhere' }, []);
      for (let i = 0; i < 60; i++) {
        await store.registrations.upsert(HUB.name, reg(`r${i}`, tagsOf(i), i % 4 === 0), { now: 1000 });
        // Another hub's registrations sit between this hub's in the key space.
        if (i % 3 === 0) await store.registrations.upsert('elsewhere', reg(`e${i}`, tagsOf(i)), { now: 1000 });
      }
      const filters: Array<[string, RegistryFilter]> = [
        ['everything', {}],
        ['a native kind', { kinds: ['FcmV1'] }],
        ['a tag', { tag: 'm1' }],
        ['a tag expression with anchors', { tagExpression: parseTagExpression('even || five').ast }],
        ['a tag expression without', { tagExpression: parseTagExpression('!m0').ast, kinds: ['FcmV1'] }],
      ];
      const hub = await listAll(store, {});
      for (const [max, minSize] of [[16, 1], [3, 5], [4, 3], [16, 1000], [1, 1]] as const) {
        const ranges = await store.registrations.slices(HUB.name, { max, minSize });
        const want = Math.max(1, Math.min(max, Math.floor(hub.length / minSize)));
        assert.equal(ranges.length, want, `max ${max}, min ${minSize}: as many slices as asked, each of at least the minimum`);
        const sizes = (await listSlices(store, {}, ranges)).map((p) => p.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `max ${max}, min ${minSize}: equal slices of the hub (${sizes.join(', ')})`);
        assert.ok(ranges.length === 1 || Math.min(...sizes) >= minSize, `max ${max}, min ${minSize}: none under the minimum (${sizes.join(', ')})`);
        // The same ranges partition every listing of the hub, whatever its filter.
        for (const [name, filter] of filters) {
          const all = await listAll(store, filter);
          assert.ok(all.length >= 10, `${name}: the listing is big enough to cut`);
          assert.deepEqual((await listSlices(store, filter, ranges)).flat(), all, `${name}, max ${max}, min ${minSize}: every id once, in listing order`);
        }
      }
      for (const [name, filter] of filters) {
        // Past a cursor: the slices cover the rest of the listing, and nothing before the cursor.
        const all = await listAll(store, filter);
        const first = await store.registrations.listIds(HUB.name, filter, { limit: 4 });
        const rest = await store.registrations.slices(HUB.name, { max: 4, minSize: 2, after: first.next! });
        assert.equal(rest.length, 4, `${name}: the rest is cut too`);
        assert.equal(rest[0]!.after, first.next, `${name}: the first slice starts at the cursor`);
        assert.deepEqual([...first.items.map((r) => r.id), ...(await listSlices(store, filter, rest, 3)).flat()], all, `${name}: the first page and the slices after it`);
      }
    });

    test('tiny and empty hubs: one slice, or one per registration', async () => {
      const none = await store.registrations.slices(HUB.name, { max: 16, minSize: 1 });
      assert.deepEqual(none, [{}], 'an empty hub: one open range');
      assert.deepEqual(await listSlices(store, {}, none), [[]]);
      assert.deepEqual(await store.registrations.slices('no-such-hub', { max: 16, minSize: 1 }), [{}]);
      for (let i = 0; i < 3; i++) await store.registrations.upsert(HUB.name, reg(`t${i}`, ['x']), { now: 1000 });
      const each = await store.registrations.slices(HUB.name, { max: 16, minSize: 1 });
      assert.deepEqual(await listSlices(store, {}, each), [['t0'], ['t1'], ['t2']]);
      const one = await store.registrations.slices(HUB.name, { max: 16, minSize: 2 });
      assert.deepEqual(await listSlices(store, {}, one), [['t0', 't1', 't2']], 'fewer than twice the minimum: one slice');
      const nobody = parseTagExpression('nobody').ast;
      assert.deepEqual(await listSlices(store, { tagExpression: nobody }, each), [[], [], []], 'a filter nobody matches: empty ranges');
      const last = await store.registrations.listIds(HUB.name, {}, { limit: 2 });
      assert.deepEqual(await store.registrations.slices(HUB.name, { max: 16, minSize: 1, after: last.next! }), [{ after: last.next }], 'after the last but one: one range');
    });

    test('until is inclusive and bounds every page; a bound this listing did not make is invalid_continuation_token', async () => {
      for (let i = 0; i < 10; i++) await store.registrations.upsert(HUB.name, reg(`u${i}`, ['x']), { now: 1000 });
      const first = await store.registrations.listIds(HUB.name, {}, { limit: 3 });
      const upTo = await store.registrations.listIds(HUB.name, {}, { limit: 3, until: first.next! });
      assert.deepEqual(upTo.items.map((r) => r.id), ['u0', 'u1', 'u2'], 'up to and including the bound');
      assert.equal(upTo.next, undefined, 'a page that reaches the bound is the last of its range');
      const tagged = await store.registrations.listIds(HUB.name, { tag: 'x' }, { limit: 2, until: first.next! });
      assert.deepEqual(tagged.items.map((r) => r.id), ['u0', 'u1']);
      assert.deepEqual((await store.registrations.listIds(HUB.name, { tag: 'x' }, { limit: 2, after: tagged.next!, until: first.next! })).items.map((r) => r.id), ['u2'], 'a tag listing stops at the bound too');
      assert.deepEqual((await store.registrations.listIds(HUB.name, {}, { limit: 3, after: first.next!, until: first.next! })).items, [], 'an empty range');
      const hint = first.items[0]!.at;
      for (const bad of ['garbage', hint, `${first.next!}x`]) {
        await assert.rejects(store.registrations.listIds(HUB.name, {}, { limit: 3, until: bad }), (err: unknown) => err instanceof HubError && err.code === 'invalid_continuation_token', `until ${bad}`);
        await assert.rejects(store.registrations.slices(HUB.name, { max: 4, minSize: 1, after: bad }), (err: unknown) => err instanceof HubError && err.code === 'invalid_continuation_token', `slices after ${bad}`);
      }
    });

    test('registrations written while the slices are listed: each one that stayed is listed exactly once', async () => {
      for (let i = 0; i < 40; i++) await store.registrations.upsert(HUB.name, reg(`w${i}`, tagsOf(i)), { now: 1000 });
      const ranges = await store.registrations.slices(HUB.name, { max: 4, minSize: 5 });
      assert.equal(ranges.length, 4);
      // The registration at a bound goes, others are rewritten (tags changed) and new ones come.
      const atBound = (await listRange(store, {}, ranges[0]!, 100)).at(-1)!;
      await store.registrations.delete(HUB.name, atBound, { now: 1000 });
      for (let i = 0; i < 40; i += 7) await store.registrations.upsert(HUB.name, reg(`w${i}`, ['rewritten']), { now: 1100 });
      for (let i = 0; i < 5; i++) await store.registrations.upsert(HUB.name, reg(`new${i}`, []), { now: 1100 });
      const seen = (await listSlices(store, {}, ranges)).flat();
      assert.equal(new Set(seen).size, seen.length, 'none twice');
      for (let i = 0; i < 40; i++) if (`w${i}` !== atBound) assert.ok(seen.includes(`w${i}`), `w${i} is listed`);
      assert.ok(!seen.includes(atBound), 'the deleted one is not');
      assert.deepEqual(seen.filter((id) => id.startsWith('new')), ['new0', 'new1', 'new2', 'new3', 'new4'], 'new ones come after every bound: in the last slice');
    });
  });
}
