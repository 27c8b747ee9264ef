/**
 * The job queue (design.md, "A send, from HTTP to the device"): durable jobs claimed by one node at a
 * time, graphile-worker's model. A claim records its owner (a node id, random per process) and a lease
 * (until when the job is the owner's); only the owner completes a job, and it does so in the same unit of
 * work as the job's results (the store's step commits: DispatchStore.finishPlanStep / finishDelivery),
 * so a node that lost its lease (it stalled past it, the reset took the job back and another node
 * claimed it) writes nothing. A running job extends its lease; a periodic reset takes lapsed leases back
 * (attempt + 1). Nothing is released wholesale at start-up: another node may be running those jobs.
 *
 * Where the adapters live: in the store adapters (store/sqlite/queue.ts, store/postgres/queue.ts), beside
 * the dispatch tables, sharing the store's connection. A job's completion must commit with its results,
 * which live in the store; a queue in a database of its own could not promise that (design.md, "Why not
 * Redis for the queue"). This file is the seam: nothing above the store sees a queue table.
 */

/**
 * Job kinds and their payloads. The queue stores payloads as JSON and knows no kind; dispatch/ declares
 * its kinds into this map (declaration merging, as graphile-worker's `GraphileWorker.Tasks`), so a claimed
 * job is a discriminated union on `kind` and nobody casts a payload.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface JobPayloads {}

export type JobKind = keyof JobPayloads & string;

/** A claimed job: one of each kind, its payload typed by the kind. */
export type QueuedJob = {
  [K in JobKind]: {
    /** Unique for the queue's lifetime (never reused): counts and completions are keyed by it. */
    id: number;
    hub: string;
    notificationId: string;
    kind: K;
    payload: JobPayloads[K];
    /** 0 on the first run; each time the reset takes the job back from a lapsed lease adds one. */
    attempt: number;
    runAt: number;
    /** The node that claimed it. */
    owner: string;
    /** The lease as claimed (extend moves the stored one). */
    leasedUntil: number;
  };
}[JobKind];

/** A job still in the queue, as the outcomes API shows it. */
export type PendingJob = { [K in JobKind]: { kind: K; payload: JobPayloads[K]; runAt: number; attempt: number; running: boolean } }[JobKind];

/** A job to enqueue. */
export type NewJob = { [K in JobKind]: { kind: K; payload: JobPayloads[K]; runAt: number } }[JobKind];

export interface Queue {
  /**
   * Leases up to `limit` runnable jobs (run_at passed, no owner) to `owner` until `now + leaseMs`.
   * Concurrent claims (from any node) get disjoint jobs.
   */
  claim(owner: string, now: number, limit: number, leaseMs: number): Promise<QueuedJob[]>;
  /** Moves the job's lease to `until`; false when `job.owner` no longer holds it (then it must not complete). */
  extend(job: QueuedJob, until: number): Promise<boolean>;
  /** Takes back every lease that lapsed before `now` (attempt + 1, no owner: claimable again); returns how many. */
  resetLapsed(now: number): Promise<number>;
  /** When the next unclaimed job becomes runnable (ms), if any. */
  nextRunAt(): Promise<number | undefined>;
  /**
   * The jobs of one notification still in the queue (claimed or not), oldest run time first, at most
   * `limit`: what the outcomes API shows as pending (issue 12 item 4).
   */
  pendingOf(hub: string, notificationId: string, limit: number): Promise<PendingJob[]>;
  /** Jobs in the queue, and the run time of the oldest one that is runnable at `now` and unclaimed (metrics). */
  depth(now: number): Promise<{ jobs: number; oldestRunnableAt: number | undefined }>;
  /**
   * Calls `listener` after jobs were enqueued (committed): by this process (embedded store), or by any node
   * sharing the store (PostgreSQL NOTIFY). A wake-up may be lost (a dropped connection): callers keep a
   * slow safety poll. Returns the unsubscribe function.
   */
  onEnqueue(listener: () => void): () => void;
}

/** What a step commit answers: `stale` when the job was not the caller's any more; nothing was written. */
export type Completion = 'done' | 'stale';
