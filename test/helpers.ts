/** Shared by the end-to-end tests: a real Herald on port 0 with a temporary data directory. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request as httpsRequest } from 'node:https';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startHerald, type RunningHerald } from '../src/main.ts';
import { ManualClock, systemClock, type Clock } from '../src/shared/clock.ts';

/** Every temporary directory this test process made; removed when it exits, whatever happened. */
const madeDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary directory, removed when the test process exits (or earlier with `removeTempDir`). */
export function tempDir(prefix = 'herald-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  madeDirs.delete(dir);
}

export interface TestHerald extends RunningHerald {
  /** Every JSON log line written so far. */
  logLines: Record<string, unknown>[];
  /** The hub's clock: a ManualClock when the test passed one, which the test moves by hand. */
  clock: Clock;
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /**
   * Waits until no send job is running and none is due within `horizonMs` (default a second) of the hub's
   * clock. On a ManualClock it moves virtual time to each job that falls due within that horizon (a retry
   * after Retry-After and backoff), so no test waits for real time to pass.
   */
  settle(opts?: { horizonMs?: number }): Promise<void>;
}

/**
 * A Herald on port 0 with a temporary data directory, which `close()` removes. With `clock`, every
 * timer of the hub (scheduled sends, retries, leases, request timeouts, expiry) runs on it.
 */
export async function startTestHerald(flags: Record<string, unknown> = {}, options: { clock?: ManualClock } = {}): Promise<TestHerald> {
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  const ownDir = flags['data.dir'] === undefined ? tempDir() : undefined;
  const config = loadConfig({
    flags: { 'data.dir': ownDir, 'server.port': 0, 'server.tlsPort': 0, sandbox: true, ...flags },
  });
  const clock = options.clock ?? systemClock;
  const herald = await startHerald(config, { logger: createLogger('info', sink), clock });
  const close = herald.close;
  return Object.assign(herald, {
    logLines,
    clock,
    async close() {
      await close();
      if (ownDir) removeTempDir(ownDir);
    },
    async settle(opts: { horizonMs?: number } = {}) {
      const horizon = opts.horizonMs ?? 1000;
      if (!(clock instanceof ManualClock)) return herald.worker.idle({ withinMs: horizon });
      for (;;) {
        await herald.worker.idle({ withinMs: 0 });
        const next = await herald.worker.nextRunAt();
        if (next === undefined || next > clock.now() + horizon) return;
        await clock.advanceAsync(Math.max(0, next - clock.now()));
      }
    },
    async admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(`${herald.adminUrl}/_admin/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${herald.adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
  });
}

/** Parses `Endpoint=...;SharedAccessKeyName=...;SharedAccessKey=...` as the JS client does (§1.1). */
export function parseConnectionString(cs: string): { endpoint: string; keyName: string; key: string } {
  const parts = new Map(
    cs.split(';').filter(Boolean).map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  return { endpoint: parts.get('Endpoint')!, keyName: parts.get('SharedAccessKeyName')!, key: parts.get('SharedAccessKey')! };
}

/**
 * The official client on plain HTTP: wire spec §1.2 says it needs this per-call policy (test plan T34);
 * the HTTPS path with NODE_EXTRA_CA_CERTS is covered by test/azure-auth.test.ts in a child process.
 */
export const allowHttpPolicy = {
  additionalPolicies: [
    {
      position: 'perCall' as const,
      policy: {
        name: 'allowHttp',
        sendRequest: (req: { allowInsecureConnection?: boolean }, next: (r: unknown) => Promise<unknown>) => {
          req.allowInsecureConnection = true;
          return next(req);
        },
      },
    },
  ],
};

/** A connection string of this hub that points the client at its plain-HTTP port. */
export async function httpConnectionString(h: RunningHerald, rule: 'full' | 'listen' = 'full'): Promise<string> {
  return (await h.connectionStrings('sandbox'))[rule].replace(/Endpoint=sb:\/\/[^/]+\//, `Endpoint=${h.httpUrl}/`);
}

/** A JSON call to an emulator's control plane, trusting the development CA. */
export function emulatorCall(h: RunningHerald, platform: 'apns' | 'fcmv1' | 'wns' | 'browser' | 'adm', path: string, method = 'GET', body?: unknown): Promise<any> {
  const ca = readFileSync(h.caCertPath!, 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${h.emulatorUrls![platform]}${path}`, { method, ca, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve(text ? JSON.parse(text) : undefined) : reject(new Error(`${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
