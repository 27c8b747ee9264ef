/**
 * The send pipeline against the APNs emulator (issue 5, "npm run bench"), each beside a baseline
 * measured in the same run:
 *  (a) a broadcast to N registrations: from the send call to the emulator's last acknowledgement,
 *      against @parse/node-apn sending N notifications to the same devices;
 *  (b) a targeted send to one user's devices while the registry holds N registrations: p50 and p99 from
 *      the API call to the emulator's receipt, against node-apn sending to those devices directly;
 *  (c) resolving a 6-tag expression over N registrations, against listing all N.
 * N is BENCH_DEVICES (default 20,000); `npm run bench -- dispatch --full` uses 1,000,000.
 * BENCH_CONCURRENCY sets dispatch.concurrency (default 4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import apn from '@parse/node-apn';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startHerald } from '../src/main.ts';
import { createSasToken } from '../src/auth/sas.ts';
import { parseTagExpression } from '../src/tags/index.ts';
import { table } from './table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const FULL = process.argv.includes('--full');
const N = FULL ? 1_000_000 : Number(process.env.BENCH_DEVICES ?? 20_000);
const TOPIC = 'com.example.app';

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

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function dispatchBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-dispatch-'));
  console.log(`minting ${N} APNs devices in the emulator (its own process)...`);
  const emu = await startEmulator(dir, N);
  const minted = JSON.parse(readFileSync(join(dir, 'minted.json'), 'utf8')) as { credentials: { keyId: string; teamId: string; key: string }; handles: string[] };
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emu.ca);
  const herald = await startHerald(loadConfig({ flags: { 'data.dir': join(dir, 'data'), 'server.port': 0, 'server.tlsPort': 0, 'pns.caFile': caFile, 'dispatch.concurrency': Number(process.env.BENCH_CONCURRENCY ?? 4) } }), { logger: createLogger('warn') });
  const rows: string[][] = [];
  try {
    const { hub } = await herald.hubs.createHub('bench');
    await herald.hubs.setCredentials('bench', 'apns', { auth: 'token', ...minted.credentials, bundleId: TOPIC, environment: 'development', endpoint: emu.url });
    // Users of 2 devices each; tags give the 6-tag expression of (c) something to select.
    console.log(`registering ${N} devices...`);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < N) {
          const i = next++;
          await herald.registry.upsertRegistration(hub, `r${i}`, {
            kind: 'Apple',
            handle: { platform: 'apns', value: minted.handles[i]!.toUpperCase() },
            tags: [`UserId:${i >> 1}`, `g${i % 10}`, `h${i % 7}`, ...(i % 3 === 0 ? ['vip'] : [])],
          });
        }
      }),
    );
    console.log(`registered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const rule = await herald.hubs.getRule('bench', 'DefaultFullSharedAccessSignature');
    const auth = createSasToken(`${herald.httpUrl}/`, rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 7200);
    const send = (tags: string | undefined, body: string) =>
      fetch(`${herald.httpUrl}/bench/messages/?api-version=2020-06`, {
        method: 'POST',
        headers: { authorization: auth, 'ServiceBusNotification-Format': 'apple', 'content-type': 'application/json;charset=utf-8', 'apns-push-type': 'alert', ...(tags ? { 'ServiceBusNotification-Tags': tags } : {}) },
        body,
      }).then((r) => new URL(r.headers.get('location')!).pathname.split('/')[3]!);
    const done = async (id: string) => {
      for (;;) {
        const n = await herald.sends.get(hub, id);
        if (['Completed', 'Abandoned', 'NoTargetFound'].includes(n.state)) return n;
        await new Promise((r) => setTimeout(r, 2));
      }
    };

    // (a) then (b) for Herald before node-apn's broadcast: the baseline runs in this process too, and the
    // garbage of a million node-apn sends must not land in the middle of Herald's latencies.
    const provider = new apn.Provider({ token: minted.credentials, address: '127.0.0.1', port: Number(new URL(emu.url).port), ca: emu.ca, production: false } as unknown as apn.ProviderOptions);
    const note = new apn.Notification();
    note.alert = 'broadcast';
    note.topic = TOPIC;
    // (a) broadcast: Herald now, node-apn to the same devices after (b).
    const tb = performance.now();
    const n = await done(await send(undefined, JSON.stringify({ aps: { alert: 'broadcast' } })));
    const heraldSeconds = (performance.now() - tb) / 1000;
    const success = n.counts.apns?.Success ?? 0;
    // (b) one user's two devices: API call → the emulator's last receipt (state Completed once both are acknowledged).
    const heraldLat: number[] = [];
    const apnLat: number[] = [];
    for (let k = 0; k < 200; k++) {
      const user = (k * 7919) % (N >> 1);
      const t = performance.now();
      await done(await send(`UserId:${user}`, JSON.stringify({ aps: { alert: `to user ${user}` } })));
      heraldLat.push(performance.now() - t);
      const u = performance.now();
      await provider.send(note, [minted.handles[2 * user]!, minted.handles[2 * user + 1]!]);
      apnLat.push(performance.now() - u);
    }
    const bRow = [`(b) one user among ${N}`, `p50 ${pct(apnLat, 50).toFixed(1)} ms, p99 ${pct(apnLat, 99).toFixed(1)} ms (direct, no registry)`, `p50 ${pct(heraldLat, 50).toFixed(1)} ms, p99 ${pct(heraldLat, 99).toFixed(1)} ms`, ''];

    let apnOk = 0;
    const ta = performance.now();
    for (let i = 0; i < N; i += 2000) apnOk += (await provider.send(note, minted.handles.slice(i, i + 2000))).sent.length;
    const apnSeconds = (performance.now() - ta) / 1000;
    rows.push([`(a) broadcast to ${N}`, `${apnSeconds.toFixed(1)} s, ${(apnOk / apnSeconds).toFixed(0)}/s (${apnOk} ok)`, `${heraldSeconds.toFixed(1)} s, ${(success / heraldSeconds).toFixed(0)}/s (${success} ok)`, `${(apnSeconds / heraldSeconds).toFixed(2)}x faster`], bRow);

    await provider.shutdown();

    // (c) resolving a 6-tag expression, page by page as the planner does, against listing everything.
    const expr = parseTagExpression('(g1 || g2 || g3) && (h1 || h2) && !vip').ast;
    const resolve = async (filter: object) => {
      const t = performance.now();
      let count = 0;
      let token: string | undefined;
      do {
        const page = await herald.registry.listRegistrations(hub, JSON.stringify(filter), filter, { top: '1000', continuationToken: token ?? null });
        count += page.items.length;
        token = page.continuationToken;
      } while (token);
      return { ms: performance.now() - t, count };
    };
    const all = await resolve({});
    const six = await resolve({ tagExpression: expr });
    rows.push([`(c) 6-tag expression over ${N}`, `list all: ${all.ms.toFixed(0)} ms (${all.count})`, `expression: ${six.ms.toFixed(0)} ms (${six.count} match)`, `${(all.ms / six.ms).toFixed(2)}x`]);
  } finally {
    await herald.close();
    emu.child.stdin?.end();
    emu.child.kill('SIGTERM');
  }
  console.log(`\nSend pipeline against the APNs emulator (${N} devices; emulator in its own process)`);
  console.log(table(['measure', 'baseline (same run)', 'Herald', 'ratio'], rows));
}
