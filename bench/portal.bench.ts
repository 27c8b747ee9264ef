/**
 * The portal's registry page over 1,000,000 registrations (issue 13 goal: under 300 ms, paged, counts
 * included), through HTTP on a real `herald serve` process: the page's query (a tag expression, a
 * platform filter, 20 rows and the total) beside the plain management-API list of the same page size,
 * the baseline, measured in the same run. BENCH_PORTAL_ROWS changes the number of registrations;
 * BENCH_PORTAL_DATA=dir keeps the seeded data directory there and reuses it on the next run (seeding a
 * million takes minutes). BENCH_PORTAL_PG=1 measures the same pages on the PostgreSQL store too (the
 * tests' throwaway server, test/postgres-server.ts: seeded again on every run).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { STORE_FILE } from '../src/config/data-dir.ts';
import { HubService } from '../src/hubs/hub-service.ts';
import { startHerald } from '../src/main.ts';
import type { Registration } from '../src/registry/model.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { createLogger } from '../src/shared/logger.ts';
import { SecretBox } from '../src/shared/secret-box.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store } from '../src/store/store.ts';
import { startPostgresServer } from '../test/postgres-server.ts';
import pg from 'pg';
import { table } from './table.ts';

const ROWS = Number(process.env.BENCH_PORTAL_ROWS ?? 1_000_000);
const RUNS = 30;
const GOAL_MS = 300;

function registration(i: number, now: number): Omit<Registration, 'etag' | 'createdAt'> {
  return {
    id: `${String(i).padStart(19, '0')}-0-0`,
    kind: i % 4 === 0 ? 'FcmV1' : 'Apple',
    handle: i % 4 === 0 ? { platform: 'fcmv1', value: `tok-${i}` } : { platform: 'apns', value: i.toString(16).toUpperCase().padStart(64, '0') },
    // A few tags every device has, one a tenth of them have, one per user (a thousand devices each).
    tags: ['news', i % 10 === 0 ? 'lang_fr' : 'lang_en', `user_${i % 1000}`, ...(i % 3 === 0 ? ['sports'] : [])],
    updatedAt: now,
  };
}

async function seed(store: Store): Promise<void> {
  const clock = new ManualClock(Date.now());
  const hubs = new HubService(store, new SecretBox(Buffer.alloc(32, 3)), clock);
  await hubs.createHub('bench');
  const started = performance.now();
  const BATCH = 2000;
  for (let from = 0; from < ROWS; from += BATCH) {
    const writes = Array.from({ length: Math.min(BATCH, ROWS - from) }, (_, k) => ({ reg: registration(from + k, clock.now()), condition: { now: clock.now() } }));
    const results = await store.registrations.upsertMany('bench', writes);
    const failed = results.find((r) => r instanceof Error);
    if (failed) throw failed;
  }
  console.log(`seeded ${ROWS} registrations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await store.close();
}

const ADMIN_KEY = 'bench-admin-key-0123456789-abcdefghijkl';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function portalBench(): Promise<void> {
  const kept = process.env.BENCH_PORTAL_DATA;
  const dataDir = kept ?? mkdtempSync(join(tmpdir(), 'herald-bench-portal-'));
  try {
    if (!kept || !existsSync(join(dataDir, STORE_FILE))) {
      mkdirSync(dataDir, { recursive: true });
      await seed(openSqliteStore({ path: join(dataDir, STORE_FILE) }));
    }
    await measure('SQLite', { 'data.dir': dataDir });
  } finally {
    if (!kept) rmSync(dataDir, { recursive: true, force: true });
  }
  if (process.env.BENCH_PORTAL_PG !== '1') return;
  const server = await startPostgresServer();
  const pgDir = mkdtempSync(join(tmpdir(), 'herald-bench-portal-pg-'));
  try {
    const url = await server.createDatabase();
    await seed(await openPostgresStore({ url }));
    // As autovacuum would leave a table that grew by a million rows: planner statistics and a visibility map.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('VACUUM (ANALYZE) registrations, registration_tags');
    await c.end();
    // A shared store takes the secret key from the configuration: the one the seed's hub was created with.
    await measure('PostgreSQL', { 'data.dir': pgDir, 'store.url': url, secretKey: Buffer.alloc(32, 3).toString('base64') });
  } finally {
    await server.stop();
    rmSync(pgDir, { recursive: true, force: true });
  }
}

async function measure(storeName: string, flags: Record<string, string>): Promise<void> {
  const herald = await startHerald(loadConfig({ flags: { ...flags, 'server.port': 0, sandbox: false, 'tls.mode': 'off', adminKey: ADMIN_KEY } }), {
    logger: createLogger('warn'),
  });
  try {
    const get = async (path: string) => {
      const t = performance.now();
      const res = await fetch(`${herald.adminUrl}/_admin/v1/hubs/bench${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      const body = (await res.json()) as { items: unknown[]; total?: number; continuationToken?: string };
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, body };
    };
    const cases: Array<[string, string]> = [
      ['baseline: plain list, 20 rows', '/registrations?top=20'],
      ['page: tag expression + count', `/registrations?top=20&count=true&tagExpression=${encodeURIComponent('news && lang_fr')}`],
      ['page: tag expression + platform + count', `/registrations?top=20&count=true&platform=fcmv1&tagExpression=${encodeURIComponent('sports || lang_fr')}`],
      ['page: tag expression (OR) + count', `/registrations?top=20&count=true&tagExpression=${encodeURIComponent('sports || lang_fr')}`],
      ['page: one user tag + count', `/registrations?top=20&count=true&tagExpression=user_42`],
      ['page: platform only + count', '/registrations?top=20&count=true&platform=fcmv1'],
      ['page: no filter + count', '/registrations?top=20&count=true'],
      ['page: second page (total kept from the first)', ''],
    ];
    const rows: string[][] = [];
    let baseline = NaN;
    for (const [name, path0] of cases) {
      let path = path0;
      if (path === '') {
        const first = await get(cases[1]![1]);
        // The portal counts with the first page only (src/portal/web/pages/registry.js).
        path = `${cases[1]![1].replace('&count=true', '')}&continuationToken=${encodeURIComponent(first.body.continuationToken!)}`;
      }
      await get(path); // warm the page cache and the statement cache
      const times: number[] = [];
      let total: number | undefined;
      for (let i = 0; i < RUNS; i++) {
        const r = await get(path);
        times.push(r.ms);
        total = r.body.total;
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      if (Number.isNaN(baseline)) baseline = p50;
      rows.push([name, String(total ?? ''), p50.toFixed(1), percentile(times, 95).toFixed(1), (p50 / baseline).toFixed(1), percentile(times, 95) < GOAL_MS ? 'yes' : 'NO']);
      console.log(`  measured: ${rows[rows.length - 1]!.join(' | ')}`);
    }
    console.log(`\nRegistry page over ${ROWS} registrations (${storeName}, HTTP, ${RUNS} runs each)`);
    console.log(table(['query', 'total', 'p50 ms', 'p95 ms', '× baseline p50', `p95 < ${GOAL_MS} ms`], rows));
  } finally {
    await herald.close();
  }
}
