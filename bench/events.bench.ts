/**
 * Events (issue 13), each beside a baseline measured in the same run, on an embedded (file, WAL) store:
 *  (a) SSE latency: from a delivery batch's outcomes committed (finishDelivery resolved) to its event parsed
 *      by a client of the SSE stream over loopback HTTP, p50/p99; baseline: a bare HTTP round trip on
 *      loopback. Goal: p99 within 100 ms.
 *  (b) webhook latency: from the event committed to the receiver on loopback holding the signed POST,
 *      p50/p99; baseline: a bare POST round trip. Goal: within 1 s.
 *  (c) a broadcast's step commits (N outcomes in batches of 1000, as the pipeline records them) with the
 *      events of the default hub (failures and state changes only), and with per-device success events,
 *      against the same commits without events. Goal: at most +5 % with the default events.
 * N is BENCH_DEVICES (default 20,000).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { STEP_RULES } from '../src/dispatch/step-rules.ts';
import { deliveryEvents } from '../src/events/model.ts';
import { EventStreams } from '../src/events/sse.ts';
import { WebhookWorker } from '../src/events/webhook-worker.ts';
import { WebhookService } from '../src/events/webhooks.ts';
import { systemClock } from '../src/shared/clock.ts';
import { createLogger } from '../src/shared/logger.ts';
import { SecretBox } from '../src/shared/secret-box.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { DeliveryResult, DeviceOutcomeRecord, Store } from '../src/store/store.ts';
import { table } from './table.ts';

const N = Number(process.env.BENCH_DEVICES ?? 20_000);
const SAMPLES = 200;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const ms = (x: number) => x.toFixed(2);

async function hub(store: Store, name: string): Promise<void> {
  await store.hubs.create({ name, settings: { registrationTtlSeconds: null }, createdAt: 1, updatedAt: 1 }, []);
}

/** One notification with one delivery job, claimed: what finishDelivery completes. */
async function claimedJob(store: Store, hubName: string, id: string) {
  await store.dispatch.createNotification({ hub: hubName, id, state: 'Enqueued', request: {}, counts: {}, targets: 0, enqueuedAt: Date.now() }, { kind: 'deliver', payload: { targets: [], retry: { acceptedAtMs: 0, attempts: 0 } }, runAt: 0 });
  const [job] = await store.queue.claim('bench', Date.now(), 1, 60_000);
  return job!;
}

function outcomes(n: number, failEvery: number): DeviceOutcomeRecord[] {
  return Array.from({ length: n }, (_, i) => ({ handle: `h${i}`, platform: 'apns', outcome: i % failEvery === 0 ? 'BadChannel' : 'Success', reason: 'r', attempts: 1, at: Date.now(), registrationId: `r${i}` }));
}

async function sseLatency(store: Store): Promise<number[]> {
  await hub(store, 'sse');
  const streams = new EventStreams(store.events, systemClock, { retentionMs: 3_600_000, maxBufferBytes: 1 << 20 });
  const server = createServer((_req, res) => void streams.prepare('sse', { types: ['notification.device_failed'] }).then((p) => streams.attach(p, res)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const nextEvent = async () => {
    for (;;) {
      const i = buffer.indexOf('event: notification.device_failed');
      const end = i >= 0 ? buffer.indexOf('\n\n', i) : -1;
      if (end >= 0) {
        buffer = buffer.slice(end + 2);
        return;
      }
      buffer += (await reader.read()).value ?? '';
    }
  };
  while (streams.open === 0) await new Promise((r) => setImmediate(r));
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const job = await claimedJob(store, 'sse', `n${i}`);
    const result: DeliveryResult = { outcomes: outcomes(1, 1), counts: { apns: { BadChannel: 1 } }, expired: [], now: Date.now() };
    result.events = deliveryEvents(`n${i}`, result, false);
    const got = nextEvent();
    await store.dispatch.finishDelivery(job, result, STEP_RULES);
    const stored = performance.now();
    await got;
    times.push(performance.now() - stored);
  }
  await reader.cancel();
  streams.close();
  server.closeAllConnections();
  server.close();
  return times;
}

async function roundTrips(method: 'GET' | 'POST'): Promise<number[]> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: '/' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{"x":1}' : undefined);
    });
    times.push(performance.now() - t);
  }
  server.close();
  return times;
}

