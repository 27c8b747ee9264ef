/**
 * The send pipeline (design.md, "A send, from HTTP to the device"): accept (store before answering),
 * plan (resolve targets in pages, each page a batch job, the cursor saved with the batches), deliver
 * (per batch), complete (when no job of the notification is left). A worker loop runs the durable
 * jobs; a job whose process died is run again (at-least-once, bounded by the batches in flight).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import type { DispatchJob, HubRecord, NotificationRecord, Store } from '../store/store.ts';
import type { Completion, QueuedJob } from '../queue/queue.ts';
import type { PlanCursor } from './jobs.ts';
import { STEP_RULES } from './step-rules.ts';
import { parseTagExpression } from '../tags/index.ts';
import { Deliverer, type BatchPayload, type TargetOutcome } from './deliver.ts';
import { failuresOf, type BatchObserver, type BatchReport } from './batch-report.ts';
import { initialRetryState } from './retry-policy.ts';
import { toStoredRequest, type StoredRequest } from './render.ts';
import { MAX_TEST_SEND_RESULTS, type SendRequest } from './send-model.ts';
import type { SecretBox } from '../shared/secret-box.ts';

/** Registrations read per planning step, and devices per delivery batch. */
export const PLAN_PAGE = 5000;
export const BATCH_SIZE = 500;
/**
 * A send with more targets than its first page has the rest of its hub cut into slices that several nodes
 * plan at once (a send within one page pays nothing for it). A slice holds at least SLICE_MIN registrations
 * of the hub, ten planning steps of a broadcast, so the pass that finds its bounds and its own job are small
 * beside it; a send has at most MAX_SLICES, so a million-device broadcast is planned by up to 16 workers and
 * the plan jobs of one send do not fill a large cluster's workers, which other hubs' sends need too.
 */
export const SLICE_MIN = 50_000;
export const MAX_SLICES = 16;
/** How long a claim is ours unless extended (config dispatch.leaseSeconds); a running job renews every third of it. */
export const DEFAULT_LEASE_MS = 30_000;
/**
 * The slowest look for work: wake-ups (enqueue, NOTIFY) and the timer for the next run_at find work at once;
 * this only covers a lost wake-up (a dropped LISTEN connection, another process on the same SQLite file).
 * Jittered between this and twice this, so nodes do not poll in step.
 */
const SAFETY_POLL_MS = 5_000;

/** How long a send's Idempotency-Key names its notification (contract: 24 hours). */
export const IDEMPOTENCY_KEY_MS = 24 * 3_600_000;

/** What a sealed payload is bound to: a copy in another notification's row fails to open. */
const securePayloadScope = (hub: string, id: string) => `${hub.toLowerCase()}/${id}/secure`;

