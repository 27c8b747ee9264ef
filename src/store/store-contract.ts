/**
 * The contract every Store adapter must meet, exported as a function so each adapter's test file runs
 * the same suite against a real instance (no mocks): `storeContract('sqlite', () => openSqliteStore(...))`.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { NAMESPACE_SCOPE, type HubRecord, type RuleRecord, type Store } from './store.ts';
import type { Installation, Registration } from '../registry/model.ts';
import { evaluate, parseTagExpression } from '../tags/index.ts';
import type { JobPayloads } from '../queue/queue.ts';
import { STEP_RULES } from '../dispatch/step-rules.ts';
import { slicesContract } from './slices-contract.ts';

/** Two nodes' ids, the owners of claims; the rules the worker hands to step commits; a delivery batch's payload. */
export const OWNER = 'node-a';
export const OTHER = 'node-b';
export const RULES = STEP_RULES;
export function batch(...ids: string[]): JobPayloads['deliver'] {
  return { targets: ids.map((r) => ({ r })), retry: { acceptedAtMs: 0, attempts: 0 } };
}

function hub(name: string, at = 1_700_000_000_000): HubRecord {
  return { name, settings: { registrationTtlSeconds: null }, createdAt: at, updatedAt: at };
}

function reg(id: string, tags: string[], extra: Partial<Registration> = {}): Omit<Registration, 'etag' | 'createdAt'> {
  return { id, kind: 'FcmV1', handle: { platform: 'fcmv1', value: `token-${id}` }, tags, updatedAt: 1000, ...extra };
}

function installation(id: string, extra: Partial<Installation> = {}): Installation {
  return { installationId: id, platform: 'fcmv1', pushChannel: `chan-${id}`, pushChannelExpired: false, tags: ['t'], createdAt: 10, updatedAt: 10, ...extra };
}

function rule(scope: string, name: string, extra: Partial<RuleRecord> = {}): RuleRecord {
  return {
    scope,
    name,
    rights: ['Listen'],
    primaryKey: `p-${name}`,
    secondaryKey: `s-${name}`,
    createdAt: 1,
    updatedAt: 1,
    ...extra,
  };
}

/** A WNS answer as the connector keeps it per device (#14 item 5). */
const WNS_ANSWER = { 'X-WNS-Status': 'received', 'X-WNS-DeviceConnectionStatus': 'connected', 'X-WNS-Msg-ID': '3CE38FF109E03A74' };

const isCode = (code: string) => (err: unknown) => err instanceof HubError && err.code === code;

function names<T>(page: { items: T[]; next?: string }, name: (item: T) => string): { items: string[]; next?: string } {
  return { items: page.items.map(name), ...(page.next === undefined ? {} : { next: page.next }) };
}

/**
 * `openPair`, when the adapter can: two Store instances on one database (the concurrency contract runs
 * with them as well as with one instance for both sides).
 */