async function webhookLatency(store: Store): Promise<number[]> {
  await hub(store, 'hooks');
  const box = new SecretBox(randomBytes(32));
  let arrived: () => void = () => undefined;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrived();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new WebhookService(store, systemClock, box, null).create('hooks', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, types: ['registration.deleted'] });
  const worker = new WebhookWorker(store, systemClock, box, createLogger('silent'), { nodeId: 'bench', policy: null });
  worker.start();
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const got = new Promise<void>((r) => (arrived = r));
    await store.events.append('hooks', [{ type: 'registration.deleted', time: Date.now(), data: { registrationId: `r${i}` } }]);
    const stored = performance.now();
    await got;
    times.push(performance.now() - stored);
  }
  await worker.stop();
  server.closeAllConnections();
  server.close();
  return times;
}

/** A broadcast's step commits: N outcomes, 1000 per batch, one in 100 a failure. */
async function broadcast(store: Store, hubName: string, events: 'none' | 'default' | 'successes'): Promise<number> {
  const batches = Math.ceil(N / 1000);
  const jobs = [];
  for (let b = 0; b < batches; b++) jobs.push(await claimedJob(store, hubName, `${hubName}-${b}`));
  const results = jobs.map(() => {
    const r: DeliveryResult = { outcomes: outcomes(1000, 100), counts: { apns: { Success: 990, BadChannel: 10 } }, expired: [], now: Date.now() };
    if (events !== 'none') r.events = deliveryEvents('n', r, events === 'successes');
    return r;
  });
  const t = performance.now();
  // As the worker does: a few batches commit at once (dispatch.concurrency 4).
  for (let b = 0; b < batches; b += 4) await Promise.all(jobs.slice(b, b + 4).map((job, i) => store.dispatch.finishDelivery(job, results[b + i]!, STEP_RULES)));
  return performance.now() - t;
}

export async function eventsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-events-'));
  const store = openSqliteStore({ path: join(dir, 'herald.db') });
  try {
    const sse = await sseLatency(store);
    const get = await roundTrips('GET');
    const hook = await webhookLatency(store);
    const post = await roundTrips('POST');
    console.log(
      table(
        ['latency (ms)', 'p50', 'p99', 'baseline', 'baseline p50', 'baseline p99', 'goal'],
        [
          ['outcome stored -> SSE event received', ms(pct(sse, 50)), ms(pct(sse, 99)), 'HTTP GET round trip', ms(pct(get, 50)), ms(pct(get, 99)), 'p99 <= 100'],
          ['event stored -> webhook POST received', ms(pct(hook, 50)), ms(pct(hook, 99)), 'HTTP POST round trip', ms(pct(post, 50)), ms(pct(post, 99)), '<= 1000'],
        ],
      ),
    );
    // Alternated runs (order swapped each round), the median of each: the machine's noise falls on both
    // alike. Success events write 100 times as many rows: measured after, so their WAL's checkpoints do not
    // land in the others' runs.
    const runs: Record<'none' | 'default' | 'successes', number[]> = { none: [], default: [], successes: [] };
    let round = 0;
    const measure = async (kind: 'none' | 'default' | 'successes') => {
      const name = `b-${kind}-${round++}`;
      await hub(store, name);
      runs[kind].push(await broadcast(store, name, kind));
    };
    for (let r = 0; r < 9; r++) for (const kind of r % 2 === 0 ? (['none', 'default'] as const) : (['default', 'none'] as const)) await measure(kind);
    for (let r = 0; r < 3; r++) await measure('successes');
    const median = (xs: number[]) => pct(xs, 50);
    const base = median(runs.none);
    console.log(
      table(
        [`broadcast step commits, ${N} outcomes`, 'median ms', 'vs no events'],
        (['none', 'default', 'successes'] as const).map((k) => [
          k === 'none' ? 'no events (baseline)' : k === 'default' ? 'default events (failures 1 %, state change)' : 'with a success event per device',
          ms(median(runs[k])),
          k === 'none' ? '1.00' : (median(runs[k]) / base).toFixed(3),
        ]),
      ),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
