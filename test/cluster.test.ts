/**
 * Three `herald serve` processes on one PostgreSQL database (issue 11 items 3 and 4): started at once on
 * an empty database (the migrations run once), a broadcast accepted by one node is delivered to every
 * device exactly once with exact per-PNS counts and is worked on by all three, against an APNs emulator this
 * test runs itself; and one node SIGKILLed while it delivers a batch: its batch runs again on another node
 * once its lease lapses, every device is reached, duplicates stay within the dead node's batch, counts are
 * exact and the notification completes.
 *
 * The emulator holds its answers while the test looks (a latency fault on a clock whose timers wait for the
 * test), so batches stay in flight, whatever the machine's speed, until the test has seen who holds them; the
 * nodes run one job at a time with 3-second leases (a config file). The waits are bounded real time only
 * where processes, a lease lapse and HTTP are what is tested.
 */
import { after, before, describe, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { systemClock, type Clock, type TimerHandle } from '../src/shared/clock.ts';
import { removeTempDir, tempDir } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;
const postgres = usePostgresServer();
const TOPIC = 'com.example.cluster';
const DEVICES = 2000;
const KILL_DEVICES = 4000;

/**
 * The emulator's clock: real time for its checks (provider tokens), while answer latencies wait until the
 * test releases them, so a held push stays held as long as the test looks.
 */
class HoldingClock implements Clock {
  private held: Array<() => void> = [];
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void): TimerHandle {
    this.held.push(fn);
    const handle: TimerHandle = { unref: () => handle };
    return handle;
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return systemClock.setInterval(fn, ms);
  }
  clearTimer(handle: TimerHandle | undefined): void {
    systemClock.clearTimer(handle);
  }
  /** Answers every held push now. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const fn of held) fn();
  }
}
const ADMIN_KEY = 'c'.repeat(40);

interface Node {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
}

async function startNode(data: string, env: NodeJS.ProcessEnv, config: string): Promise<Node> {
  const child = spawn(process.execPath, [bin, 'serve', '--data', data, '--port', '0', '--tls-port', '0', '--json', '--config', config], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const gate = new HoldingClock();
  let nodes: Node[] = [];
  let store: Store;
  const dirs: string[] = [];
  let handles: string[] = [];
  let admin: (node: number, method: string, path: string, body?: unknown) => Promise<Response>;
  let db: pg.Client;

  /** A hub with APNs credentials from the emulator and `count` registered devices; their handles. */
  async function hubWithDevices(name: string, count: number): Promise<string[]> {
    assert.equal((await admin(0, 'POST', '/hubs', { name })).status, 201);
    const k = (await emu.mintCredentials({ topic: TOPIC })) as { keyId: string; teamId: string; key: string };
    const put = await admin(1, 'PUT', `/hubs/${name}/credentials/apns`, { auth: 'token', endpoint: emu.url, environment: 'development', keyId: k.keyId, teamId: k.teamId, bundleId: TOPIC, key: k.key });
    assert.equal(put.status, 200, await put.text());
    const minted = await Promise.all(Array.from({ length: count }, async () => (await emu.mintDevice({ topic: TOPIC })).handle));
    for (let i = 0; i < count; i += 500) {
      await Promise.all(
        minted.slice(i, i + 500).map((h, j) => store.registrations.upsert(name, { id: `r${i + j}`, kind: 'Apple', handle: { platform: 'apns', value: h }, tags: ['all'], updatedAt: Date.now() }, { now: Date.now() })),
      );
    }
    return minted;
  }

  /** Broadcasts through node 0; the notification's id. */
  async function broadcast(hub: string): Promise<string> {
    const rule = (await store.rules.get(hub, 'DefaultFullSharedAccessSignature'))!;
    const token = createSasToken('https://localhost/', 'DefaultFullSharedAccessSignature', rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
    const sent = await fetch(`${nodes[0]!.url}/${hub}/messages/?api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'all' },
      body: '{"aps":{"alert":"to everyone"}}',
    });
    assert.equal(sent.status, 201);
    return new URL(sent.headers.get('location')!).pathname.split('/').pop()!;
  }

  /** The delivery jobs of a notification a node holds now (a job's owner is `<pid>-<random>`). */
  async function heldBy(notificationId: string): Promise<Array<{ pid: number; payload: { targets: Array<{ r: string }> } }>> {
    const { rows } = await db.query<{ owner: string; payload: string }>("SELECT owner, payload FROM dispatch_jobs WHERE notification_id = $1 AND kind = 'deliver' AND owner IS NOT NULL", [notificationId]);
    return rows.map((r) => ({ pid: Number(r.owner.split('-')[0]), payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload }));
  }

  before(async () => {
    url = await postgres.createDatabase();
    const caDir = tempDir();
    dirs.push(caDir);
    const ca = await ensureDevCa(caDir, ['localhost', '127.0.0.1']);
    emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key }, clock: gate });
    const env = { HERALD_STORE: url, HERALD_ADMIN_KEY: ADMIN_KEY, HERALD_SECRET_KEY: randomBytes(32).toString('base64'), HERALD_TLS_MODE: 'off', HERALD_PNS_CA_FILE: ca.caCertPath, HERALD_LOG_LEVEL: 'warn' };
    // One job at a time per node, and leases that lapse within seconds of a node's death.
    const config = join(caDir, 'node.yaml');
    writeFileSync(config, 'dispatch:\n  concurrency: 1\n  leaseSeconds: 3\n');
    for (let i = 0; i < 3; i++) dirs.push(tempDir());
    // All three at once on the empty database.
    nodes = await Promise.all(dirs.slice(1).map((d) => startNode(d, env, config)));
    store = await openPostgresStore({ url });
    db = new pg.Client({ connectionString: url });
    await db.connect();
    admin = (node, method, path, body) =>
      fetch(`${nodes[node]!.url}/_admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  });
  after(async () => {
    gate.release();
    await db?.end();
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

  test('a broadcast accepted by one node is worked on by all three, reaches every device once, with exact counts, and completes', async () => {
    handles = await hubWithDevices('cluster', DEVICES);
    // Pushes are held at the emulator: no batch ends, so each node (one job at a time) takes one of the four.
    emu.core.faults.add({ latencyMs: 1 });
    const id = await broadcast('cluster');
    const workers = new Set<number>();
    await until(async () => {
      for (const j of await heldBy(id)) workers.add(j.pid);
      return workers.size === 3;
    }, 'all three nodes to hold a batch');
    emu.core.faults.clear();
    gate.release();
    await until(async () => (await store.dispatch.getNotification('cluster', id))?.endedAt !== undefined, 'the notification to complete');
    assert.deepEqual([...workers].sort(), nodes.map((n) => n.child.pid!).sort(), 'every node took a batch of the broadcast');
    const n = (await store.dispatch.getNotification('cluster', id))!;
    assert.equal(n.state, 'Completed');
    assert.deepEqual(n.counts, { apns: { Success: DEVICES } });
    const per = handles.map((h) => emu.core.deliveries.list(h).length);
    assert.deepEqual([...new Set(per)], [1], 'every device exactly once');
  });

  test('one node SIGKILLed mid-broadcast: every device reached, duplicates only within its batch, counts exact', async () => {
    const minted = await hubWithDevices('kill', KILL_DEVICES);
    emu.core.faults.add({ latencyMs: 1 });
    const id = await broadcast('kill');
    const victim = nodes[2]!;
    // Wait until the victim holds a batch (its pushes wait at the emulator), then kill it without warning.
    let held: Array<{ r: string }> = [];
    await until(async () => {
      const mine = (await heldBy(id)).filter((j) => j.pid === victim.child.pid);
      held = mine.flatMap((j) => j.payload.targets);
      return held.length > 0;
    }, 'the victim to hold a batch');
    victim.child.kill('SIGKILL');
    await victim.exit;
    emu.core.faults.clear();
    gate.release();
    await until(async () => (await store.dispatch.getNotification('kill', id))?.endedAt !== undefined, 'the notification to complete after the lease lapsed');

    const n = (await store.dispatch.getNotification('kill', id))!;
    assert.equal(n.state, 'Completed');
    assert.deepEqual(n.counts, { apns: { Success: KILL_DEVICES } }, 'the dead node\'s batch counted once, by the node that finished it');
    const inVictimBatch = new Set(held.map((t) => minted[Number(t.r.slice(1))]!));
    const per = minted.map((h) => ({ h, times: emu.core.deliveries.list(h).length }));
    assert.deepEqual(per.filter((p) => p.times === 0), [], 'every device reached at least once');
    const twice = per.filter((p) => p.times > 1);
    assert.deepEqual(twice.filter((p) => !inVictimBatch.has(p.h)), [], 'duplicates only within the dead node\'s in-flight batch');
    assert.ok(twice.every((p) => p.times === 2), 'redelivered once at most');
  });
});
