/**
 * `Idempotency-Key` on sends (contract: the same key on the same hub within 24 hours returns the first
 * send's notification, on any node), on the embedded store and on PostgreSQL with two nodes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createSasToken } from '../src/auth/sas.ts';
import { FULL_RULE } from '../src/hubs/hub-service.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';

const postgres = usePostgresServer();
const path1 = (location: string | null) => (location === null ? null : new URL(location).pathname);
const HOUR = 3_600_000;

interface Setup {
  nodes: TestHerald[];
  clock: ManualClock;
  notifications(): Promise<number>;
  close(): Promise<void>;
}

async function sqliteSetup(): Promise<Setup> {
  const clock = new ManualClock(Date.now());
  const h = await startTestHerald({ sandbox: false, 'tls.mode': 'off' }, { clock });
  return {
    nodes: [h, h],
    clock,
    notifications: async () => {
      const db = new Database(join(h.dataDir, 'herald.db'), { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM notifications').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    close: () => h.close(),
  };
}

async function postgresSetup(): Promise<Setup> {
  const clock = new ManualClock(Date.now());
  const url = await postgres.createDatabase();
  const flags = { 'store.url': url, sandbox: false, 'tls.mode': 'off', adminKey: 'k'.repeat(40), secretKey: randomBytes(32).toString('base64') };
  const a = await startTestHerald(flags, { clock });
  const b = await startTestHerald(flags, { clock });
  return {
    nodes: [a, b],
    clock,
    notifications: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return Number((await c.query('SELECT count(*) AS n FROM notifications')).rows[0].n);
      } finally {
        await c.end();
      }
    },
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

for (const [name, setup] of [['sqlite', sqliteSetup], ['postgres, two nodes', postgresSetup]] as const) {
  describe(`Idempotency-Key on sends (${name})`, () => {
    let s: Setup;
    let auth: string;
    before(async () => {
      s = await setup();
      await s.nodes[0]!.hubs.createHub('idem');
      const rule = await s.nodes[0]!.hubs.getRule('idem', FULL_RULE);
      auth = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(s.clock.now() / 1000) + 7 * 24 * 3600);
    });
    after(() => s?.close());

    const send = async (node: number, key?: string, path = '/messages/') => {
      const headers = new Headers({ authorization: auth, 'content-type': 'application/json', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'nobody' });
      if (key !== undefined) headers.append('Idempotency-Key', key);
      const res = await fetch(`${s.nodes[node]!.httpUrl}/idem${path}?api-version=2020-06`, { method: 'POST', headers, body: '{"aps":{"alert":"hi"}}' });
      // Each node answers with its own origin: the notification is what must be the same.
      return { status: res.status, location: path1(res.headers.get('location')), text: await res.text() };
    };

    test('the same key returns the first send (same 201 and Location) on either node; another key or none is a new send', async () => {
      const before = await s.notifications();
      const first = await send(0, 'order-42');
      assert.equal(first.status, 201);
      assert.match(first.location!, /\/idem\/messages\/[0-9a-f]{32}-/);
      const again = await send(1, 'order-42');
      assert.deepEqual([again.status, again.location], [201, first.location]);
      const other = await send(1, 'order-43');
      assert.equal(other.status, 201);
      assert.notEqual(other.location, first.location);
      assert.notEqual((await send(0)).location, (await send(0)).location, 'without a key every send is new');
      assert.equal(await s.notifications(), before + 4);
    });

    test('ten sends racing with one key store one notification and all answer its Location', async () => {
      const before = await s.notifications();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i % 2, 'raced')));
      assert.deepEqual(results.map((r) => r.status), Array(10).fill(201));
      assert.equal(new Set(results.map((r) => r.location)).size, 1);
      assert.equal(await s.notifications(), before + 1);
    });

    test('a scheduled send takes a key too, on either node', async () => {
      const at = new Date(s.clock.now() + HOUR).toISOString();
      const sched = (node: number) =>
        fetch(`${s.nodes[node]!.httpUrl}/idem/schedulednotifications/?api-version=2020-06`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-ScheduleTime': at, 'Idempotency-Key': 'sched' },
          body: '{"aps":{}}',
        }).then((r) => path1(r.headers.get('location')));
      const l1 = await sched(0);
      assert.match(l1!, /\/schedulednotifications\//);
      assert.equal(await sched(1), l1);
    });

    test('bad keys: 400 naming the rule, and nothing stored', async () => {
      const before = await s.notifications();
      for (const bad of ['', ' ', 'x'.repeat(256), 'tab\there', 'caf\u00e9']) {
        const r = await send(0, bad);
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.match(r.text, /Idempotency-Key must be one header of 1 to 255 printable ASCII characters/);
      }
      assert.equal((await send(0, 'x'.repeat(255))).status, 201, '255 characters are fine');
      assert.equal(await s.notifications(), before + 1);
    });
  });
}
