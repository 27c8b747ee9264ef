/**
 * Three `herald serve` processes on one PostgreSQL database (issue 11 items 3 and 4): started at once on
 * an empty database (the migrations run once), a broadcast accepted by one node is delivered to every
 * device exactly once with exact per-PNS counts, against an APNs emulator this test runs itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createSasToken } from '../src/auth/sas.ts';
import { startApnsEmulator, type ApnsEmulator } from '../src/emulators/apns/apns-emulator.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { readMigrations } from '../src/store/postgres/migrate.ts';
import type { Store } from '../src/store/store.ts';
import { ensureDevCa } from '../src/tls/dev-ca.ts';
import { removeTempDir, tempDir } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';

const bin = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
const postgres = usePostgresServer();
const TOPIC = 'com.example.cluster';
const DEVICES = 2000;
const ADMIN_KEY = 'c'.repeat(40);

interface Node {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
}

async function startNode(data: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const child = spawn(process.execPath, [bin, 'serve', '--data', data, '--port', '0', '--tls-port', '0', '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"httpUrl"'));
      if (line) resolve(JSON.parse(line).httpUrl);
    });
    child.on('exit', (code) => reject(new Error(`a node exited ${code}: ${err}`)));
  });
  return { child, url, exit };
}

/** Looks again every 100 ms until `cond` holds; the bound only stops a hung test. */
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const bound = Date.now() + 120_000;
  while (!(await cond())) {
    if (Date.now() > bound) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('three herald serve nodes on one PostgreSQL', () => {
  let url: string;
  let emu: ApnsEmulator;
  let nodes: Node[] = [];
  let store: Store;
  const dirs: string[] = [];
  let handles: string[] = [];

  before(async () => {
    url = await postgres.createDatabase();
    const caDir = tempDir();
    dirs.push(caDir);
    const ca = await ensureDevCa(caDir, ['localhost', '127.0.0.1']);
    emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
    const env = { HERALD_STORE: url, HERALD_ADMIN_KEY: ADMIN_KEY, HERALD_SECRET_KEY: randomBytes(32).toString('base64'), HERALD_TLS_MODE: 'off', HERALD_PNS_CA_FILE: ca.caCertPath, HERALD_LOG_LEVEL: 'warn' };
    for (let i = 0; i < 3; i++) dirs.push(tempDir());
    // All three at once on the empty database.
    nodes = await Promise.all(dirs.slice(1).map((d) => startNode(d, env)));
    store = await openPostgresStore({ url });
  });
  after(async () => {
    await store?.close();
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exit));
    await emu?.close();
    for (const d of dirs) removeTempDir(d);
  });

  test('started at once on an empty database: the schema is migrated once', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
      assert.deepEqual(rows.map((r) => r.id), readMigrations().map((m) => m.id));
    } finally {
      await c.end();
    }
  });

  test('a broadcast accepted by one node reaches every device once, with exact counts, and completes', async () => {
    const admin = (node: number, method: string, path: string, body?: unknown) =>
      fetch(`${nodes[node]!.url}/_admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    assert.equal((await admin(0, 'POST', '/hubs', { name: 'cluster' })).status, 201);
    const k = (await emu.mintCredentials({ topic: TOPIC })) as { keyId: string; teamId: string; key: string };
    const put = await admin(1, 'PUT', '/hubs/cluster/credentials/apns', { auth: 'token', endpoint: emu.url, environment: 'development', keyId: k.keyId, teamId: k.teamId, bundleId: TOPIC, key: k.key });
    assert.equal(put.status, 200, await put.text());
    handles = await Promise.all(Array.from({ length: DEVICES }, async () => (await emu.mintDevice({ topic: TOPIC })).handle));
    for (let i = 0; i < DEVICES; i += 500) {
      await Promise.all(
        handles.slice(i, i + 500).map((h, j) => store.registrations.upsert('cluster', { id: `r${i + j}`, kind: 'Apple', handle: { platform: 'apns', value: h }, tags: ['all'], updatedAt: Date.now() }, { now: Date.now() })),
      );
    }

    const rule = (await store.rules.get('cluster', 'DefaultFullSharedAccessSignature'))!;
    const token = createSasToken('https://localhost/', 'DefaultFullSharedAccessSignature', rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
    const sent = await fetch(`${nodes[0]!.url}/cluster/messages/?api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'all' },
      body: '{"aps":{"alert":"to everyone"}}',
    });
    assert.equal(sent.status, 201);
    const id = new URL(sent.headers.get('location')!).pathname.split('/').pop()!;

    await until(async () => (await store.dispatch.getNotification('cluster', id))?.endedAt !== undefined, 'the notification to complete');
    const n = (await store.dispatch.getNotification('cluster', id))!;
    assert.equal(n.state, 'Completed');
    assert.deepEqual(n.counts, { apns: { Success: DEVICES } });
    const per = handles.map((h) => emu.core.deliveries.list(h).length);
    assert.deepEqual([...new Set(per)], [1], 'every device exactly once');
  });

  test('one node SIGKILLed mid-broadcast: every device reached, duplicates only within its batches, counts exact', { skip: 'needs sx-queue: job leases are a fixed 5 minutes on this branch (dispatch.leaseSeconds is read by the owner-based queue)' }, () => {});
});