export function storeContract(adapter: string, open: () => Promise<Store>, openPair?: () => Promise<[Store, Store]>): void {
  concurrencyContract(`${adapter}, one instance`, async () => {
    const store = await open();
    return [store, store];
  });
  if (openPair) concurrencyContract(`${adapter}, two instances on one database`, openPair);
  slicesContract(adapter, open);
  describe(`Store contract: ${adapter}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('ping answers', async () => {
      await store.ping();
    });

    test('a hub is created with its rules, found case-insensitively, listed and deleted', async () => {
      await store.hubs.create(hub('MyHub'), [rule('MyHub', 'A', { rights: ['Listen', 'Send', 'Manage'] }), rule('MyHub', 'B')]);
      const got = await store.hubs.get('myhub');
      assert.equal(got?.name, 'MyHub');
      assert.deepEqual(got?.settings, { registrationTtlSeconds: null });
      assert.deepEqual((await store.rules.list('MYHUB')).map((r) => [r.name, r.rights]), [
        ['A', ['Listen', 'Send', 'Manage']],
        ['B', ['Listen']],
      ]);
      assert.deepEqual((await store.hubs.list()).map((h) => h.name), ['MyHub']);
      assert.equal(await store.hubs.delete('MYHUB'), true);
      assert.equal(await store.hubs.get('MyHub'), undefined);
      assert.deepEqual(await store.rules.list('MyHub'), [], 'rules go with the hub');
      assert.equal(await store.hubs.delete('MyHub'), false);
    });

    test('hub settings are changed key by key and kept', async () => {
      await store.hubs.create(hub('settings'), []);
      const updated = await store.hubs.updateSettings('SETTINGS', { registrationTtlSeconds: 3600 }, 42);
      assert.deepEqual(updated?.settings, { registrationTtlSeconds: 3600 });
      assert.equal(updated?.updatedAt, 42);
      assert.deepEqual((await store.hubs.get('settings'))?.settings, { registrationTtlSeconds: 3600 });
      assert.deepEqual((await store.hubs.updateSettings('settings', { sendsPerSecond: 5 }, 43))?.settings, { registrationTtlSeconds: 3600, sendsPerSecond: 5 });
      assert.deepEqual((await store.hubs.updateSettings('settings', { registrationTtlSeconds: null }, 44))?.settings, { registrationTtlSeconds: null, sendsPerSecond: 5 }, 'null is a value, not a removal');
      assert.equal(await store.hubs.updateSettings('none', { registrationTtlSeconds: null }, 1), undefined);
    });

    test('a taken hub name (any case) is refused and nothing of the second create is stored', async () => {
      await store.hubs.create(hub('h1'), [rule('h1', 'A')]);
      await assert.rejects(store.hubs.create(hub('H1', 5), [rule('H1', 'Other')]), isCode('hub_exists'));
      assert.equal((await store.hubs.get('h1'))?.createdAt, 1_700_000_000_000);
      assert.deepEqual((await store.rules.list('h1')).map((r) => r.name), ['A']);
    });

    test('a hub whose rules cannot all be stored is not created at all', async () => {
      await assert.rejects(store.hubs.create(hub('h2'), [rule('h2', 'A'), rule('h2', 'A')]), isCode('write_conflict'), 'a broken uniqueness rule is a HubError, never a 500');
      assert.equal(await store.hubs.get('h2'), undefined);
      assert.deepEqual(await store.rules.list('h2'), []);
    });

    test('rules: insert, duplicate, limit, key update and delete, per scope', async () => {
      await store.hubs.create(hub('h'), []);
      await store.rules.insert(rule('h', 'r1'), 2);
      await assert.rejects(store.rules.insert(rule('h', 'r1'), 2), isCode('rule_exists'));
      await store.rules.insert(rule('h', 'r2'), 2);
      await assert.rejects(store.rules.insert(rule('h', 'r3'), 2), isCode('too_many_rules'));
      assert.equal(await store.rules.get('h', 'r3'), undefined);

      const updated = await store.rules.updateKeys('h', 'r1', { secondaryKey: 'new' }, 99);
      assert.equal(updated?.primaryKey, 'p-r1');
      assert.equal(updated?.secondaryKey, 'new');
      assert.equal(updated?.updatedAt, 99);
      assert.equal(await store.rules.updateKeys('h', 'nope', { primaryKey: 'x' }, 1), undefined);

      await store.rules.insert(rule(NAMESPACE_SCOPE, 'r1', { rights: ['Manage'] }), 12);
      assert.deepEqual((await store.rules.get(NAMESPACE_SCOPE, 'r1'))?.rights, ['Manage']);
      assert.deepEqual((await store.rules.get('h', 'r1'))?.rights, ['Listen'], 'scopes are separate');

      assert.equal(await store.rules.delete('h', 'r1'), true);
      assert.equal(await store.rules.delete('h', 'r1'), false);
      assert.ok(await store.rules.get(NAMESPACE_SCOPE, 'r1'));
    });

    test('credentials: put replaces, list, delete, and go with the hub', async () => {
      await store.hubs.create(hub('Creds'), []);
      const base = { hub: 'Creds', platform: 'apns', sealed: 'v1.x', summary: { keyId: 'K' }, endpoint: null, updatedAt: 1 };
      await store.credentials.put(base);
      await store.credentials.put({ ...base, sealed: 'v1.y', endpoint: 'https://127.0.0.1:1/', updatedAt: 2 });
      await store.credentials.put({ ...base, platform: 'wns' });
      const got = await store.credentials.get('creds', 'apns');
      assert.deepEqual(got, { ...base, sealed: 'v1.y', endpoint: 'https://127.0.0.1:1/', updatedAt: 2 });
      assert.deepEqual((await store.credentials.list('Creds')).map((c) => c.platform), ['apns', 'wns']);
      assert.equal(await store.credentials.delete('Creds', 'wns'), true);
      assert.equal(await store.credentials.delete('Creds', 'wns'), false);
      await assert.rejects(store.credentials.put({ ...base, hub: 'missing' }), isCode('hub_not_found'));
      await store.hubs.delete('Creds');
      await store.hubs.create(hub('Creds'), []);
      assert.deepEqual(await store.credentials.list('Creds'), [], 'a re-created hub starts without credentials');
    });

    test('registrations: upsert bumps the ETag; conditions are checked in the write', async () => {
      await store.hubs.create(hub('reg'), []);
      const first = await store.registrations.upsert('reg', reg('r1', ['a']), { now: 1000 });
      assert.equal(first.etag, 1);
      const second = await store.registrations.upsert('reg', reg('r1', ['a', 'b'], { updatedAt: 2000 }), { now: 2000, ifMatch: 1 });
      assert.equal(second.etag, 2);
      assert.equal(second.createdAt, 1000);
      await assert.rejects(store.registrations.upsert('reg', reg('r1', ['c']), { now: 3000, ifMatch: 1 }), isCode('etag_mismatch'));
      await assert.rejects(store.registrations.upsert('reg', reg('none', ['c']), { now: 3000, ifMatch: '*' }), isCode('registration_not_found'));
      assert.deepEqual((await store.registrations.get('REG', 'r1'))?.tags, ['a', 'b'], 'a refused write changes nothing');
      assert.equal(await store.registrations.get('reg', 'none'), undefined);
      await assert.rejects(store.registrations.delete('reg', 'r1', { now: 3000, ifMatch: 7 }), isCode('etag_mismatch'));
      assert.equal(await store.registrations.delete('reg', 'r1', { now: 3000, ifMatch: 2 }), true);
      assert.equal(await store.registrations.delete('reg', 'r1', { now: 3000 }), false);
      await assert.rejects(store.registrations.delete('reg', 'r1', { now: 3000, ifMatch: '*' }), isCode('registration_not_found'));
    });

    test('registrations: getMany by id, with position hints that may be stale or point at another hub', async () => {
      await store.hubs.create(hub('many'), []);
      await store.hubs.create(hub('other'), []);
      for (const id of ['a', 'b', 'c']) await store.registrations.upsert('many', reg(id, ['t']), { now: 1 });
      await store.registrations.upsert('other', reg('x', ['t']), { now: 1 });
      const refs = (await store.registrations.listIds('many', {}, { limit: 10 })).items;
      const other = (await store.registrations.listIds('other', {}, { limit: 10 })).items[0]!;
      assert.deepEqual(refs.map((r) => r.id), ['a', 'b', 'c']);
      // b is deleted and made again (a new position); c is gone.
      await store.registrations.delete('many', 'b', { now: 2 });
      await store.registrations.upsert('many', reg('b', ['t2']), { now: 2 });
      await store.registrations.delete('many', 'c', { now: 2 });
      const ids = ['a', 'b', 'c', 'x'];
      const at = [refs[0]!.at, refs[1]!.at, refs[2]!.at, other.at];
      const byHint = await store.registrations.getMany('many', ids, at);
      const plain = await store.registrations.getMany('many', ids);
      const view = (rs: Registration[]) => rs.map((r) => `${r.id}:${r.tags.join(',')}`).sort();
      assert.deepEqual(view(byHint), ['a:t', 'b:t2'], 'the re-created b by id; nothing of the other hub');
      assert.deepEqual(view(plain), view(byHint));
      // Hints are opaque: a garbled one, another adapter's, a listing cursor or a bare number costs a lookup by id.
      const garbled = await store.registrations.getMany('many', ids, ['x', 's1h.zzzzzzzzzzzz', 'p1h.1', '1']);
      assert.deepEqual(view(garbled), view(byHint));
      for (const hint of at) assert.equal(typeof hint, 'string');
      await store.hubs.delete('many');
      await store.hubs.delete('other');
    });

    test('registrations: expired ones are gone for writes, left out of live listings, and purged', async () => {
      await store.hubs.create(hub('ttl'), []);
      await store.registrations.upsert('ttl', reg('old', ['x'], { expiresAt: 5000 }), { now: 1000 });
      await store.registrations.upsert('ttl', reg('new', ['x']), { now: 1000 });
      await assert.rejects(store.registrations.upsert('ttl', reg('old', ['x']), { now: 6000 }), isCode('registration_gone'));
      assert.equal((await store.registrations.get('ttl', 'old'))?.expiresAt, 5000);
      assert.deepEqual((await store.registrations.list('ttl', { tag: 'x', liveAt: 6000 }, { limit: 10 })).items.map((r) => r.id), ['new']);
      assert.equal(await store.registrations.count('ttl', { liveAt: 4000 }), 2);
      const x = parseTagExpression('x').ast;
      assert.equal(await store.registrations.count('ttl', { tagExpression: x, liveAt: 6000 }), 1, 'a count by tag leaves out what expired');
      assert.equal(await store.registrations.count('ttl', { tagExpression: x, liveAt: 4000 }), 2);
      assert.equal(await store.registrations.purgeExpired(6000, 10), 1);
      assert.equal(await store.registrations.count('ttl', { tagExpression: x, liveAt: 6000 }), 1, 'and the same once it is purged');
      assert.equal(await store.registrations.get('ttl', 'old'), undefined);
      assert.deepEqual((await store.registrations.list('ttl', { tag: 'x' }, { limit: 10 })).items.map((r) => r.id), ['new']);
    });

    test('registrations: filters, tag expressions and keyset paging agree with the stored tags', async () => {
      await store.hubs.create(hub('q'), []);
      await store.hubs.create(hub('other'), []);
      const tagsOf = (i: number) => [`m${i % 3}`, ...(i % 2 === 0 ? ['even'] : []), ...(i % 5 === 0 ? ['five'] : [])];
      for (let i = 0; i < 30; i++) {
        await store.registrations.upsert('q', reg(`q${i}`, tagsOf(i), i % 4 === 0 ? { kind: 'Apple', handle: { platform: 'apns', value: `AB${i}` } } : {}), { now: 1000 });
        await store.registrations.upsert('other', reg(`o${i}`, tagsOf(i)), { now: 1000 });
      }
      // Rewrites change tags: the tag index must follow.
      for (let i = 0; i < 30; i += 7) await store.registrations.upsert('q', reg(`q${i}`, ['rewritten']), { now: 1100 });
      const expected = new Map<string, string[]>();
      for (let i = 0; i < 30; i++) expected.set(`q${i}`, i % 7 === 0 ? ['rewritten'] : tagsOf(i));
      for (const text of ['even', 'm1 || five', 'even && !five', '!(m0 || m1)', 'rewritten', 'nobody']) {
        const { ast } = parseTagExpression(text);
        const want = [...expected].filter(([, tags]) => evaluateSimple(text, tags)).map(([id]) => id).sort();
        const got = (await store.registrations.list('q', { tagExpression: ast }, { limit: 100 })).items.map((r) => r.id).sort();
        assert.deepEqual(got, want, text);
        assert.equal(await store.registrations.count('q', { tagExpression: ast }), want.length, text);
        assert.deepEqual((await store.registrations.listIds('q', { tagExpression: ast }, { limit: 100 })).items.map((r) => r.id).sort(), want, `${text} (ids)`);
      }
      assert.equal((await store.registrations.list('q', { tag: 'even' }, { limit: 100 })).items.every((r) => expected.get(r.id)!.includes('even')), true);
      assert.equal(await store.registrations.count('q', { platform: 'apns' }), 6, 'q0 and q28 were rewritten as FCM');
      assert.deepEqual((await store.registrations.list('q', { handles: ['AB4', 'token-q5'] }, { limit: 10 })).items.map((r) => r.id), ['q4', 'q5']);

      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.registrations.list('q', {}, { limit: 7, ...(after === undefined ? {} : { after }) });
        seen.push(...page.items.map((r) => r.id));
        after = page.next;
      } while (after !== undefined);
      assert.equal(seen.length, 30);
      assert.equal(new Set(seen).size, 30, 'no duplicates across pages');

      await store.hubs.delete('q');
      await store.hubs.create(hub('q'), []);
      assert.equal(await store.registrations.count('q', { tag: 'even' }), 0, "a re-created hub sees none of the old hub's tags");
      assert.equal(await store.registrations.count('other', { tag: 'even' }), 15, 'other hubs keep theirs');
    });

    test('registrations: counts and listings by tag expression and platform agree with a brute-force count, whatever wrote the tag rows (#13)', async () => {
      await store.hubs.create(hub('plat'), []);
      const on = (platform: 'fcmv1' | 'apns' | 'wns', id: string): Partial<Registration> =>
        platform === 'fcmv1'
          ? { kind: 'FcmV1', handle: { platform: 'fcmv1', value: `token-${id}` } }
          : platform === 'apns'
            ? { kind: 'Apple', handle: { platform: 'apns', value: `AB${id}` } }
            : { kind: 'Windows', handle: { platform: 'wns', value: `https://wns.example/${id}` } };
      const platformOf = (i: number) => (['fcmv1', 'apns', 'wns'] as const)[i % 3]!;
      const tagsOf = (i: number) => [...(i % 2 === 0 ? ['a'] : []), ...(i % 3 === 1 ? ['b'] : []), ...(i % 5 < 2 ? ['c'] : [])];
      for (let i = 0; i < 30; i++) await store.registrations.upsert('plat', reg(`r${i}`, tagsOf(i), on(platformOf(i), `r${i}`)), { now: 1000 });
      // A new platform with the same tags: the tag rows must follow the platform.
      for (let i = 0; i < 30; i += 4) await store.registrations.upsert('plat', reg(`r${i}`, tagsOf(i), on(platformOf(i + 1), `r${i}x`)), { now: 1100 });
      // A bulk import: new rows, and a replaced one on a new platform.
      const imported = await store.registrations.upsertMany('plat', [
        { reg: reg('m1', ['a', 'b'], on('apns', 'm1')), condition: { now: 1200 } },
        { reg: reg('m2', ['c'], on('wns', 'm2')), condition: { now: 1200 } },
        { reg: reg('r1', tagsOf(1), on('wns', 'r1y')), condition: { now: 1200 } },
      ]);
      assert.equal(imported.filter((r) => r instanceof Error).length, 0);
      // An installation's registrations, then the installation moved to another platform.
      const regsOf = (id: string, platform: 'fcmv1' | 'apns', tags: string[]): Registration[] => [
        { ...reg(`${id}-0`, [`$InstallationId:{${id}}`, ...tags], on(platform, id)), installationId: id, etag: 1, createdAt: 10 },
      ];
      await store.installations.put('plat', installation('i1'), regsOf('i1', 'fcmv1', ['a', 'c']));
      await store.installations.put('plat', installation('i2'), regsOf('i2', 'fcmv1', ['b']));
      await store.installations.put('plat', installation('i2', { platform: 'apns', pushChannel: 'ABi2' }), regsOf('i2', 'apns', ['b']));
      await store.registrations.delete('plat', 'r3', { now: 1300 });

      const all = (await store.registrations.list('plat', {}, { limit: 100 })).items;
      assert.equal(all.length, 33);
      for (const text of ['a', 'a || b', 'b || c || a', 'a && b', 'c && !a', '(a || b) && !c', '!a', 'nobody || c']) {
        const { ast } = parseTagExpression(text);
        for (const platform of [undefined, 'fcmv1', 'apns', 'wns'] as const) {
          const want = all.filter((r) => evaluate(ast, new Set(r.tags)) && (platform === undefined || r.handle.platform === platform)).map((r) => r.id).sort();
          const filter = { tagExpression: ast, ...(platform ? { platform } : {}) };
          const what = `${text} on ${platform ?? 'every platform'}`;
          assert.equal(await store.registrations.count('plat', filter), want.length, what);
          assert.equal(await store.registrations.count('plat', { ...filter, liveAt: 2000 }), want.length, `${what} (live)`);
          assert.deepEqual((await store.registrations.list('plat', filter, { limit: 100 })).items.map((r) => r.id).sort(), want, what);
          assert.deepEqual((await store.registrations.listIds('plat', filter, { limit: 100 })).items.map((r) => r.id).sort(), want, `${what} (ids)`);
        }
      }
      assert.equal(await store.registrations.count('plat', { tagExpression: parseTagExpression('a || b').ast, platform: 'adm' }), 0);
      await store.hubs.delete('plat');
    });

    test('cursors are opaque: only a cursor from a previous page of the same listing is read; anything else is invalid_continuation_token', async () => {
      await store.hubs.create(hub('cur'), []);
      for (let i = 0; i < 5; i++) {
        await store.registrations.upsert('cur', reg(`r${i}`, ['t']), { now: 1 });
        await store.installations.put('cur', installation(`i${i}`), []);
      }
      const n = { hub: 'cur', id: 'n1', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 };
      await store.dispatch.createNotification(n, { kind: 'deliver', payload: batch('x'), runAt: 1 });
      const job = (await store.queue.claim(OWNER, 1, 10, 60_000)).find((j) => j.hub === 'cur')!;
      const outcomes = ['h0', 'h1', 'h2'].map((handle) => ({ handle, platform: 'apns', outcome: 'Success', attempts: 1, at: 2 }));
      await store.dispatch.finishDelivery(job, { outcomes, counts: {}, expired: [], now: 2 }, RULES);

      // Each listing resumes from its own cursors (listIds' are list's), and every cursor is a string.
      const listings: Array<{ name: string; page: (after?: string) => Promise<{ items: string[]; next?: string }>; rest: string[] }> = [
        { name: 'registrations', page: async (after) => names(await store.registrations.list('cur', {}, { limit: 2, ...(after === undefined ? {} : { after }) }), (r) => r.id), rest: ['r2', 'r3'] },
        { name: 'registrations by tag', page: async (after) => names(await store.registrations.list('cur', { tag: 't' }, { limit: 2, ...(after === undefined ? {} : { after }) }), (r) => r.id), rest: ['r2', 'r3'] },
        { name: 'registration ids', page: async (after) => names(await store.registrations.listIds('cur', {}, { limit: 2, ...(after === undefined ? {} : { after }) }), (r) => r.id), rest: ['r2', 'r3'] },
        { name: 'installations', page: async (after) => names(await store.installations.list('cur', {}, { limit: 2, ...(after === undefined ? {} : { after }) }), (i) => i.installationId), rest: ['i2', 'i3'] },
        { name: 'outcomes', page: async (after) => names(await store.dispatch.listOutcomes('cur', 'n1', {}, { limit: 2, ...(after === undefined ? {} : { after }) }), (o) => o.handle), rest: ['h2'] },
      ];
      const cursors = new Map<string, string>();
      for (const l of listings) {
        const first = await l.page();
        assert.equal(typeof first.next, 'string', `${l.name}: a cursor is a string`);
        assert.deepEqual((await l.page(first.next)).items, l.rest, `${l.name}: resumes after its cursor`);
        cursors.set(l.name, first.next!);
      }
      const refused = (what: string, run: Promise<unknown>) => assert.rejects(run, isCode('invalid_continuation_token'), what);
      for (const l of listings) {
        const good = cursors.get(l.name)!;
        const garbled = [
          '',
          'garbage',
          `${good}x`,
          `${good.slice(0, -1)}!`,
          good.toUpperCase(),
          `${good.startsWith('s') ? 'p' : 's'}${good.slice(1)}`, // the other adapter's
          `${good}.1`, // a longer tuple
          good.replace(/\.([^.]*)\.([^.]*)$/, '.0$1.$2'), // not canonical
          good.replace(/\.([^.]*)\.([^.]*)$/, '.zzzzzzzzzzzz.$2'), // past a safe integer
          good.replace(/\.([^.]*)\.([^.]*)$/, '.$1'), // no check
          '-1',
          '1e3',
          'a'.repeat(600),
        ];
        for (const bad of garbled) await refused(`${l.name}: ${JSON.stringify(bad)}`, l.page(bad));
        // Another listing's cursor (listIds shares list's).
        for (const [name, other] of cursors) {
          if (other !== good && !(name.startsWith('registration') && l.name.startsWith('registration'))) await refused(`${l.name}: the cursor of ${name}`, l.page(other));
        }
      }
      const hint = (await store.registrations.listIds('cur', {}, { limit: 1 })).items[0]!.at;
      await refused('a hint is no cursor', store.registrations.list('cur', {}, { limit: 2, after: hint }));
      await store.hubs.delete('cur');
    });

    test('installations: put replaces its registrations atomically, keeps the creation time, delete removes them', async () => {
      await store.hubs.create(hub('inst'), []);
      const regsOf = (id: string, n: number, tags: string[]): Registration[] =>
        Array.from({ length: n }, (_, k) => ({ ...reg(`${id}-${k}`, tags), installationId: id, etag: 1, createdAt: 10 }));
      // Materialised registrations carry their installation's system tags (InstallationStore.put).
      const i1Tags = ['$InstallationId:{i1}', '$UserId:{u1}', 't'];
      await store.installations.put('inst', installation('i1', { userId: 'u1' }), regsOf('i1', 2, [...i1Tags, 'first']));
      await store.installations.put('inst', installation('i2', { platform: 'apns', pushChannel: 'AB' }), regsOf('i2', 1, ['$InstallationId:{i2}', 't', 'only-i2']));
      await store.installations.put('inst', installation('i1', { userId: 'u1', createdAt: 99, updatedAt: 50 }), regsOf('i1', 3, [...i1Tags, 'again']));
      const got = await store.installations.get('inst', 'i1');
      assert.equal(got?.createdAt, 10, 'the first creation time stays');
      assert.equal(got?.updatedAt, 50);
      assert.deepEqual((await store.registrations.list('inst', { installationId: 'i1' }, { limit: 10 })).items.map((r) => r.id), ['i1-0', 'i1-1', 'i1-2']);
      assert.equal(await store.registrations.count('inst', { tag: 'first' }), 0, 'old tag rows went with the old registrations');
      assert.equal(await store.registrations.count('inst', { tag: '$InstallationId:{i1}' }), 3, 'the system tags are those of the new registrations');
      assert.equal(await store.registrations.count('inst', { tag: '$UserId:{u1}' }), 3);
      assert.deepEqual((await store.registrations.list('inst', { tag: '$InstallationId:{i1}' }, { limit: 10 })).items.map((r) => r.tags), [i1Tags, i1Tags, i1Tags].map((t) => [...t, 'again']));
      assert.equal(await store.installations.count('inst', { userId: 'u1' }), 1);
      assert.equal(await store.installations.count('inst', { platform: 'apns' }), 1);
      assert.deepEqual((await store.installations.list('inst', { tagExpression: parseTagExpression('only-i2').ast }, { limit: 10 })).items.map((i) => i.installationId), ['i2']);
      assert.equal(await store.installations.delete('inst', 'i1'), true);
      assert.equal(await store.installations.delete('inst', 'i1'), false);
      assert.equal(await store.registrations.count('inst', { installationId: 'i1' }), 0);
      assert.equal(await store.registrations.count('inst', { tag: 'again' }), 0);
    });

    test("installations: a PUT naming a registration id another installation owns is write_conflict and stores nothing (#11 put)", async () => {
      await store.hubs.create(hub('owned'), []);
      const owned = (installationId: string, id: string, tags: string[]): Registration => ({ ...reg(id, tags), installationId, etag: 1, createdAt: 10 });
      await store.installations.put('owned', installation('o1'), [owned('o1', 'o1-0', ['mine'])]);
      await assert.rejects(
        store.installations.put('owned', installation('o2'), [owned('o2', 'o2-0', ['theirs']), owned('o2', 'o1-0', ['theirs'])]),
        isCode('write_conflict'),
      );
      assert.equal(await store.installations.get('owned', 'o2'), undefined, 'the failed PUT stored no installation');
      assert.equal(await store.registrations.get('owned', 'o2-0'), undefined, 'nor any of its registrations');
      assert.equal(await store.registrations.count('owned', { tag: 'theirs' }), 0, 'nor tag rows');
      assert.equal((await store.registrations.get('owned', 'o1-0'))?.installationId, 'o1', "the owner's registration stays");
      assert.equal(await store.registrations.count('owned', { tag: 'mine' }), 1);
      // A re-PUT of an installation that had registrations, failing the same way, keeps what it had.
      await store.installations.put('owned', installation('o2'), [owned('o2', 'o2-0', ['before'])]);
      await assert.rejects(store.installations.put('owned', installation('o2', { updatedAt: 20 }), [owned('o2', 'o1-0', ['after'])]), isCode('write_conflict'));
      assert.equal((await store.installations.get('owned', 'o2'))?.updatedAt, 10);
      assert.equal(await store.registrations.count('owned', { tag: 'before' }), 1);
      assert.equal(await store.registrations.count('owned', { tag: 'after' }), 0);
      await store.hubs.delete('owned');
    });

    test('installations: the device-credential generation is kept by PUTs, new after delete and re-create, cleared by revocation', async () => {
      await store.hubs.create(hub('gen'), []);
      const regs = (id: string): Registration[] => [{ ...reg(`${id}-0`, ['t']), installationId: id, etag: 1, createdAt: 10 }];
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'issue'), undefined, 'no installation, no generation');
      assert.equal(await store.installations.revokeCredentials('gen', 'i1'), false);
      await store.installations.put('gen', installation('i1'), regs('i1'));
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'read'), null, 'none until a credential is issued');
      const first = await store.installations.credentialGeneration('gen', 'i1', 'issue');
      assert.ok(typeof first === 'string' && first.length >= 16);
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'issue'), first, 'issuing again keeps it');
      await store.installations.put('gen', installation('i1', { pushChannel: 'other', updatedAt: 20 }), regs('i1'));
      assert.equal(await store.installations.credentialGeneration('gen', 'I1', 'read'), undefined, 'installation ids are exact');
      assert.equal(await store.installations.credentialGeneration('GEN', 'i1', 'read'), first, 'a PUT of the same installation keeps it');
      await store.installations.delete('gen', 'i1');
      await store.installations.put('gen', installation('i1'), regs('i1'));
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'read'), null, 'a re-created installation starts without one');
      const second = await store.installations.credentialGeneration('gen', 'i1', 'issue');
      assert.ok(typeof second === 'string' && second !== first);
      assert.equal(await store.installations.revokeCredentials('gen', 'i1'), true);
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'read'), null, 'revoked');
      const third = await store.installations.credentialGeneration('gen', 'i1', 'issue');
      assert.ok(typeof third === 'string' && third !== second && third !== first);
      await store.hubs.delete('gen');
      await store.hubs.create(hub('gen'), []);
      await store.installations.put('gen', installation('i1'), regs('i1'));
      assert.equal(await store.installations.credentialGeneration('gen', 'i1', 'read'), null, 'nor does one in a re-created hub');
      await store.hubs.delete('gen');
    });

    test('system tags: installations, and registrations that carry them as plain tags', async () => {
      await store.hubs.create(hub('sys'), []);
      const materialised = (inst: string, user: string | undefined, ids: string[], tags: string[]): Registration[] =>
        ids.map((id) => ({
          ...reg(id, [`$InstallationId:{${inst}}`, ...(user ? [`$UserId:{${user}}`] : []), ...tags]),
          installationId: inst,
          etag: 1,
          createdAt: 10,
        }));
      await store.installations.put('sys', installation('a', { userId: 'ann' }), materialised('a', 'ann', ['a-native', 'a-t1'], ['news']));
      await store.installations.put('sys', installation('b', { userId: 'bob' }), materialised('b', 'bob', ['b-native'], ['sport']));
      await store.installations.put('sys', installation('c'), materialised('c', undefined, ['c-native'], ['news']));
      // Created through the registrations API with system-looking tags: found by their tag rows.
      await store.registrations.upsert('sys', reg('plain', ['$UserId:{ann}', '$InstallationId:{a}']), { now: 1 });
      await store.registrations.upsert('sys', reg('other', ['news']), { now: 1 });
      const ids = async (text: string) =>
        (await store.registrations.list('sys', { tagExpression: parseTagExpression(text).ast }, { limit: 100 })).items.map((r) => r.id);
      assert.deepEqual(await ids('$UserId:{ann}'), ['a-native', 'a-t1', 'plain']);
      assert.deepEqual(await ids('$InstallationId:{b}'), ['b-native']);
      assert.deepEqual(await ids('$UserId:{ann} || $InstallationId:{b}'), ['a-native', 'a-t1', 'b-native', 'plain']);
      assert.deepEqual(await ids('$UserId:{ann} || sport'), ['a-native', 'a-t1', 'b-native', 'plain']);
      assert.deepEqual(await ids('news && !$UserId:{ann}'), ['c-native', 'other']);
      assert.deepEqual(await ids('!$InstallationId:{a} && !$UserId:{bob}'), ['c-native', 'other']);
      assert.deepEqual(await ids('$UserId:{nobody} || $InstallationId:{nothing}'), []);
      assert.deepEqual((await store.registrations.list('sys', { tag: '$UserId:{bob}' }, { limit: 10 })).items.map((r) => r.id), ['b-native']);
      assert.equal(await store.registrations.count('sys', { tag: '$InstallationId:{a}' }), 3);
      assert.deepEqual(
        (await store.installations.list('sys', { tagExpression: parseTagExpression('$UserId:{ann} || $InstallationId:{c}').ast }, { limit: 10 })).items.map((i) => i.installationId),
        ['a', 'c'],
      );
      // A classic registration at a materialised id, with the same tags, before its installation exists:
      // found by its tag rows; then the installation takes the id over (InstallationStore.put).
      const before = (await store.registrations.get('sys', 'b-native'))!;
      await store.installations.delete('sys', 'b');
      await store.registrations.upsert('sys', reg('b-native', before.tags), { now: 1 });
      assert.deepEqual(await ids('$UserId:{bob}'), ['b-native'], 'a plain registration carrying the tags');
      await store.installations.put('sys', installation('b', { userId: 'bob' }), materialised('b', 'bob', ['b-native'], ['sport']));
      assert.deepEqual(await ids('$UserId:{bob}'), ['b-native']);
      assert.equal((await store.registrations.get('sys', 'b-native'))?.installationId, 'b');
      await store.installations.delete('sys', 'b');
      assert.deepEqual(await ids('$UserId:{bob} || $InstallationId:{b}'), []);
    });

    test('idempotency keys: a live key names the first notification and stores nothing; an expired one is replaced, then pruned', async () => {
      await store.hubs.create(hub('idem'), []);
      await store.hubs.create(hub('idem2'), []);
      const n = (id: string, h = 'idem') => ({ hub: h, id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 });
      const first = { kind: 'plan' as const, payload: { after: null }, runAt: 1 };
      const k = (key: string, now: number) => ({ key, now, expiresAt: now + 1000 });
      assert.equal(await store.dispatch.createNotification(n('n1'), first, undefined, k('K', 1)), 'n1');
      assert.equal(await store.dispatch.createNotification(n('n2'), first, undefined, k('K', 500)), 'n1', 'the live key names the first');
      assert.equal(await store.dispatch.getNotification('idem', 'n2'), undefined, 'nothing stored for the repeat');
      assert.equal(await store.dispatch.createNotification(n('n3', 'idem2'), first, undefined, k('K', 500)), 'n3', 'keys are per hub');
      assert.equal(await store.dispatch.createNotification(n('n4'), first, undefined, k('k', 500)), 'n4', 'keys compare exactly');
      assert.equal(await store.dispatch.createNotification(n('n5'), first, undefined, k('K', 1001)), 'n5', 'an expired key is taken again');
      assert.equal(await store.dispatch.createNotification(n('n6'), first, undefined, k('K', 1500)), 'n5');
      assert.equal(await store.dispatch.createNotification(n('n7'), first), 'n7', 'without a key');
      assert.equal(await store.dispatch.pruneIdempotencyKeys(1500, 100), 2, 'the keys of n3 and n4 expired at 1500');
      assert.equal(await store.dispatch.pruneIdempotencyKeys(10_000, 100), 1);
      assert.equal(await store.dispatch.createNotification(n('n8'), first, undefined, k('K', 1502)), 'n8');
      assert.equal(await store.hubs.delete('idem'), true);
      await store.hubs.create(hub('idem'), []);
      assert.equal(await store.dispatch.createNotification(n('n9'), first, undefined, k('K', 1503)), 'n9', "a deleted hub's keys go with it");
    });

    test('notifications: listed newest first per hub, paged through equal enqueue times without loss or repeat (#13 item 2)', async () => {
      await store.hubs.create(hub('msgs'), []);
      await store.hubs.create(hub('other'), []);
      const first = { kind: 'plan' as const, payload: { after: null }, runAt: 1 };
      // Three in the same millisecond straddle a page boundary.
      const times: Array<[string, number]> = [['a', 10], ['b', 20], ['c', 20], ['d', 20], ['e', 30]];
      for (const [id, t] of times) await store.dispatch.createNotification({ hub: 'msgs', id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: t }, first);
      await store.dispatch.createNotification({ hub: 'other', id: 'x', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 99 }, first);
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.dispatch.listNotifications('MSGS', { limit: 2, ...(after === undefined ? {} : { after }) });
        seen.push(...page.items.map((n) => n.id));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(seen, ['e', 'd', 'c', 'b', 'a']);
      const one = await store.dispatch.listNotifications('msgs', { limit: 1 });
      assert.equal(one.items[0]?.hub, 'msgs');
      assert.equal(one.items[0]?.enqueuedAt, 30);
      await assert.rejects(store.dispatch.listNotifications('msgs', { limit: 2, after: 'garbage' }), (e: HubError) => e.code === 'invalid_continuation_token');
    });

    test('PNS back-off: kept per hub and platform until its time, a later one wins, gone with the hub', async () => {
      await store.hubs.create(hub('backoff'), []);
      assert.equal(await store.dispatch.pnsBackoffUntil('backoff', 'apns', 0), undefined);
      await store.dispatch.setPnsBackoff('backoff', 'apns', 5000);
      await store.dispatch.setPnsBackoff('backoff', 'apns', 4000);
      assert.equal(await store.dispatch.pnsBackoffUntil('BACKOFF', 'apns', 4999), 5000, 'the later until stays');
      assert.equal(await store.dispatch.pnsBackoffUntil('backoff', 'apns', 5000), undefined, 'over at its time');
      assert.equal(await store.dispatch.pnsBackoffUntil('backoff', 'fcmv1', 0), undefined);
      await store.hubs.delete('backoff');
      await store.hubs.create(hub('backoff'), []);
      assert.equal(await store.dispatch.pnsBackoffUntil('backoff', 'apns', 0), undefined);
    });

    test('periodic tasks: due once per interval', async () => {
      assert.equal(await store.tasks.claimDue('purge', 1000, 60), true, 'never run: due');
      assert.equal(await store.tasks.claimDue('purge', 1000, 60), false);
      assert.equal(await store.tasks.claimDue('purge', 1059, 60), false);
      assert.equal(await store.tasks.claimDue('prune', 1059, 60), true, 'each task has its own schedule');
      assert.equal(await store.tasks.claimDue('purge', 1060, 60), true);
      assert.equal(await store.tasks.claimDue('purge', 1061, 60), false);
    });

    test('per-device outcomes: paged in write order across batches, filtered by outcome, secure-read check, pruned by time', async () => {
      await store.hubs.create(hub('outs'), []);
      const n = { hub: 'outs', id: 'n1', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 };
      await store.dispatch.createNotification(n, { kind: 'deliver', payload: batch(), runAt: 1 });
      const [first] = await store.queue.claim(OWNER, 1, 10, 60_000);
      // Three batches of 7, 1 and 1200 outcomes (over one row's 1000); every 5th failed.
      const sizes = [7, 1, 1200];
      let k = 0;
      let job = first!;
      for (const [b, size] of sizes.entries()) {
        const outcomes = Array.from({ length: size }, () => {
          const i = k++;
          return { registrationId: `r${i}`, handle: `h${i}`, platform: 'apns', outcome: i % 5 === 0 ? 'WrongToken' : 'Success', ...(i % 5 === 0 ? { reason: 'BadDeviceToken' } : {}), attempts: 1, at: 100 + b };
        });
        const last = b === sizes.length - 1;
        await store.dispatch.finishDelivery(job, { outcomes, counts: {}, expired: [], now: 100 + b, ...(last ? {} : { retry: { payload: batch(), runAt: 2 + b } }) }, RULES);
        if (!last) job = (await store.queue.claim(OWNER, 2 + b, 10, 60_000))[0]!;
      }
      const all: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.dispatch.listOutcomes('outs', 'n1', {}, { limit: 333, ...(after === undefined ? {} : { after }) });
        all.push(...page.items.map((o) => o.handle));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(all, Array.from({ length: k }, (_, i) => `h${i}`), 'every outcome once, in write order');
      const failed: string[] = [];
      after = undefined;
      for (;;) {
        const page = await store.dispatch.listOutcomes('outs', 'n1', { outcome: 'WrongToken' }, { limit: 50, ...(after === undefined ? {} : { after }) });
        failed.push(...page.items.map((o) => o.handle));
        if (page.items[0]) assert.deepEqual(page.items[0], { registrationId: page.items[0].registrationId, handle: page.items[0].handle, platform: 'apns', outcome: 'WrongToken', reason: 'BadDeviceToken', attempts: 1, at: page.items[0].at });
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(failed, Array.from({ length: k }, (_, i) => i).filter((i) => i % 5 === 0).map((i) => `h${i}`));
      assert.equal(await store.dispatch.wasDelivered('outs', 'n1', ['nope', 'r1207']), true);
      assert.equal(await store.dispatch.wasDelivered('outs', 'n1', ['r1205', 'nope']), false, 'r1205 failed');
      assert.equal(await store.dispatch.wasDelivered('outs', 'n2', ['r1']), false);
      assert.equal(await store.dispatch.wasDelivered('outs', 'n1', ['r1207'], 102), true, 'delivered at 102');
      assert.equal(await store.dispatch.wasDelivered('outs', 'n1', ['r1207'], 103), false, 'not since 103');
      // Outcomes written at 100 and 101 go; those of 102 stay.
      assert.equal(await store.dispatch.pruneOutcomes(102, 10_000), 8);
      assert.equal((await store.dispatch.listOutcomes('outs', 'n1', {}, { limit: 5000 })).items.length, 1200);
      await store.hubs.delete('outs');
    });

    test('dispatch: a notification, its plan job, a batch, outcomes, feedback and completion; all go with the hub', async () => {
      await store.hubs.create(hub('send'), []);
      await store.registrations.upsert('send', reg('dead', ['x']), { now: 1000 });
      const n = { hub: 'send', id: 'n1', state: 'Enqueued', request: { any: 'thing' }, counts: {}, targets: 0, enqueuedAt: 1000 };
      await store.dispatch.createNotification(n, { kind: 'plan', payload: { after: null }, runAt: 1000 });
      assert.deepEqual(await store.queue.claim(OWNER, 999, 10, 1000), [], 'not before its time');
      const [plan] = await store.queue.claim(OWNER, 1000, 10, 60_000);
      assert.equal(plan?.kind, 'plan');
      assert.equal((await store.dispatch.getNotification('send', 'n1'))?.state, 'Processing');
      assert.deepEqual(await store.queue.claim(OWNER, 1001, 10, 60_000), [], 'a leased job is not handed out twice');
      await store.dispatch.finishPlanStep(plan!, { batches: [batch('a'), batch('b')], targets: 2, now: 1002 }, RULES);
      const batches = await store.queue.claim(OWNER, 1003, 10, 60_000);
      assert.deepEqual(batches.map((b) => b.payload), [batch('a'), batch('b')]);
      await store.dispatch.finishDelivery(batches[0]!, {
        outcomes: [
          { handle: 'h-a', platform: 'fcmv1', outcome: 'Success', attempts: 1, at: 1004 },
          { handle: 'https://w.notify.windows.com/?token=a', platform: 'wns', outcome: 'Success', attempts: 1, at: 1004, pns: WNS_ANSWER },
        ],
        counts: { fcmv1: { Success: 1 }, wns: { Success: 1 } },
        expired: [],
        retry: { payload: batch('a2'), runAt: 5000 },
        now: 1004,
      }, RULES);
      await store.dispatch.finishDelivery(batches[1]!, {
        outcomes: [{ handle: 'token-dead', platform: 'fcmv1', outcome: 'ExpiredChannel', registrationId: 'dead', attempts: 1, at: 1005 }],
        counts: { fcmv1: { ExpiredChannel: 1 } },
        expired: [{ at: 1005, platform: 'fcmv1', handle: 'token-dead', registrationId: 'dead', notificationId: 'n1', error: 'ExpiredChannel' }],
        now: 1005,
      }, RULES);
      assert.equal(await store.registrations.get('send', 'dead'), undefined, 'feedback removed the registration');
      assert.equal((await store.dispatch.getNotification('send', 'n1'))?.state, 'Processing', 'a retry is still pending');
      assert.equal(await store.queue.nextRunAt(), 5000);
      const [retry] = await store.queue.claim(OWNER, 5000, 10, 60_000);
      await store.dispatch.finishDelivery(retry!, { outcomes: [], counts: { fcmv1: { Success: 1 } }, expired: [], now: 5001 }, RULES);
      const done = await store.dispatch.getNotification('send', 'n1');
      assert.equal(done?.state, 'Completed');
      assert.deepEqual(done?.counts, { fcmv1: { Success: 2, ExpiredChannel: 1 }, wns: { Success: 1 } });
      assert.equal(done?.targets, 2);
      // What the PNS reported per device comes back as it was recorded (#14 item 5); an outcome without it has none.
      const listed = (await store.dispatch.listOutcomes('send', 'n1', { outcome: 'Success' }, { limit: 10 })).items;
      assert.deepEqual(listed.map((o) => o.pns), [undefined, WNS_ANSWER]);
      assert.equal('pns' in listed[0]!, false);
      assert.deepEqual((await store.dispatch.listOutcomes('send', 'n1', { outcome: 'ExpiredChannel' }, { limit: 10 })).items.map((o) => o.handle), ['token-dead']);
      assert.equal((await store.dispatch.listFeedback('send', 10)).length, 1);

      // A job of a node that died is handed out again once the reset took its lapsed lease back.
      await store.dispatch.createNotification({ ...n, id: 'n2' }, { kind: 'deliver', payload: batch(), runAt: 6000 });
      await store.queue.claim(OTHER, 6000, 10, 1000);
      assert.equal(await store.queue.resetLapsed(6999), 0, 'not while the lease holds');
      assert.deepEqual(await store.queue.claim(OWNER, 7001, 10, 60_000), [], 'a lapsed lease waits for the reset');
      assert.equal(await store.queue.resetLapsed(7001), 1);
      const [again] = await store.queue.claim(OWNER, 7001, 10, 60_000);
      assert.equal(again?.attempt, 1);
      assert.equal(await store.dispatch.cancel('send', 'n2', 7002), 'started');

      await store.dispatch.createNotification({ ...n, id: 'n3', state: 'Scheduled', scheduledAt: 9000 }, { kind: 'plan', payload: { after: null }, runAt: 9000 });
      assert.equal(await store.dispatch.cancel('send', 'n3', 7000), 'cancelled');
      assert.equal((await store.dispatch.getNotification('send', 'n3'))?.state, 'Cancelled');
      assert.equal(await store.dispatch.cancel('send', 'nope', 7000), 'not_found');

      await store.hubs.delete('send');
      await store.hubs.create(hub('send'), []);
      assert.equal(await store.dispatch.getNotification('send', 'n1'), undefined);
      assert.deepEqual(await store.queue.claim(OWNER, 100_000, 10, 1000), [], 'no job outlives its hub');
      assert.deepEqual(await store.dispatch.listFeedback('send', 10), []);
    });

    test('a plan step or batch finished after its hub was deleted and re-created writes nothing into the new hub', async () => {
      await store.hubs.create(hub('gone'), []);
      const n = { hub: 'gone', id: 'n1', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 };
      await store.dispatch.createNotification(n, { kind: 'plan', payload: { after: null }, runAt: 1 });
      await store.dispatch.createNotification({ ...n, id: 'n2' }, { kind: 'deliver', payload: batch(), runAt: 1 });
      const jobs = await store.queue.claim(OWNER, 1, 10, 60_000);
      const plan = jobs.find((j) => j.kind === 'plan')!;
      const delivery = jobs.find((j) => j.kind === 'deliver')!;
      // The hub goes while both run; a new hub of the same name gets a registration and an installation
      // with the ids the old hub's feedback names.
      await store.hubs.delete('gone');
      await store.hubs.create(hub('gone'), []);
      await store.registrations.upsert('gone', reg('dead', ['x']), { now: 2 });
      await store.installations.put('gone', installation('inst'), [{ ...reg('inst-native', ['t'], { installationId: 'inst' }), etag: 1, createdAt: 2 }]);
      await store.dispatch.finishPlanStep(plan, { batches: [batch('a')], targets: 1, nextCursor: { after: 'opaque' }, now: 3 }, RULES);
      await store.dispatch.finishDelivery(delivery, {
        outcomes: [{ handle: 'token-dead', platform: 'fcmv1', outcome: 'ExpiredChannel', registrationId: 'dead', attempts: 1, at: 3 }],
        counts: { fcmv1: { ExpiredChannel: 1 } },
        expired: [
          { at: 3, platform: 'fcmv1', handle: 'token-dead', registrationId: 'dead', notificationId: 'n2', error: 'ExpiredChannel' },
          { at: 3, platform: 'fcmv1', handle: 'chan-inst', registrationId: 'inst-native', installationId: 'inst', notificationId: 'n2', error: 'ExpiredChannel' },
        ],
        retry: { payload: batch('b'), runAt: 4 },
        now: 3,
      }, RULES);
      assert.deepEqual(await store.dispatch.listFeedback('gone', 10), [], 'no feedback in the new hub');
      assert.deepEqual((await store.dispatch.listOutcomes('gone', 'n2', {}, { limit: 10 })).items, [], 'no outcomes');
      assert.equal(await store.dispatch.getNotification('gone', 'n1'), undefined);
      assert.equal(await store.dispatch.getNotification('gone', 'n2'), undefined);
      assert.ok(await store.registrations.get('gone', 'dead'), 'the registration of the new hub is still there');
      assert.equal((await store.installations.get('gone', 'inst'))?.pushChannelExpired, false, 'the installation is not marked expired');
      assert.ok(await store.registrations.get('gone', 'inst-native'));
      assert.deepEqual(await store.queue.claim(OWNER, 1_000_000, 10, 1000), [], 'no job of the old notifications was enqueued or kept');
      await store.hubs.delete('gone');
    });

    test('secure payloads: read only before their expiry, erased by the purge, and gone with their notification (#10 item 14)', async () => {
      await store.hubs.create(hub('sec'), []);
      const n = { hub: 'sec', id: 'n1', state: 'Enqueued', request: { secure: true }, counts: {}, targets: 0, enqueuedAt: 1 };
      await store.dispatch.createNotification(n, { kind: 'plan', payload: { after: null }, runAt: 1 }, { sealed: 'sealed-1', expiresAt: 1000 });
      await store.dispatch.createNotification({ ...n, id: 'n2' }, { kind: 'plan', payload: { after: null }, runAt: 1 }, { sealed: 'sealed-2', expiresAt: 5000 });
      await store.dispatch.createNotification({ ...n, id: 'plain', request: {} }, { kind: 'plan', payload: { after: null }, runAt: 1 });
      assert.deepEqual((await store.dispatch.getNotification('sec', 'n1'))?.request, { secure: true }, 'the sealed payload is not part of the request');
      assert.equal(await store.dispatch.securePayload('SEC', 'n1', 999), 'sealed-1');
      assert.equal(await store.dispatch.securePayload('sec', 'n1', 1000), undefined, 'not at or after its expiry, purged or not');
      assert.equal(await store.dispatch.securePayload('sec', 'plain', 2), undefined);
      assert.equal(await store.dispatch.purgeSecurePayloads(1000, 100), 1);
      assert.equal(await store.dispatch.purgeSecurePayloads(1000, 100), 0);
      assert.equal(await store.dispatch.securePayload('sec', 'n2', 1000), 'sealed-2', 'the other one stays until its time');
      assert.ok(await store.dispatch.getNotification('sec', 'n1'), 'the notification itself stays (telemetry)');
      await store.hubs.delete('sec');
      await store.hubs.create(hub('sec'), []);
      await store.dispatch.createNotification({ ...n, id: 'n3' }, { kind: 'plan', payload: { after: null }, runAt: 1 }, { sealed: 'sealed-3', expiresAt: 9000 });
      assert.equal(await store.dispatch.securePayload('sec', 'n2', 1001), undefined, 'gone with its hub');
      assert.equal(await store.dispatch.purgeSecurePayloads(9000, 100), 1, "only the new hub's payload was left");
      await store.hubs.delete('sec');
    });

    test('notifications: those that ended before the retention cut-off go with their outcomes, secure reads and payloads; feedback by age (#10 item 14)', async () => {
      await store.hubs.create(hub('ret'), []);
      const n = { hub: 'ret', id: 'old', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 };
      await store.dispatch.createNotification(n, { kind: 'deliver', payload: batch(), runAt: 1 }, { sealed: 's', expiresAt: 1_000_000 });
      await store.dispatch.createNotification({ ...n, id: 'new' }, { kind: 'deliver', payload: batch(), runAt: 1 });
      await store.dispatch.createNotification({ ...n, id: 'later', state: 'Scheduled', scheduledAt: 50_000 }, { kind: 'plan', payload: { after: null }, runAt: 50_000 });
      const [a, b] = await store.queue.claim(OWNER, 1, 10, 60_000);
      const result = (at: number) => ({
        outcomes: [{ registrationId: 'r', handle: 'h', platform: 'fcmv1', outcome: 'Success', attempts: 1, at }],
        counts: { fcmv1: { Success: 1 } },
        expired: [{ at, platform: 'fcmv1', handle: 'h2', error: 'ExpiredChannel' }],
        now: at,
      });
      await store.dispatch.finishDelivery(a!.notificationId === 'old' ? a! : b!, result(100), RULES);
      await store.dispatch.finishDelivery(a!.notificationId === 'old' ? b! : a!, result(200), RULES);
      await store.dispatch.recordSecureRead('ret', 'old', 'i1', 150);
      assert.equal((await store.dispatch.getNotification('ret', 'old'))?.endedAt, 100);
      assert.equal(await store.dispatch.pruneNotifications(100, 100), 0, 'strictly before the cut-off');
      assert.equal(await store.dispatch.pruneNotifications(150, 100), 1);
      assert.equal(await store.dispatch.getNotification('ret', 'old'), undefined);
      assert.deepEqual((await store.dispatch.listOutcomes('ret', 'old', {}, { limit: 10 })).items, []);
      assert.deepEqual(await store.dispatch.listSecureReads('ret', 'old'), []);
      assert.equal(await store.dispatch.securePayload('ret', 'old', 2), undefined);
      assert.equal(await store.dispatch.purgeSecurePayloads(Number.MAX_SAFE_INTEGER, 100), 0, 'its payload went with it');
      assert.deepEqual((await store.dispatch.listFeedback('ret', 10)).map((f) => f.at), [200], 'feedback older than the cut-off went');
      assert.equal((await store.dispatch.listOutcomes('ret', 'new', {}, { limit: 10 })).items.length, 1, 'a newer one stays');
      assert.equal(await store.dispatch.pruneNotifications(1_000_000, 100), 1, 'one not ended (scheduled) stays whatever its age');
      assert.equal((await store.dispatch.getNotification('ret', 'later'))?.state, 'Scheduled');
      await store.hubs.delete('ret');
    });

    test('jobs: create, update, list newest first, unfinished', async () => {
      await store.hubs.create(hub('jobs'), []);
      const job = { hub: 'jobs', id: 'j1', type: 'ExportRegistrations', status: 'Started', progress: 0, outputContainerUri: 'file:///x', createdAt: 1, updatedAt: 1 };
      await store.jobs.create(job);
      await store.jobs.create({ ...job, id: 'j2', createdAt: 2 });
      await store.jobs.update({ ...job, status: 'Completed', progress: 100, outputProperties: { OutputFilePath: 'file:///x/o' }, updatedAt: 5 });
      assert.deepEqual(await store.jobs.get('JOBS', 'j1'), { ...job, status: 'Completed', progress: 100, outputProperties: { OutputFilePath: 'file:///x/o' }, updatedAt: 5 });
      assert.deepEqual((await store.jobs.list('jobs', 10)).map((j) => j.id), ['j2', 'j1']);
      assert.deepEqual((await store.jobs.unfinished()).map((j) => j.id), ['j2']);
    });
  });
}

