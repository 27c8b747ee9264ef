/**
 * Sender throughput (issue items 3-4, "Done when" bench): Herald's APNs connector vs @parse/node-apn, and
 * its Web Push connector vs web-push, sending the same notifications in the same run to the same service
 * in a child process (its own event loop). Two services: the faithful emulator (which verifies every JWT
 * and, for Web Push, decrypts every message, so it is usually the bottleneck) and a sink that accepts
 * everything unchecked (the senders' own ceiling). Both senders warm up the same way (one push each, which
 * lifts the APNs emulator's initial one-stream limit, §2.1) and are fed the same way: chunks of 2,000
 * targets, four chunks in flight. Sender CPU is this process's CPU time per notification.
 * BENCH_SCALE (e.g. 0.1) shrinks the counts; each loop also stops at BENCH_MAX_SECONDS (default 240).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createECDH, randomBytes } from 'node:crypto';
import apn from '@parse/node-apn';
import { ApnsConnector } from '../src/pns/apns/apns-connector.ts';
import { endpointPolicy } from '../src/pns/endpoint-policy.ts';
import { WebPushConnector } from '../src/pns/webpush/webpush-connector.ts';
import { encryptAes128gcm } from '../src/pns/webpush/webpush-payload.ts';
import type { DeliveryOutcome } from '../src/pns/connector.ts';
import { table } from './table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const APNS_N = Math.max(100, Math.round(100_000 * SCALE));
const WEBPUSH_N = Math.max(100, Math.round(20_000 * SCALE));
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 240);
const CHUNK = 2000;
const IN_FLIGHT = 4;
const TOPIC = 'com.example.app';

interface WebPushLib {
  sendNotification(sub: { endpoint: string; keys: { p256dh: string; auth: string } }, payload: string, options: Record<string, unknown>): Promise<{ statusCode: number }>;
}
const webpush = createRequire(import.meta.url)('web-push') as WebPushLib;

interface Child {
  child: ChildProcess;
  url: string;
  ca: string;
}

function startChild(script: string, args: string[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { url: string; ca: string }) });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

function stop(c: Child): void {
  c.child.stdin?.end();
  c.child.kill('SIGTERM');
}

interface Run {
  ok: number;
  total: number;
  seconds: number;
  cpuUs: number;
}

/** Feeds `n` items in chunks, IN_FLIGHT chunks at a time, until done or MAX_SECONDS; counts successes. */
async function drive(n: number, sendChunk: (from: number, to: number) => Promise<number>): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n && performance.now() - t0 < MAX_SECONDS * 1000) {
        const from = next;
        const to = Math.min(n, from + CHUNK);
        next = to;
        // Not `ok += await ...`: that reads `ok` before the await and loses the other chunks' counts.
        const accepted = await sendChunk(from, to);
        ok += accepted;
        total += to - from;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ok, total, seconds, cpuUs: cpu.user + cpu.system };
}

const countDelivered = (os: DeliveryOutcome[]): number => os.filter((o) => o.kind === 'delivered').length;

async function apnsPair(url: string, ca: string, creds: { keyId: string; teamId: string; key: string }, handles: string[]): Promise<[Run, Run]> {
  const credentials = { platform: 'apns' as const, auth: 'token' as const, endpoint: url, environment: 'development' as const, ...creds, bundleId: TOPIC };
  const payload = JSON.stringify({ aps: { alert: 'Hello from the bench' } });
  const herald = new ApnsConnector({ ca });
  const provider = new apn.Provider({ token: creds, address: '127.0.0.1', port: Number(new URL(url).port), ca } as unknown as apn.ProviderOptions);
  const note = new apn.Notification();
  note.alert = 'Hello from the bench';
  note.topic = TOPIC;
  try {
    await herald.send({ credentials, targets: [{ handle: handles[0]!, payload }] });
    await provider.send(note, handles[0]!);
    const h = await drive(handles.length, async (a, b) =>
      countDelivered(await herald.send({ credentials, targets: handles.slice(a, b).map((handle) => ({ handle, payload })) })),
    );
    const n = await drive(handles.length, async (a, b) => (await provider.send(note, handles.slice(a, b))).sent.length);
    return [h, n];
  } finally {
    await herald.close();
    await provider.shutdown();
  }
}

type Sub = { endpoint: string; keys: { p256dh: string; auth: string } };

async function webPushPair(ca: string, vapid: { publicKey: string; privateKey: string; subject: string }, subs: Sub[]): Promise<[Run, Run]> {
  const credentials = { platform: 'browser' as const, ...vapid };
  const payload = JSON.stringify({ title: 'Hello', body: 'from the bench' });
  // The emulator is on loopback: allow its origin, as sandbox mode does.
  const origins = [...new Set(subs.map((s) => new URL(s.endpoint).origin))];
  const herald = new WebPushConnector({ ca, endpoints: endpointPolicy({ allowedOrigins: () => origins }) });
  // web-push opens one HTTP/1.1 request per message; a keep-alive agent with 64 sockets is its best case.
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: 64 });
  const options = { vapidDetails: vapid, agent, TTL: 60 };
  const handles = subs.map((s) => JSON.stringify(s));
  try {
    await herald.send({ credentials, targets: [{ handle: handles[0]!, payload }] });
    await webpush.sendNotification(subs[0]!, payload, options);
    const h = await drive(subs.length, async (a, b) =>
      countDelivered(await herald.send({ credentials, targets: handles.slice(a, b).map((handle) => ({ handle, payload })) })),
    );
    const w = await drive(subs.length, async (a, b) => {
      const results = await Promise.allSettled(subs.slice(a, b).map((s) => webpush.sendNotification(s, payload, options)));
      return results.filter((r) => r.status === 'fulfilled' && r.value.statusCode === 201).length;
    });
    return [h, w];
  } finally {
    await herald.close();
    agent.destroy();
  }
}

