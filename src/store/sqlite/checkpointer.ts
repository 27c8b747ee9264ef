/**
 * WAL checkpoints on a worker thread. SQLite checkpoints inside the commit that crosses
 * `wal_autocheckpoint`: on Herald's one event loop that commit stalls every request for as long as the
 * copy and its two fsyncs take (~100 ms for 32 MiB; the p99 of a one-user send over a million
 * registrations was 75-99 ms, one slow send in a hundred). Here a second connection runs PASSIVE
 * checkpoints every CHECKPOINT_EVERY_MS on its own thread: they never block a writer or a reader, and
 * the WAL is synced twice a second, so a power loss can undo at most about that much of the acknowledged
 * writes. The main connection keeps a large `wal_autocheckpoint` as a backstop, should this thread fall
 * behind or die.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_EVERY_MS = 500;
/** The main connection's own checkpoint mark, reached only when the worker does not keep up. */
export const BACKSTOP_PAGES = 50_000;

// Plain CommonJS evaluated in the worker: no loader or TypeScript needed there.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.postMessage({ stopped: true });
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, onError: (message: string) => void = () => undefined): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, everyMs: CHECKPOINT_EVERY_MS } });
  // The hub's process must be free to exit without stopping it first (tests, CLI).
  worker.unref();
  let stopped: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: { error?: string }) => {
    if (m.error) onError(m.error);
  });
  worker.on('error', (err) => onError(err.message));
  return {
    stop: () =>
      (stopped ??= (async () => {
        worker.postMessage('stop');
        const timeout = setTimeout(() => void worker.terminate(), 2000);
        await new Promise<void>((resolve) => {
          worker.once('message', () => resolve());
          void exited.then(resolve);
        });
        clearTimeout(timeout);
        await worker.terminate();
      })()),
  };
}