/**
 * The races (issue 10, items 9, 18, 19): every read-modify-write of the contract is one unit of work.
 * `a` and `b` are two instances on one database, or one instance twice; each race starts its two sides
 * in the same turn of the event loop, so with group commit they may land in one transaction or in two.
 */
function concurrencyContract(label: string, openPair: () => Promise<[Store, Store]>): void {
  describe(`Store concurrency contract: ${label}`, () => {
    let a: Store;
    let b: Store;
    beforeEach(async () => {
      [a, b] = await openPair();
      await a.hubs.create(hub('race'), [rule('race', 'r')]);
    });
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });

    const settled = async (...writes: Promise<unknown>[]) => Promise.allSettled(writes);
    const codes = (results: PromiseSettledResult<unknown>[]) =>
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof HubError ? r.reason.code : String(r.reason)));

    test('changes: each committed write of a hub, its rules or credentials is heard by the other instance (caches drop it)', async () => {
      // An embedded store is one process's: it announces its changes within its own instance.
      const listener = b.capabilities.sharedAcrossProcesses ? b : a;
      const heard: Array<string | null> = [];
      let wake: (() => void) | undefined;
      const unsubscribe = listener.changes.subscribe((c) => {
        heard.push(c.hub === null ? null : c.hub.toLowerCase());
        wake?.();
      });
      /** Resolves once `b` heard a change of `hub` (null: of everything) after this call. */
      const hear = async (hub: string | null, write: () => Promise<unknown>) => {
        heard.length = 0;
        await write();
        while (!heard.includes(hub)) await new Promise<void>((r) => (wake = r));
      };
      try {
        await hear('race', () => a.hubs.updateSettings('race', { sendsPerSecond: 3 }, 2));
        await hear('race', () => a.rules.updateKeys('race', 'r', { primaryKey: 'p9' }, 2));
        await hear(null, () => a.rules.insert(rule(NAMESPACE_SCOPE, 'ns'), 12));
        await hear('race', () => a.credentials.put({ hub: 'race', platform: 'apns', sealed: 'x', summary: {}, endpoint: null, updatedAt: 2 }));
        await hear('other', () => a.hubs.create(hub('other'), []));
        await hear('other', () => a.hubs.delete('other'));
        // A write that fails (and rolls back) announces nothing.
        heard.length = 0;
        await assert.rejects(a.hubs.create(hub('RACE'), []), isCode('hub_exists'));
        await hear('race', () => a.hubs.updateSettings('race', { sendsPerSecond: 4 }, 3));
        assert.deepEqual(heard.filter((h) => h !== 'race'), [], 'nothing of the failed create was heard');
      } finally {
        unsubscribe();
      }
    });

    test('idempotency key: of ten concurrent sends with one key one notification is stored, and all name it', async () => {
      const n = (id: string) => ({ hub: 'race', id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 });
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).dispatch.createNotification(n(`n${i}`), { kind: 'plan', payload: { after: null }, runAt: 1 }, undefined, { key: 'same', now: 1, expiresAt: 1000 })),
      );
      assert.equal(new Set(ids).size, 1, ids.join());
      const stored = await Promise.all(Array.from({ length: 10 }, (_, i) => a.dispatch.getNotification('race', `n${i}`)));
      assert.deepEqual(stored.filter(Boolean).map((x) => x!.id), [ids[0]]);
    });

    test('node heartbeats: each instance counts the live nodes; a silent one drops out, one that leaves goes at once', async () => {
      assert.equal(await a.tasks.heartbeat('node-a', 10_000, 3000), 1);
      assert.equal(await b.tasks.heartbeat('node-b', 11_000, 3000), 2);
      assert.equal(await a.tasks.heartbeat('node-a', 12_000, 3000), 2);
      assert.equal(await a.tasks.heartbeat('node-a', 14_500, 3000), 1, 'node-b silent for 3.5 s');
      await b.tasks.heartbeat('node-b', 14_600, 3000);
      await b.tasks.leave('node-b');
      assert.equal(await a.tasks.heartbeat('node-a', 14_700, 3000), 1);
    });

    test('periodic task: of concurrent claims exactly one wins', async () => {
      const won = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).tasks.claimDue('race-task', 5000, 1000)));
      assert.equal(won.filter(Boolean).length, 1);
    });

    test('ETag: of two writes conditioned on the same ETag exactly one wins, the other gets etag_mismatch', async () => {
      await a.registrations.upsert('race', reg('r1', ['v0']), { now: 1 });
      for (let round = 1; round <= 5; round++) {
        const results = await settled(
          a.registrations.upsert('race', reg('r1', [`a${round}`]), { now: 1, ifMatch: round }),
          b.registrations.upsert('race', reg('r1', [`b${round}`]), { now: 1, ifMatch: round }),
        );
        assert.deepEqual(codes(results).sort(), ['etag_mismatch', 'ok'], `round ${round}`);
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        const stored = await b.registrations.get('race', 'r1');
        assert.equal(stored?.etag, round + 1);
        assert.deepEqual(stored?.tags, [`${winner === 0 ? 'a' : 'b'}${round}`], 'the winner is what is stored');
      }
      // A conditional delete and a conditional update on the same ETag: one wins.
      const results = await settled(a.registrations.delete('race', 'r1', { now: 1, ifMatch: 6 }), b.registrations.upsert('race', reg('r1', ['late']), { now: 1, ifMatch: 6 }));
      const c = codes(results);
      assert.equal(c.filter((x) => x === 'ok').length, 1, c.join());
      assert.ok(c.includes('etag_mismatch') || c.includes('registration_not_found'), c.join());
      const left = await a.registrations.get('race', 'r1');
      if (results[0]!.status === 'fulfilled') assert.equal(left, undefined);
      else assert.deepEqual(left?.tags, ['late']);
    });

    test('installation PUT: concurrent PUTs of one installation from both sides leave exactly one PUT\'s registrations and tag rows (#11 put)', async () => {
      const version = (side: string, round: number): [Installation, Registration[]] => [
        installation('ip', { pushChannel: `chan-${side}`, updatedAt: 100 + round }),
        // Different ids per side: a PUT must delete what the other committed, not only overwrite its ids.
        [0, 1].map((k) => ({ ...reg(`ip-${side}-${k}`, [`$InstallationId:{ip}`, `side-${side}`]), installationId: 'ip', etag: 1, createdAt: 10 })),
      ];
      for (let round = 0; round < 10; round++) {
        const results = await settled(a.installations.put('race', ...version('a', round)), b.installations.put('race', ...version('b', round)));
        assert.deepEqual(codes(results), ['ok', 'ok']);
        const side = (await a.installations.get('race', 'ip'))!.pushChannel === 'chan-a' ? 'a' : 'b';
        const ids = (await b.registrations.list('race', { installationId: 'ip' }, { limit: 10 })).items.map((r) => r.id);
        assert.deepEqual(ids, [`ip-${side}-0`, `ip-${side}-1`], `round ${round}: the registrations are the last PUT's (${side})`);
        assert.equal(await a.registrations.count('race', { tag: `side-${side}` }), 2);
        assert.equal(await a.registrations.count('race', { tag: `side-${side === 'a' ? 'b' : 'a'}` }), 0, `round ${round}: the other PUT's tag rows are gone`);
      }
    });

    test('installation PATCH: twenty concurrent patches all keep their change', async () => {
      await a.installations.put('race', installation('i1', { tags: ['start'] }), [materialisedOf('i1', ['start'])]);
      const addTag = (store: Store, tag: string) =>
        store.installations.patch('race', 'i1', (current) => {
          const tags = [...(current.tags ?? []), tag];
          return { installation: { ...current, tags, updatedAt: 20 }, registrations: [materialisedOf('i1', tags)] };
        });
      const results = await settled(...Array.from({ length: 20 }, (_, i) => addTag(i % 2 === 0 ? a : b, `t${i}`)));
      assert.deepEqual(codes(results), Array(20).fill('ok'));
      const want = ['start', ...Array.from({ length: 20 }, (_, i) => `t${i}`)].sort();
      assert.deepEqual([...((await a.installations.get('race', 'i1'))?.tags ?? [])].sort(), want);
      const regs = (await b.registrations.list('race', { installationId: 'i1' }, { limit: 10 })).items;
      assert.deepEqual(regs.map((r) => [...r.tags].sort()), [[...want, '$InstallationId:{i1}'].sort()]);
      assert.equal((await a.installations.get('race', 'i1'))?.createdAt, 10, 'a patch keeps the creation time');
    });

    test('installation PATCH: a patch racing a delete never re-creates it; one that finds it gone is installation_not_found', async () => {
      for (const [first, second] of [[a, b], [b, a]] as const) {
        await a.installations.put('race', installation('i2'), [materialisedOf('i2', ['t'])]);
        const results = await settled(
          first.installations.patch('race', 'i2', (current) => ({ installation: { ...current, tags: ['late'] }, registrations: [materialisedOf('i2', ['late'])] })),
          second.installations.delete('race', 'i2'),
        );
        assert.equal(results[1]!.status, 'fulfilled');
        assert.ok(['ok', 'installation_not_found'].includes(codes(results)[0]!), codes(results)[0]);
        assert.equal(await a.installations.get('race', 'i2'), undefined, 'the delete stands');
        assert.equal(await b.registrations.count('race', { installationId: 'i2' }), 0);
      }
      await assert.rejects(
        a.installations.patch('race', 'i2', () => assert.fail('no installation to change')),
        isCode('installation_not_found'),
      );
      // A change that throws writes nothing.
      await a.installations.put('race', installation('i3', { tags: ['keep'] }), [materialisedOf('i3', ['keep'])]);
      await assert.rejects(
        b.installations.patch('race', 'i3', () => {
          throw new HubError('invalid_request', 'bad patch');
        }),
        isCode('invalid_request'),
      );
      assert.deepEqual((await a.installations.get('race', 'i3'))?.tags, ['keep']);
    });

    test("registrations an installation owns: classic writes and deletes are refused, whatever the condition; the installation's PUT takes a classic id over", async () => {
      await a.installations.put('race', installation('i4'), [materialisedOf('i4', ['t'])]);
      const id = 'i4-native';
      for (const store of [a, b]) {
        for (const c of [{ now: 1 }, { now: 1, ifMatch: '*' as const }, { now: 1, ifMatch: 1 }]) {
          await assert.rejects(store.registrations.upsert('race', reg(id, ['stolen']), c), isCode('registration_owned_by_installation'));
          await assert.rejects(store.registrations.delete('race', id, c), isCode('registration_owned_by_installation'));
        }
      }
      const kept = await a.registrations.get('race', id);
      assert.equal(kept?.installationId, 'i4');
      assert.equal(kept?.handle.value, 'chan-i4');
      assert.equal(await a.registrations.count('race', { tag: 'stolen' }), 0);

      // A classic registration already at a materialised id: the installation replaces it, PUT after PUT,
      // also when the two race.
      await a.registrations.upsert('race', reg('i5-native', ['squat']), { now: 1 });
      const results = await settled(
        b.installations.put('race', installation('i5'), [materialisedOf('i5', ['t'])]),
        a.registrations.upsert('race', reg('i5-native', ['squat', 'again']), { now: 1 }),
      );
      assert.equal(results[0]!.status, 'fulfilled', codes(results).join());
      assert.ok(['ok', 'registration_owned_by_installation'].includes(codes(results)[1]!));
      await a.installations.put('race', installation('i5', { updatedAt: 11 }), [materialisedOf('i5', ['t'])]);
      const got = await b.registrations.get('race', 'i5-native');
      assert.equal(got?.installationId, 'i5');
      assert.equal(got?.handle.value, 'chan-i5');
      assert.equal(await a.registrations.count('race', { tag: 'squat' }), 0, "the squatter's tag rows went with it");
      assert.equal(await a.registrations.count('race', { tag: '$InstallationId:{i5}' }), 1);
    });

    test('feedback for an old handle does not touch a registration re-registered with a new one', async () => {
      await a.registrations.upsert('race', reg('r2', ['x']), { now: 1 });
      for (const [order, reRegisterFirst] of [['re-registration first', true], ['feedback first', false]] as const) {
        const job = await deliveryJob(a, `n-${order}`);
        const reRegister = () => b.registrations.upsert('race', reg('r2', ['x'], { handle: { platform: 'fcmv1', value: 'token-new' } }), { now: 2 });
        const feedback = () => a.dispatch.finishDelivery(job, { outcomes: [], counts: {}, expired: [expiredFeedback({ registrationId: 'r2', handle: 'token-r2' })], now: 3 }, RULES);
        const results = reRegisterFirst ? await settled(reRegister(), feedback()) : await settled(feedback(), reRegister());
        assert.deepEqual(codes(results), ['ok', 'ok'], order);
        assert.equal((await b.registrations.get('race', 'r2'))?.handle.value, 'token-new', `${order}: the new handle lives`);
        assert.equal(await a.registrations.count('race', { tag: 'x' }), 1);
        // Back to the old handle for the next round.
        await a.registrations.upsert('race', reg('r2', ['x']), { now: 4 });
      }
      // Feedback for the stored handle still removes it, and every feedback is recorded.
      const job = await deliveryJob(a, 'n-current');
      await a.dispatch.finishDelivery(job, { outcomes: [], counts: {}, expired: [expiredFeedback({ registrationId: 'r2', handle: 'token-r2' })], now: 5 }, RULES);
      assert.equal(await b.registrations.get('race', 'r2'), undefined);
      assert.equal(await a.registrations.count('race', { tag: 'x' }), 0);
      assert.equal((await b.dispatch.listFeedback('race', 10)).length, 3);
    });

    test("feedback for an installation's old channel neither marks it expired nor removes its registrations", async () => {
      const put = (store: Store, channel: string, at: number) =>
        store.installations.put('race', installation('i6', { pushChannel: channel, updatedAt: at }), [materialisedOf('i6', ['t'], channel)]);
      await put(a, 'chan-old', 10);
      for (const [order, reRegisterFirst] of [['re-registration first', true], ['feedback first', false]] as const) {
        const job = await deliveryJob(a, `n-${order}`);
        const feedback = () =>
          a.dispatch.finishDelivery(job, { outcomes: [], counts: {}, expired: [expiredFeedback({ registrationId: 'i6-native', installationId: 'i6', handle: 'chan-old' })], now: 3 }, RULES);
        const results = reRegisterFirst ? await settled(put(b, 'chan-new', 11), feedback()) : await settled(feedback(), put(b, 'chan-new', 11));
        assert.deepEqual(codes(results), ['ok', 'ok'], order);
        const inst = await b.installations.get('race', 'i6');
        assert.equal(inst?.pushChannel, 'chan-new');
        assert.equal(inst?.pushChannelExpired, false, `${order}: the new channel is not expired`);
        assert.deepEqual((await a.registrations.list('race', { installationId: 'i6' }, { limit: 10 })).items.map((r) => r.handle.value), ['chan-new']);
        await put(a, 'chan-old', 12);
      }
      // Feedback for the channel it still has marks it expired and removes its registrations.
      const job = await deliveryJob(a, 'n-current');
      await a.dispatch.finishDelivery(job, { outcomes: [], counts: {}, expired: [expiredFeedback({ registrationId: 'i6-native', installationId: 'i6', handle: 'chan-old' })], now: 5 }, RULES);
      assert.equal((await b.installations.get('race', 'i6'))?.pushChannelExpired, true);
      assert.equal(await b.registrations.count('race', { installationId: 'i6' }), 0);
    });

    test('delivery counts of concurrent batches of one notification add up', async () => {
      await a.dispatch.createNotification({ hub: 'race', id: 'n', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 }, { kind: 'plan', payload: { after: null }, runAt: 1 });
      const [plan] = await a.queue.claim(OWNER, 1, 10, 60_000);
      await a.dispatch.finishPlanStep(plan!, { batches: Array.from({ length: 10 }, (_, i) => batch(String(i))), targets: 10, now: 2 }, RULES);
      // Both instances claim at once: no job is handed out twice.
      const [fromA, fromB] = await Promise.all([a.queue.claim(OWNER, 3, 5, 60_000), b.queue.claim(OTHER, 3, 5, 60_000)]);
      const ids = [...fromA, ...fromB].map((j) => j.id);
      assert.equal(ids.length, 10);
      assert.equal(new Set(ids).size, 10, 'each batch claimed once');
      await Promise.all([
        ...fromA.map((j) => a.dispatch.finishDelivery(j, { outcomes: [], counts: { apns: { Success: 1 } }, expired: [], now: 4 }, RULES)),
        ...fromB.map((j) => b.dispatch.finishDelivery(j, { outcomes: [], counts: { apns: { Success: 1 } }, expired: [], now: 4 }, RULES)),
      ]);
      const n = await b.dispatch.getNotification('race', 'n');
      assert.deepEqual(n?.counts, { apns: { Success: 10 } });
      assert.equal(n?.state, 'Completed');
    });

    test('hub settings and rule keys: concurrent changes of different keys are all kept', async () => {
      await Promise.all([
        a.hubs.updateSettings('race', { registrationTtlSeconds: 60 }, 2),
        b.hubs.updateSettings('race', { sendsPerSecond: 5 }, 2),
        a.hubs.updateSettings('race', { registrationsPerSecond: 7 }, 2),
      ]);
      assert.deepEqual((await b.hubs.get('race'))?.settings, { registrationTtlSeconds: 60, sendsPerSecond: 5, registrationsPerSecond: 7 });
      await Promise.all([a.rules.updateKeys('race', 'r', { primaryKey: 'p2' }, 2), b.rules.updateKeys('race', 'r', { secondaryKey: 's2' }, 2)]);
      const r = await a.rules.get('race', 'r');
      assert.deepEqual([r?.primaryKey, r?.secondaryKey], ['p2', 's2']);
    });

    test('writes to a hub deleted meanwhile are hub_not_found, never a constraint failure', async () => {
      const results = await settled(
        a.hubs.delete('race'),
        b.registrations.upsert('race', reg('late', ['x']), { now: 1 }),
        b.installations.put('race', installation('late'), [materialisedOf('late', ['t'])]),
      );
      assert.equal(results[0]!.status, 'fulfilled');
      for (const c of codes(results).slice(1)) assert.ok(c === 'ok' || c === 'hub_not_found', c);
      await assert.rejects(b.registrations.upsert('race', reg('later', ['x']), { now: 1 }), isCode('hub_not_found'));
      await assert.rejects(b.installations.put('race', installation('later'), [materialisedOf('later', ['t'])]), isCode('hub_not_found'));
      await assert.rejects(
        a.dispatch.createNotification({ hub: 'race', id: 'n', state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: 1 }, { kind: 'plan', payload: { after: null }, runAt: 1 }),
        isCode('hub_not_found'),
      );
    });
  });
}