function row(workload: string, sender: string, r: Run, base?: Run): string[] {
  const rate = r.ok / r.seconds;
  const cpu = r.cpuUs / Math.max(1, r.total);
  return [
    workload,
    sender,
    `${r.ok}/${r.total}`,
    r.seconds.toFixed(1),
    rate.toFixed(0),
    base ? `${(rate / (base.ok / base.seconds)).toFixed(2)}x` : '1.00x',
    cpu.toFixed(0),
    base ? `${(base.cpuUs / Math.max(1, base.total) / cpu).toFixed(2)}x` : '1.00x',
  ];
}

export async function pnsBench(): Promise<void> {
  const rows: string[][] = [];
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'herald-bench-pns-'));
    dirs.push(d);
    return d;
  };
  try {
    // APNs: emulator, then sink.
    const apnsDir = tmp();
    const apnsEmu = await startChild('bench/fixtures/pns-emulator.ts', ['apns', apnsDir, String(APNS_N)]);
    const apnsMinted = JSON.parse(readFileSync(join(apnsDir, 'minted.json'), 'utf8')) as { credentials: { keyId: string; teamId: string; key: string }; handles: string[] };
    const creds = { keyId: apnsMinted.credentials.keyId, teamId: apnsMinted.credentials.teamId, key: apnsMinted.credentials.key };
    try {
      const [h, n] = await apnsPair(apnsEmu.url, apnsEmu.ca, creds, apnsMinted.handles);
      rows.push(row(`APNs emulator, ${APNS_N}`, '@parse/node-apn', n), row('', 'Herald ApnsConnector', h, n));
    } finally {
      stop(apnsEmu);
    }
    const sink = await startChild('bench/fixtures/pns-sink.ts', [tmp()]);
    try {
      const [h, n] = await apnsPair(sink.url, sink.ca, creds, apnsMinted.handles);
      rows.push(row(`APNs sink, ${APNS_N}`, '@parse/node-apn', n), row('', 'Herald ApnsConnector', h, n));

      // Web Push: emulator, then the same subscriptions re-pointed at the sink.
      const wpDir = tmp();
      const wpEmu = await startChild('bench/fixtures/pns-emulator.ts', ['browser', wpDir, String(WEBPUSH_N)]);
      const wpMinted = JSON.parse(readFileSync(join(wpDir, 'minted.json'), 'utf8')) as { vapid: { publicKey: string; privateKey: string; subject: string }; subscriptions: Sub[] };
      try {
        const [h2, w] = await webPushPair(wpEmu.ca, wpMinted.vapid, wpMinted.subscriptions);
        rows.push(row(`Web Push emulator, ${WEBPUSH_N}`, 'web-push', w), row('', 'Herald WebPushConnector', h2, w));
      } finally {
        stop(wpEmu);
      }
      const sinkSubs = wpMinted.subscriptions.map((s) => ({ ...s, endpoint: sink.url + new URL(s.endpoint).pathname }));
      const [h3, w3] = await webPushPair(sink.ca, wpMinted.vapid, sinkSubs);
      rows.push(row(`Web Push sink, ${WEBPUSH_N}`, 'web-push', w3), row('', 'Herald WebPushConnector', h3, w3));
    } finally {
      stop(sink);
    }

    console.log(`\nPush senders, same notifications, same service in a child process (chunks of ${CHUNK}, ${IN_FLIGHT} in flight)`);
    console.log(table(['workload', 'sender', 'accepted', 'seconds', 'notif/s', 'rate ratio', 'sender CPU us/notif', 'CPU ratio'], rows));
    console.log(encryptionCost());
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** The floor of Web Push sending on this machine: RFC 8291 encryption alone, and its ECDH part. */
function encryptionCost(): string {
  const ua = createECDH('prime256v1');
  const uaPublic = ua.generateKeys();
  const auth = randomBytes(16);
  const plaintext = Buffer.from(JSON.stringify({ title: 'Hello', body: 'from the bench' }));
  const n = Math.max(200, Math.round(5000 * Math.min(1, SCALE * 5)));
  const time = (f: () => void): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - t0) * 1000) / n;
  };
  time(() => encryptAes128gcm(plaintext, uaPublic, auth));
  const full = time(() => encryptAes128gcm(plaintext, uaPublic, auth));
  const ecdh = time(() => {
    const e = createECDH('prime256v1');
    e.generateKeys();
    e.computeSecret(uaPublic);
  });
  return table(
    ['RFC 8291 aes128gcm, one message (loop of ' + n + ')', 'us', 'messages/s on one core'],
    [
      ['whole encryption (key pair + ECDH + HKDF + AES-GCM)', full.toFixed(1), (1e6 / full).toFixed(0)],
      ['of which key pair + ECDH', ecdh.toFixed(1), (1e6 / ecdh).toFixed(0)],
    ],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await pnsBench();
