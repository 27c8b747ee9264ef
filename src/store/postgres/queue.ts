/**
 * The queue (queue/queue.ts) in PostgreSQL, on the store's pool: jobs live in dispatch_jobs beside the
 * notifications, so a job's completion commits with its results (dispatch-store.ts). Claims take several
 * jobs per statement with FOR UPDATE SKIP LOCKED (concurrent claimers never wait for or share a job).
 * Wake-ups: every transaction that enqueues sends NOTIFY on JOBS_CHANNEL (delivered on commit), and the
 * store LISTENs on one dedicated connection (pg-database.ts openPgListener).
 */
import type { PendingJob, Queue, QueuedJob } from '../../queue/queue.ts';
import { inTransaction, prepared, type PgPool, type PgQueryable } from './pg-database.ts';

export const JOBS_CHANNEL = 'herald_jobs';

/** In the enqueueing transaction: every node LISTENing is told when it commits (never before). */
export async function notifyEnqueued(db: PgQueryable): Promise<void> {
  await db.query(prepared(`SELECT pg_notify('${JOBS_CHANNEL}', '')`));
}

/**
 * Locks the job if `job.owner` still holds it, first in a completion's transaction: a reset or a cancel
 * waits for (or skips) it until the completion commits. False: the caller must write nothing.
 */
export async function lockOwnedJob(db: PgQueryable, job: QueuedJob): Promise<boolean> {
  const { rows } = await db.query(prepared('SELECT 1 FROM dispatch_jobs WHERE hub_key = $1 AND id = $2 AND owner = $3 FOR UPDATE'), [job.hub, job.id, job.owner]);
  return rows.length > 0;
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

export function postgresQueue(pool: PgPool, listeners: Set<() => void>): Queue {
  return {
    // One statement: pick runnable jobs hub by hub through each hub's (hub_key, run_at, id) index of unclaimed
    // jobs, skipping rows another claimer holds, lease them to `owner`, and start their notifications.
    claim: async (owner, now, limit, leaseMs) => {
      const { rows } = await pool.query<JobRow>(
        prepared(`WITH picked AS (
           SELECT j.hub_key, j.id FROM hubs h CROSS JOIN LATERAL (
             SELECT d.hub_key, d.id, d.run_at FROM dispatch_jobs d
             WHERE d.hub_key = h.name_key AND d.owner IS NULL AND d.run_at <= $1
             ORDER BY d.run_at, d.id LIMIT $2 FOR UPDATE SKIP LOCKED) j
           ORDER BY j.run_at, j.id LIMIT $2),
         claimed AS (
           UPDATE dispatch_jobs d SET owner = $4, leased_until = $1 + $3
           FROM picked p WHERE d.hub_key = p.hub_key AND d.id = p.id
           RETURNING d.id, d.hub_key, d.notification_id, d.kind, d.payload, d.attempt, d.run_at),
         started AS (
           -- The first job of a notification to run (a plan, or a direct send's batch) starts it.
           UPDATE notifications n SET state = 'Processing', started_at = coalesce(n.started_at, $1)
           FROM (SELECT DISTINCT hub_key, notification_id FROM claimed) c
           WHERE n.hub_key = c.hub_key AND n.id = c.notification_id AND n.state IN ('Enqueued', 'Scheduled'))
         SELECT * FROM claimed ORDER BY run_at, id`),
        [now, limit, leaseMs, owner],
      );
      return rows.map(
        (r) =>
          ({
            id: r.id,
            hub: r.hub_key,
            notificationId: r.notification_id,
            kind: r.kind,
            payload: JSON.parse(r.payload),
            attempt: r.attempt,
            runAt: r.run_at,
            owner,
            leasedUntil: now + leaseMs,
          }) as QueuedJob,
      );
    },
    // A lease only moves forward: a renewal that reaches the server after a later one cannot shorten it.
    extend: async (job, until) =>
      ((await pool.query(prepared('UPDATE dispatch_jobs SET leased_until = greatest(leased_until, $4) WHERE hub_key = $1 AND id = $2 AND owner = $3'), [job.hub, job.id, job.owner, until])).rowCount ?? 0) > 0,
    // Hub by hub through each hub's (hub_key, leased_until) index of claimed jobs; a job a completion holds
    // locked is skipped (it is being completed by its owner). Taken-back jobs wake every node.
    resetLapsed: (now) =>
      inTransaction(pool, async (db) => {
        const { rowCount } = await db.query(
          prepared(`UPDATE dispatch_jobs d SET owner = NULL, leased_until = NULL, attempt = d.attempt + 1
           FROM (SELECT l.hub_key, l.id FROM hubs h CROSS JOIN LATERAL (
                   SELECT hub_key, id FROM dispatch_jobs WHERE hub_key = h.name_key AND owner IS NOT NULL AND leased_until < $1 FOR UPDATE SKIP LOCKED) l) x
           WHERE d.hub_key = x.hub_key AND d.id = x.id`),
          [now],
        );
        if ((rowCount ?? 0) > 0) await notifyEnqueued(db);
        return rowCount ?? 0;
      }),
    nextRunAt: async () => {
      const { rows } = await pool.query<{ t: number | null }>(
        prepared(`SELECT min(t) AS t FROM hubs h CROSS JOIN LATERAL (
           SELECT min(run_at) AS t FROM dispatch_jobs WHERE hub_key = h.name_key AND owner IS NULL) j`),
      );
      return rows[0]?.t ?? undefined;
    },
    pendingOf: async (hub, notificationId, limit) => {
      const { rows } = await pool.query<JobRow & { owner: string | null }>(
        prepared('SELECT kind, payload, attempt, run_at, owner FROM dispatch_jobs WHERE hub_key = $1 AND notification_id = $2 ORDER BY run_at, id LIMIT $3'),
        [hub.toLowerCase(), notificationId, limit],
      );
      return rows.map((r) => ({ kind: r.kind, payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload, attempt: r.attempt, runAt: Number(r.run_at), running: r.owner !== null }) as PendingJob);
    },
    depth: async (now) => {
      const { rows } = await pool.query<{ n: string; t: string | number | null }>(
        prepared('SELECT count(*) AS n, min(run_at) FILTER (WHERE owner IS NULL AND run_at <= $1) AS t FROM dispatch_jobs'),
        [now],
      );
      const t = rows[0]?.t;
      return { jobs: Number(rows[0]?.n ?? 0), oldestRunnableAt: t === null || t === undefined ? undefined : Number(t) };
    },
    onEnqueue: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