/** An installation's native registration as registry/materialize.ts would make it (id `<installation>-native`). */
function materialisedOf(installationId: string, tags: string[], channel = `chan-${installationId}`): Registration {
  return {
    ...reg(`${installationId}-native`, [`$InstallationId:{${installationId}}`, ...tags], { handle: { platform: 'fcmv1', value: channel } }),
    installationId,
    etag: 1,
    createdAt: 10,
  };
}

async function deliveryJob(store: Store, notificationId: string) {
  await store.dispatch.createNotification(
    { hub: 'race', id: notificationId, state: 'Enqueued', request: {}, counts: {}, targets: 1, enqueuedAt: 1 },
    { kind: 'deliver', payload: batch(), runAt: 1 },
  );
  const jobs = await store.queue.claim(OWNER, 1, 100, 60_000);
  const job = jobs.find((j) => j.notificationId === notificationId);
  assert.ok(job);
  return job;
}

function expiredFeedback(f: { registrationId: string; installationId?: string; handle: string }) {
  return { at: 3, platform: 'fcmv1', notificationId: 'n', error: 'ExpiredChannel', ...f };
}

/** A tiny evaluator for the expressions above: the store's answer is checked against it. */
function evaluateSimple(text: string, tags: string[]): boolean {
  const has = (t: string) => tags.includes(t);
  switch (text) {
    case 'even': return has('even');
    case 'm1 || five': return has('m1') || has('five');
    case 'even && !five': return has('even') && !has('five');
    case '!(m0 || m1)': return !(has('m0') || has('m1'));
    case 'rewritten': return has('rewritten');
    default: return false;
  }
}