/** Azure's shape: `{32 hex}-{yyyyMMddHHmmss}-{int}-{int}` (wire spec §7.4). */
export function newNotificationId(now: number): string {
  const d = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${randomBytes(16).toString('hex')}-${d}-${randomBytes(3).readUIntBE(0, 3)}-${randomBytes(1)[0]}`;
}

export interface TestSendResult {
  id: string;
  outcomes: TargetOutcome[];
}

export class SendService {
  constructor(
    private readonly store: Store,
    private readonly deliverer: Deliverer,
    private readonly clock: Clock,
    private readonly onAccepted: () => void,
    private readonly secrets: SecretBox,
  ) {}

  /**
   * Stores the notification with its first job; answers only after the write (nothing lives only in
   * memory). A secure send keeps its payload sealed and nothing of it in the clear.
   */
  async accept(hub: HubRecord, req: SendRequest, secure?: { ttlMs: number }, options: { idempotencyKey?: string } = {}): Promise<NotificationRecord> {
    const now = this.clock.now();
    const id = newNotificationId(now);
    let stored = toStoredRequest(req, req.scheduledAtMs ?? now);
    let sealed: { sealed: string; expiresAt: number } | undefined;
    if (secure) {
      if (stored.target.kind === 'direct') {
        throw new HubError('invalid_request', 'A secure send needs registered installations (devices read their payload with an installation credential); it cannot be direct.', { reason: 'secure_direct' });
      }
      const expiresAt = (req.scheduledAtMs ?? now) + secure.ttlMs;
      sealed = { sealed: this.secrets.seal(JSON.stringify({ body: req.body.toString('base64'), contentType: req.contentType ?? 'application/octet-stream' }), securePayloadScope(hub.name, id)), expiresAt };
      stored = { ...stored, payload: { kind: 'text', text: '' }, body: '[secure payload]', secure: { notificationId: id, expiresAt } };
    }
    const scheduled = req.scheduledAtMs !== undefined && req.scheduledAtMs > now;
    const n: NotificationRecord = {
      hub: hub.name,
      id,
      state: scheduled ? 'Scheduled' : 'Enqueued',
      request: stored as unknown as Record<string, unknown>,
      counts: {},
      targets: 0,
      enqueuedAt: now,
      ...(req.scheduledAtMs === undefined ? {} : { scheduledAt: req.scheduledAtMs }),
    };
    const runAt = scheduled ? req.scheduledAtMs! : now;
    const first =
      stored.target.kind === 'direct'
        ? { kind: 'deliver' as const, payload: { targets: stored.target.handles.map((d) => ({ d })), retry: initialRetryState(now) } satisfies BatchPayload, runAt }
        : { kind: 'plan' as const, payload: { after: null } satisfies PlanCursor, runAt };
    const idempotency = options.idempotencyKey === undefined ? undefined : { key: options.idempotencyKey, expiresAt: now + IDEMPOTENCY_KEY_MS, now };
    const storedId = await this.store.dispatch.createNotification(n, first, sealed, idempotency);
    if (storedId !== n.id) {
      // The key was used within its lifetime (on any node): the first send's notification, nothing sent again.
      const earlier = await this.store.dispatch.getNotification(hub.name, storedId);
      if (earlier) return earlier;
      throw new HubError('notification_not_found', `The notification of this Idempotency-Key ('${storedId}') is gone.`);
    }
    this.onAccepted();
    return n;
  }

  /**
   * A secure payload for a device of `installationId` (which the push must have reached since the
   * installation was created: `installationCreatedAt`), recording the read.
   */
  async readSecure(hub: HubRecord, id: string, installationId: string, registrationIds: readonly string[], installationCreatedAt: number): Promise<{ body: Buffer; contentType: string }> {
    const n = await this.store.dispatch.getNotification(hub.name, id);
    const secure = (n?.request as unknown as StoredRequest | undefined)?.secure;
    if (!n || !secure) throw new HubError('notification_not_found', `No secure notification '${id}'.`);
    const gone = () => new HubError('secure_payload_gone', 'The secure payload has expired.');
    if (secure.expiresAt <= this.clock.now()) throw gone();
    if (!(await this.store.dispatch.wasDelivered(hub.name, id, registrationIds, installationCreatedAt))) {
      throw new HubError('forbidden', 'This notification was not delivered to this installation.');
    }
    // The store refuses an expired payload even before the purge has erased it.
    const sealed = await this.store.dispatch.securePayload(hub.name, id, this.clock.now());
    if (sealed === undefined) throw gone();
    const opened = JSON.parse(this.secrets.open(sealed, securePayloadScope(hub.name, id))) as { body: string; contentType: string };
    await this.store.dispatch.recordSecureRead(hub.name, id, installationId, this.clock.now());
    return { body: Buffer.from(opened.body, 'base64'), contentType: opened.contentType };
  }

  /** `?test` (§7.5): up to 10 targets, sent now, their outcomes answered; nothing is queued. */
  async testSend(hub: HubRecord, req: SendRequest): Promise<TestSendResult> {
    const now = this.clock.now();
    const stored = toStoredRequest(req, now);
    const filter = {
      kinds: stored.eligibleKinds,
      liveAt: now,
      ...(stored.target.kind === 'tags' ? { tagExpression: parseTagExpression(stored.target.expression, { maxTagsOrOnly: 1000, maxTagsMixed: 1000 }).ast } : {}),
    };
    const page = await this.store.registrations.list(hub.name, filter, { limit: MAX_TEST_SEND_RESULTS });
    const id = newNotificationId(now);
    return { id, outcomes: await this.deliverer.sendNow(hub.name, stored, page.items, [], id) };
  }

  async get(hub: HubRecord, id: string): Promise<NotificationRecord> {
    const n = await this.store.dispatch.getNotification(hub.name, id);
    if (!n) throw new HubError('notification_not_found', `Notification '${id}' was not found.`);
    return n;
  }

  /** Cancels a scheduled notification (§8.2); one already running cannot be called back. */
  async cancel(hub: HubRecord, id: string): Promise<void> {
    const r = await this.store.dispatch.cancel(hub.name, id, this.clock.now());
    if (r === 'not_found') throw new HubError('notification_not_found', `Scheduled notification '${id}' was not found.`);
    if (r === 'started') throw new HubError('invalid_request', `Notification '${id}' has already been sent or is being sent; it can no longer be cancelled.`, { reason: 'already_started' });
  }
}

export interface DispatchWorkerOptions {
  /** Jobs run at the same time (config dispatch.concurrency). */
  concurrency?: number;
  /** A claim's lease (config dispatch.leaseSeconds * 1000). */
  leaseMs?: number;
  /** This node's id, the owner of its claims; random per process when absent. */
  nodeId?: string;
  /** Planning sizes (tests make them small): PLAN_PAGE, SLICE_MIN and MAX_SLICES when absent. */
  planning?: { page?: number; sliceMin?: number; maxSlices?: number };
  /** Told about every committed batch (the metrics). */
  observer?: BatchObserver;
}

/**
 * Runs plan and deliver jobs from the queue, a few at a time, until stopped. Idle, it waits for a wake-up
 * (a job enqueued here or, on PostgreSQL, by any node), the next job's run_at on the Clock, or a slow
 * jittered safety poll. A running job's lease is renewed every third of it; a periodic, jittered reset takes
 * back the leases of nodes that died (their jobs run again, attempt + 1). Nothing is released at start-up.
 */
export class DispatchWorker {
  private running = 0;
  private stopped = false;
  private timer: TimerHandle | undefined;
  private resetTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private ticking = false;
  /** A wake-up came while a claim was running: look again when it ends (the claim may have missed that job). */
  private wokenWhileTicking = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Callers of `idle()` waiting for the worker's state to change (a claim ended, a job finished). */
  private changed: Array<() => void> = [];
  readonly nodeId: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly planning: { page: number; sliceMin: number; maxSlices: number };
  private readonly observer: BatchObserver | undefined;

  constructor(
    private readonly store: Store,
    private readonly deliverer: Deliverer,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: DispatchWorkerOptions = {},
  ) {
    this.nodeId = options.nodeId ?? randomBytes(8).toString('hex');
    this.concurrency = options.concurrency ?? 4;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.observer = options.observer;
    this.planning = { page: options.planning?.page ?? PLAN_PAGE, sliceMin: options.planning?.sliceMin ?? SLICE_MIN, maxSlices: options.planning?.maxSlices ?? MAX_SLICES };
  }

  async start(): Promise<void> {
    this.unsubscribe = this.store.queue.onEnqueue(() => this.wake());
    this.scheduleReset();
    this.wake();
  }

  /** Look for work now (a send was accepted, a job finished). */
  wake(): void {
    if (this.stopped) return;
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    void this.tick();
  }

  /** The next look for work runs on the injected clock: scheduled sends and retries fire on virtual time in tests. */
  private schedule(ms: number): void {
    if (this.stopped) return;
    this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimeout(() => this.wake(), Math.max(0, ms)).unref();
  }

  /**
   * The reset of lapsed leases, every half lease to one lease (jittered, so the nodes of a cluster spread
   * it): a job whose owner died runs again within about two leases.
   */
  private scheduleReset(): void {
    if (this.stopped) return;
    const ms = Math.round((this.leaseMs / 2) * (1 + Math.random()));
    this.resetTimer = this.clock
      .setTimeout(() => {
        void this.resetLapsed().finally(() => this.scheduleReset());
      }, ms)
      .unref();
  }

  private async resetLapsed(): Promise<void> {
    try {
      const taken = await this.store.queue.resetLapsed(this.clock.now());
      if (taken > 0) {
        this.logger.warn({ jobs: taken }, 'send jobs whose lease lapsed (their node stopped or stalled) run again');
        this.wake();
      }
    } catch (err) {
      this.logger.error({ err }, 'the send worker could not take back lapsed leases');
    } finally {
      this.notifyChanged();
    }
  }

  private notifyChanged(): void {
    const waiting = this.changed;
    this.changed = [];
    for (const resolve of waiting) resolve();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.ticking) {
      this.wokenWhileTicking = true;
      return;
    }
    this.ticking = true;
    this.wokenWhileTicking = false;
    try {
      const free = this.concurrency - this.running;
      if (free <= 0) return;
      const now = this.clock.now();
      const jobs = await this.store.queue.claim(this.nodeId, now, free, this.leaseMs);
      for (const job of jobs) this.launch(job);
      // Slots left free: a timer for the next due job (a retry, a scheduled send), or the safety poll. Full:
      // the next job to end looks again.
      if (jobs.length < free) {
        const next = await this.store.queue.nextRunAt();
        const poll = Math.round(SAFETY_POLL_MS * (1 + Math.random()));
        this.schedule(next === undefined ? poll : Math.min(poll, next - now));
      }
    } catch (err) {
      this.logger.error({ err }, 'the send worker could not claim jobs');
      this.schedule(1000);
    } finally {
      this.ticking = false;
      if (this.wokenWhileTicking) this.wake();
      this.notifyChanged();
    }
  }

  private launch(job: QueuedJob): void {
    this.running++;
    // The lease is renewed while the job runs, so a long batch keeps it; a renewal that finds the job taken
    // (this node stalled past its lease) is logged, and the job's completion will be refused.
    // One renewal at a time: one that has not answered yet is not doubled.
    let renewing = false;
    const renew = this.clock.setInterval(() => {
      if (renewing) return;
      renewing = true;
      this.store.queue
        .extend(job, this.clock.now() + this.leaseMs)
        .then(
          (kept) => {
            if (!kept) this.logger.warn({ notification: job.notificationId, job: job.id }, 'a send job lost its lease while running; its result will be dropped');
          },
          (err: unknown) => this.logger.error({ err, notification: job.notificationId, job: job.id }, 'a send job could not renew its lease'),
        )
        .finally(() => (renewing = false));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    renew.unref();
    const p = this.run(job)
      .then((completion) => {
        if (completion === 'stale') this.logger.warn({ notification: job.notificationId, job: job.id }, 'a send job finished after its lease was taken back; its result was dropped (another node runs it)');
      })
      .catch((err) => this.logger.error({ err, notification: job.notificationId, job: job.id }, 'a send job failed; it runs again when its lease ends'))
      .finally(() => {
        this.clock.clearTimer(renew);
        this.running--;
        this.inFlight.delete(p);
        this.wake();
        this.notifyChanged();
      });
    this.inFlight.add(p);
  }

  private async run(job: QueuedJob): Promise<Completion> {
    const n = await this.store.dispatch.getNotification(job.hub, job.notificationId);
    if (!n) {
      // Its notification is gone (the hub was deleted): the job only needs to end.
      return this.store.dispatch.finishDelivery(job, { outcomes: [], counts: {}, expired: [], now: this.clock.now() }, STEP_RULES);
    }
    const req = n.request as unknown as StoredRequest;
    switch (job.kind) {
      case 'plan':
        return this.plan(job, job.payload, n, req);
      case 'deliver': {
        const { result, report } = await this.deliverer.deliverBatch(n.hub, n.id, req, job.payload, job.attempt);
        const completion = await this.store.dispatch.finishDelivery(job, result, STEP_RULES);
        // Once committed: a stale result was dropped, and the node that runs the batch again reports it.
        if (completion === 'done') this.reportBatch(report);
        return completion;
      }
    }
  }

  /**
   * One warning line per batch with a failure (platform, outcome, PNS reason, how many, whether a retry
   * follows), so a push that fails or waits is visible in the log; then the observer (metrics).
   */
  private reportBatch(report: BatchReport): void {
    const failures = failuresOf(report);
    if (failures.length > 0) {
      const retrying = failures.some((f) => f.retry);
      this.logger.warn(
        {
          hub: report.hub,
          notification: report.notificationId,
          failures: failures.map((f) => ({ platform: f.platform, outcome: f.outcome, reason: f.reason, targets: f.count, ...(f.retry ? { retry: true } : {}) })),
          ...(report.nextAttemptAt === undefined ? {} : { nextAttemptAt: new Date(report.nextAttemptAt).toISOString() }),
        },
        retrying ? 'pushes of a batch failed and wait for a retry' : 'pushes of a batch failed',
      );
    }
    try {
      this.observer?.batchDelivered(report);
    } catch (err) {
      this.logger.error({ err }, 'a batch observer failed');
    }
  }

  /**
   * One page of targets: its batches are enqueued and the cursor moved in one transaction. The plan's first
   * step, when there is more than its page, also cuts the rest of the listing into slices and ends: each
   * slice is a plan job of its own, enqueued in the same transaction, which pages within its range from its
   * own saved cursor (any node may claim it, and a crash resumes it there). The slices partition the
   * listing, so every target is planned once and `targets` adds up exactly.
   */
  private async plan(job: DispatchJob, cursor: PlanCursor, n: NotificationRecord, req: StoredRequest): Promise<Completion> {
    const now = this.clock.now();
    const filter = {
      kinds: req.eligibleKinds,
      liveAt: now,
      ...(req.target.kind === 'tags' ? { tagExpression: parseTagExpression(req.target.expression, { maxTagsOrOnly: 1000, maxTagsMixed: 1000 }).ast } : {}),
    };
    // Ids only: each batch loads its registrations when it is delivered.
    const page = await this.store.registrations.listIds(n.hub, filter, {
      limit: this.planning.page,
      ...(cursor.after === null ? {} : { after: cursor.after }),
      ...(cursor.until === undefined ? {} : { until: cursor.until }),
    });
    const slices =
      cursor.after === null && cursor.until === undefined && page.next !== undefined && this.planning.maxSlices > 1
        ? await this.store.registrations.slices(n.hub, { after: page.next, max: this.planning.maxSlices, minSize: this.planning.sliceMin })
        : [];
    const batches: BatchPayload[] = [];
    // The 30-minute window starts when the send became due (accepted, or its scheduled time).
    const retry = initialRetryState(Math.max(req.acceptedAt, n.scheduledAt ?? 0));
    for (let i = 0; i < page.items.length; i += BATCH_SIZE) {
      batches.push({ targets: page.items.slice(i, i + BATCH_SIZE).map((ref) => ({ r: ref.id, s: ref.at })), retry });
    }
    if (slices.length > 1) {
      const plans = slices.map((s): PlanCursor => ({ after: s.after ?? null, ...(s.until === undefined ? {} : { until: s.until }) }));
      return this.store.dispatch.finishPlanStep(job, { batches, slices: plans, targets: page.items.length, now }, STEP_RULES);
    }
    const next: PlanCursor | undefined = page.next === undefined ? undefined : { after: page.next, ...(cursor.until === undefined ? {} : { until: cursor.until }) };
    return this.store.dispatch.finishPlanStep(job, { batches, ...(next === undefined ? {} : { nextCursor: next }), targets: page.items.length, now }, STEP_RULES);
  }

  /** Stops claiming and waits for the jobs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.clock.clearTimer(this.timer);
    this.clock.clearTimer(this.resetTimer);
    this.timer = undefined;
    this.notifyChanged();
    await Promise.all([...this.inFlight]);
  }

  /**
   * Resolves when no job is running and none is due within `withinMs` on the worker's clock (tests).
   * It waits for the worker's own events, not for real time: with a ManualClock, advance the clock to
   * the next job's time (or pass `withinMs: 0`) before waiting. `safetyMs` only stops a hung test.
   */
  async idle(opts: { withinMs?: number; safetyMs?: number } = {}): Promise<void> {
    const withinMs = opts.withinMs ?? 1000;
    const safety = opts.safetyMs ?? 120_000;
    let timedOut = false;
    const bound = setTimeout(() => {
      timedOut = true;
      this.notifyChanged();
    }, safety);
    try {
      for (;;) {
        const next = await this.store.queue.nextRunAt();
        if (this.stopped || (this.running === 0 && !this.ticking && (next === undefined || next > this.clock.now() + withinMs))) return;
        if (timedOut) throw new Error(`the send worker did not become idle within ${safety} ms`);
        const changed = new Promise<void>((resolve) => this.changed.push(resolve));
        // A job is due and nothing is looking for it (its timer has not fired yet): look now.
        if (this.running === 0 && !this.ticking && next !== undefined && next <= this.clock.now()) this.wake();
        await changed;
      }
    } finally {
      clearTimeout(bound);
    }
  }

  /** When the next job is due (undefined: none is waiting); with `idle`, lets a test step virtual time. */
  nextRunAt(): Promise<number | undefined> {
    return this.store.queue.nextRunAt();
  }
}
