/** Starts bench/fixtures/herald-server.ts as a child process and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerSample } from './fixtures/herald-server.ts';

export type { ServerSample };

const root = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  httpUrl: string;
  adminKey: string;
  connectionStrings?: { full: string; listen: string };
  /** The sandbox emulators' base URLs, by platform. */
  emulators: Record<string, string> | null;
  sample(): Promise<ServerSample>;
  /** Restarts the server's run-long event-loop delay histogram. */
  resetTotal(): Promise<void>;
  /** Writes a heap snapshot in the server process; resolves to its path. */
  snapshot(path: string): Promise<string>;
  stop(): Promise<void>;
}

export function startServerProcess(dataDir: string, opts: { sandbox?: boolean; caFile?: string; logLevel?: string; exposeGc?: boolean; logFile?: string } = {}): Promise<ServerProcess> {
  const args = [dataDir, ...(opts.sandbox ? ['--sandbox'] : []), ...(opts.caFile ? ['--ca', opts.caFile] : [])];
  const child = fork('bench/fixtures/herald-server.ts', args, {
    cwd: root,
    execArgv: ['--import', 'tsx', ...(opts.exposeGc ? ['--expose-gc'] : []), ...(process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean)],
    env: { ...process.env, HERALD_LOG_LEVEL: opts.logLevel ?? 'warn' },
    stdio: ['ignore', opts.logFile ? openSync(opts.logFile, 'a') : 'ignore', 'inherit', 'ipc'],
  });
  const waiting: Array<{ type: string; resolve: (m: any) => void }> = [];
  const ask = <T>(type: string, extra: object = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting.push({ type, resolve });
      child.send({ type, ...extra }, (err) => err && reject(err));
    });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the Herald server process exited ${code}`)));
    child.on('message', (m: any) => {
      if (m.type === 'ready') {
        resolve({
          child,
          httpUrl: m.httpUrl,
          adminKey: m.adminKey,
          connectionStrings: m.connectionStrings,
          emulators: m.emulators,
          sample: () => ask<ServerSample>('sample'),
          resetTotal: () => ask<unknown>('reset-total').then(() => undefined),
          snapshot: (path) => ask<{ path: string }>('snapshot', { path }).then((r) => r.path),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
        return;
      }
      const i = waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
    });
  });
}

export const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
