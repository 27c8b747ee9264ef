/**
 * The queue (queue/queue.ts) in SQLite, on the store's connection: jobs live in dispatch_jobs beside the
 * notifications, so a job's completion commits with its results (dispatch-store.ts). Wake-ups are
 * in-process: the processes sharing one file (tests, a CLI beside the server) find each other's jobs by the
 * worker's timer for the next run_at and its slow safety poll.
 */
import type { PendingJob, Queue, QueuedJob } from '../../queue/queue.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/** Listeners told after jobs were enqueued (and committed) in this process. */
export class EnqueueSignal {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

interface JobRow {
  id: number;
  hub_key: string;
  notification_id: string;
  kind: QueuedJob['kind'];
  payload: string;
  attempt: number;
  run_at: number;
}

/** The job as stored, if `owner` holds it: what a completion checks in its own transaction. */
export function ownedJob(db: SqliteDatabase): (id: number, owner: string) => boolean {
  const select = db.prepare('SELECT 1 FROM dispatch_jobs WHERE id = ? AND owner = ?');
  return (id, owner) => select.get(id, owner) !== undefined;
}

export function sqliteQueue(db: SqliteDatabase, signal: EnqueueSignal): Queue {
  const runnable = db.prepare(
    'SELECT id, hub_key, notification_id, kind, payload, attempt, run_at FROM dispatch_jobs WHERE owner IS NULL AND run_at <= ? ORDER BY run_at, id LIMIT ?',
  );
  const lease = db.prepare('UPDATE dispatch_jobs SET owner = ?, leased_until = ? WHERE id = ? AND owner IS NULL');
  const started = db.prepare(
    "UPDATE notifications SET state = 'Processing', started_at = coalesce(started_at, ?) WHERE hub_key = ? AND id = ? AND state IN ('Enqueued', 'Scheduled')",
  );
  // A lease only moves forward: a renewal that lands after a later one cannot shorten it.
  const extend = db.prepare('UPDATE dispatch_jobs SET leased_until = max(leased_until, ?) WHERE id = ? AND owner = ?');
  const reset = db.prepare('UPDATE dispatch_jobs SET owner = NULL, leased_until = NULL, attempt = attempt + 1 WHERE owner IS NOT NULL AND leased_until < ?');
  const next = db.prepare('SELECT min(run_at) AS t FROM dispatch_jobs WHERE owner IS NULL');
  const pendingOf = db.prepare('SELECT kind, payload, attempt, run_at, owner FROM dispatch_jobs WHERE hub_key = ? AND notification_id = ? ORDER BY run_at, id LIMIT ?');
  const depth = db.prepare('SELECT count(*) AS n, min(CASE WHEN owner IS NULL AND run_at <= ? THEN run_at END) AS t FROM dispatch_jobs');

  const claim = db.transaction((owner: string, now: number, limit: number, leaseMs: number): QueuedJob[] => {
    const rows = runnable.all(now, limit) as JobRow[];
    return rows.map((r) => {
      lease.run(owner, now + leaseMs, r.id);
      // The first job of a notification to run (a plan, or a direct send's batch) starts it.
      started.run(now, r.hub_key, r.notification_id);
      return {
        id: r.id,
        hub: r.hub_key,
        notificationId: r.notification_id,
        kind: r.kind,
        payload: JSON.parse(r.payload),
        attempt: r.attempt,
        runAt: r.run_at,
        owner,
        leasedUntil: now + leaseMs,
      } as QueuedJob;
    });
  });

  return {
    // IMMEDIATE: the jobs are read and leased with the write lock held, whatever else has the file open.
    claim: async (owner, now, limit, leaseMs) => claim.immediate(owner, now, limit, leaseMs),
    extend: async (job, until) => extend.run(until, job.id, job.owner).changes > 0,
    resetLapsed: async (now) => reset.run(now).changes,
    nextRunAt: async () => (next.get() as { t: number | null }).t ?? undefined,
    pendingOf: async (hub, notificationId, limit) =>
      (pendingOf.all(hub.toLowerCase(), notificationId, limit) as Array<JobRow & { owner: string | null }>).map(
        (r) => ({ kind: r.kind, payload: JSON.parse(r.payload), attempt: r.attempt, runAt: r.run_at, running: r.owner !== null }) as PendingJob,
      ),
    depth: async (now) => {
      const r = depth.get(now) as { n: number; t: number | null };
      return { jobs: r.n, oldestRunnableAt: r.t ?? undefined };
    },
    onEnqueue: (listener) => signal.subscribe(listener),
  };
}
