/**
 * `npm run bench -- soak`: mixed load on one hub at a fixed rate for a long time (issue 10, "Under load
 * for a long time"), the server and the APNs emulator each in their own process, loopback only. The mix:
 * installation writes (PUT, PATCH, DELETE), sends to tags, reads and listings, and hostile requests from
 * bench/fuzz.bench.ts's mutator (malformed XML and JSON, huge headers, bad SAS, bad filters, oversized
 * bodies), at most a fifth of the load. Every window it samples the server's RSS, heap and event-loop
 * delay (perf_hooks in the server process) and counts answers by status class.
 *
 * Goals, judged after the warm-up (the first quarter of the run, at most 5 minutes): RSS flat (under 10%
 * above the RSS at the end of the warm-up, the baseline measured in the same run), event-loop delay p99
 * under 50 ms, and no 5xx at all. Options: `--minutes=N` or SOAK_MINUTES (default 20), SOAK_RATE
 * requests per second (default 40), SOAK_CONCURRENCY (default 16). Never run as a test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSasToken } from '../src/auth/sas.ts';
import { keyOf, Mutator, sendRequest, type FuzzRequest } from './fuzz.bench.ts';
import { mb, startServerProcess, type ServerSample } from './server-process.ts';
import { table } from './table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const argMinutes = process.argv.find((a) => a.startsWith('--minutes='))?.split('=')[1];
const MINUTES = Number(argMinutes ?? process.env.SOAK_MINUTES ?? 20);
const RATE = Number(process.env.SOAK_RATE ?? 40);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 16);
const DEVICES = 2000;
const TOPIC = 'com.example.app';
const HUB = 'soak';

function startEmulator(dir: string, devices: number): Promise<{ child: ChildProcess; url: string; ca: string }> {
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

type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'none';
const classOf = (status: number): StatusClass => (status === 0 ? 'none' : (`${Math.floor(status / 100)}xx` as StatusClass));

interface Window {
  atSeconds: number;
  sample: ServerSample;
  counts: Record<StatusClass, number>;
  hostile: number;
  /** Requests the generator could not start on time (all CONCURRENCY in flight). */
  skipped: number;
}

export async function soakBench(): Promise<void> {
  const durationMs = MINUTES * 60_000;
  const warmupMs = Math.min(5 * 60_000, durationMs / 4);
  // About 40 rows whatever the length, at least 5 s apart.
  const windowMs = Math.max(5_000, Math.round(durationMs / 40 / 1000) * 1000);
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-soak-'));
  console.log(`soak: ${MINUTES} min at ${RATE} requests/s (at most ${CONCURRENCY} in flight), warm-up ${(warmupMs / 60_000).toFixed(1)} min, a row every ${windowMs / 1000} s`);
  const emu = await startEmulator(dir, DEVICES);
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emu.ca);
  const minted = JSON.parse(readFileSync(join(dir, 'minted.json'), 'utf8')) as { credentials: { keyId: string; teamId: string; key: string }; handles: string[] };
  const server = await startServerProcess(join(dir, 'data'), { caFile, logLevel: process.env.HERALD_LOG_LEVEL ?? 'warn' });
  try {
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.httpUrl}/_admin/v1${path}`, { method, headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    const created = await admin('POST', '/hubs', { name: HUB });
    await admin('PUT', `/hubs/${HUB}/credentials/apns`, { auth: 'token', ...minted.credentials, bundleId: TOPIC, environment: 'development', endpoint: emu.url });
    const keys = { full: keyOf(created.connectionStrings.full), listen: keyOf(created.connectionStrings.listen) };
    const se = Math.floor(Date.now() / 1000) + durationMs / 1000 + 3600;
    const fullAuth = createSasToken(`${server.httpUrl}/`, 'DefaultFullSharedAccessSignature', keys.full, se);
    const hostile = new Mutator(7, HUB, keys, server.httpUrl, { wns: emu.url, browser: emu.url });

    let n = 0;
    const installation = (i: number) => ({
      installationId: `soak-${i}`,
      platform: 'apns',
      pushChannel: minted.handles[i % DEVICES]!,
      tags: [`group_${i % 20}`, `lang_${i % 3 === 0 ? 'fr' : 'en'}`],
      userId: `user${i % 500}`,
      templates: { alert: { body: '{"aps":{"alert":"$(message)"}}', tags: ['alerts'] } },
    });
    const json = (method: string, path: string, body: unknown, type = 'application/json'): FuzzRequest => ({ method, path, headers: { authorization: fullAuth, 'content-type': type }, body: JSON.stringify(body) });
    const get = (path: string): FuzzRequest => ({ method: 'GET', path, headers: { authorization: fullAuth } });
    /** One request of the mix; `hostile` tells whether it came from the mutator. */
    const next = (): { r: FuzzRequest; hostile: boolean } => {
      const k = n++ % 20;
      const i = (n * 7919) % DEVICES;
      const q = '?api-version=2020-06';
      switch (k) {
        case 0: case 1: case 2: case 3: case 4: case 5: case 15:
          return { r: json('PUT', `/${HUB}/installations/soak-${i}${q}`, installation(i)), hostile: false };
        case 6:
          return { r: json('PATCH', `/${HUB}/installations/soak-${i}${q}`, [{ op: 'add', path: '/tags', value: `seen_${n % 50}` }], 'application/json-patch+json'), hostile: false };
        case 7:
          return { r: { method: 'DELETE', path: `/${HUB}/installations/soak-${i}${q}`, headers: { authorization: fullAuth } }, hostile: false };
        case 8: case 9: {
          const tags = k === 8 ? `$UserId:{user${i % 500}}` : `group_${i % 20} && lang_fr`;
          return { r: { method: 'POST', path: `/${HUB}/messages/${q}`, headers: { authorization: fullAuth, 'content-type': 'application/json;charset=utf-8', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': tags, 'apns-push-type': 'alert' }, body: JSON.stringify({ aps: { alert: `soak ${n}` } }) }, hostile: false };
        }
        case 10: case 11:
          return { r: get(`/${HUB}/installations/soak-${i}${q}`), hostile: false };
        case 12:
          return { r: get(`/${HUB}/tags/group_${i % 20}/registrations${q}&$top=50`), hostile: false };
        case 13:
          return { r: get(`/${HUB}/registrations/${q}&$top=100`), hostile: false };
        case 14:
          return { r: get(`/${HUB}/registrations/${q}&$filter=${encodeURIComponent(`DeviceToken eq '${minted.handles[i]!.toUpperCase()}'`)}`), hostile: false };
        default:
          return { r: hostile.nextSendable(), hostile: true };
      }
    };

    const windows: Window[] = [];
    let counts: Record<StatusClass, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
    let hostileCount = 0;
    let skipped = 0;
    let inFlight = 0;
    const fiveXx: string[] = [];
    const t0 = performance.now();
    let warmedUp = false;
    let baseline: number | undefined;
    const intervalMs = 1000 / RATE;
    let due = 0;
    let nextWindow = windowMs;
    while (performance.now() - t0 < durationMs) {
      const elapsed = performance.now() - t0;
      // Fixed rate: start every request that is due; one that finds all slots busy is skipped, not queued.
      while (due <= elapsed) {
        due += intervalMs;
        if (inFlight >= CONCURRENCY) {
          skipped++;
          continue;
        }
        const { r, hostile: h } = next();
        if (h) hostileCount++;
        inFlight++;
        void sendRequest(server.httpUrl, r).then((status) => {
          inFlight--;
          counts[classOf(status)]++;
          if (status >= 500 && fiveXx.length < 20) fiveXx.push(`${status} ${r.method} ${r.path.slice(0, 120)}`);
        });
      }
      if (elapsed >= nextWindow) {
        nextWindow += windowMs;
        const sample = await server.sample();
        windows.push({ atSeconds: Math.round(elapsed / 1000), sample, counts, hostile: hostileCount, skipped });
        counts = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 };
        hostileCount = 0;
        skipped = 0;
        if (!warmedUp && elapsed >= warmupMs) {
          warmedUp = true;
          baseline = sample.rss;
          await server.resetTotal();
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(due, nextWindow) - (performance.now() - t0))));
    }
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    const last = await server.sample();

    const clock = (s: number) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    const baselineIndex = windows.findIndex((w) => w.sample.rss === baseline);
    const rows = windows.map((w, i) => [
      `${clock(w.atSeconds)}${i === baselineIndex ? ' (baseline)' : ''}`,
      mb(w.sample.rss),
      baseline === undefined ? '' : (w.sample.rss / baseline).toFixed(3),
      mb(w.sample.heapUsed),
      w.sample.eldP99.toFixed(1),
      w.sample.eldMax.toFixed(0),
      String(w.counts['2xx']),
      String(w.counts['4xx']),
      String(w.counts['5xx']),
      String(w.counts.none),
      String(w.hostile),
      String(w.skipped),
    ]);
    console.log(`\nSoak: ${MINUTES} min of mixed load on one hub at ${RATE}/s (server and APNs emulator in their own processes); a row per ${windowMs / 1000} s window`);
    console.log(table(['at m:ss', 'RSS MiB', 'RSS / baseline', 'heap used MiB', 'ELD p99 ms', 'ELD max ms', '2xx', '4xx', '5xx', 'no answer', 'hostile', 'skipped (generator)'], rows));

    const after = windows.filter((w) => baseline !== undefined && w.atSeconds * 1000 > warmupMs);
    const peak = Math.max(...after.map((w) => w.sample.rss), last.rss);
    const growth = baseline ? peak / baseline - 1 : NaN;
    const total5xx = windows.reduce((s, w) => s + w.counts['5xx'], 0);
    const totalNone = windows.reduce((s, w) => s + w.counts.none, 0);
    const worstWindow = Math.max(...after.map((w) => w.sample.eldP99));
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    console.log(`\nVerdict (after the ${(warmupMs / 60_000).toFixed(1)}-minute warm-up; baseline RSS ${baseline ? mb(baseline) : '?'} MiB at its end, same run):`);
    console.log(table(['goal', 'measured', 'verdict'], [
      ['RSS flat: growth under 10% after warm-up', `peak ${mb(peak)} MiB = ${(growth * 100).toFixed(1)}% over the baseline (end ${mb(last.rss)} MiB)`, verdict(growth < 0.1)],
      ['event-loop delay p99 under 50 ms', `${last.eldP99Total.toFixed(1)} ms over the run after warm-up (worst window ${worstWindow.toFixed(1)} ms)`, verdict(last.eldP99Total < 50)],
      ['no 5xx', `${total5xx} (and ${totalNone} requests without an answer)`, verdict(total5xx === 0)],
    ]));
    if (fiveXx.length > 0) console.log(`5xx answers:\n  ${fiveXx.join('\n  ')}`);
  } finally {
    await server.stop();
    emu.child.stdin?.end();
    emu.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
