/**
 * Delivers webhook events (issue 13 item 1): claims due deliveries from the store (a lease per delivery,
 * so nodes sharing a store split the work), POSTs each signed envelope, and records the attempt with what
 * follows: delivered on a 2xx; otherwise retried with backoff for at least 24 hours, then failed. Runs on
 * its own timers, apart from the push pipeline: a receiver that hangs holds one of this worker's slots
 * until its timeout, never a delivery batch.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { EndpointPolicy } from '../pns/endpoint-policy.ts';
import type { Clock, TimerHandle } from '../shared/clock.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import type { Store, WebhookAttempt, WebhookJob } from '../store/store.ts';
import { envelope } from './model.ts';
import { sign } from './signature.ts';
import { secretPlace } from './webhooks.ts';

/** Waits before each retry (ms): about 24 h 43 min in all, then the delivery fails (at least 24 h: see below). */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 28_800_000];
/** A delivery is retried for at least this long after its event. */
export const RETRY_FOR_MS = 24 * 3_600_000;
const JITTER = 0.1;

export interface WebhookWorkerOptions {
  nodeId: string;
  /** POSTs in flight at most. */
  concurrency?: number;
  /** A receiver that has not answered by then counts as a failed attempt. */
  timeoutMs?: number;
  leaseMs?: number;
  /** Polls for due deliveries this often (retries fall due without a signal). */
  pollMs?: number;
  /** null: sandbox mode, connect anywhere; otherwise each connection's address is checked (a public name resolving to a private address). */
  policy: EndpointPolicy | null;
  /** Jitter source, [0, 1); tests fix it. */
  random?: () => number;
}

/** The wait before the next try after `attempts` failed ones, or undefined when the delivery has been tried long enough. */
export function nextRetryDelay(attempts: number, sinceEventMs: number, random: () => number = Math.random): number | undefined {
  const base = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1]!;
  if (attempts > RETRY_DELAYS_MS.length && sinceEventMs >= RETRY_FOR_MS) return undefined;
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

export class WebhookWorker {
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly logger: Logger,
    private readonly options: WebhookWorkerOptions,
  ) {}

  start(): void {
    this.timer ??= this.clock.setInterval(() => this.wake(), this.options.pollMs ?? 1_000).unref();
    // New events may have made deliveries: look at once rather than at the next poll.
    this.unsubscribe ??= this.store.events.onAppend(() => this.wake());
  }

  async stop(): Promise<void> {
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.idle();
  }

  /** Resolves when no claim and no POST is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.inFlight.size > 0) await Promise.all([this.running, ...this.inFlight]);
  }

  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.claimAndSend()
      .catch((err: unknown) => this.logger.warn({ err }, 'claiming webhook deliveries failed; the next poll retries'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async claimAndSend(): Promise<void> {
    const free = (this.options.concurrency ?? 8) - this.inFlight.size;
    if (free <= 0) return;
    const jobs = await this.store.webhooks.claim(this.options.nodeId, this.clock.now(), free, this.options.leaseMs ?? 60_000);
    for (const job of jobs) {
      const p = this.deliver(job)
        .catch((err: unknown) => this.logger.warn({ err, delivery: job.id }, 'recording a webhook attempt failed; the delivery runs again after its lease'))
        .finally(() => {
          this.inFlight.delete(p);
          // A slot is free: there may be more due.
          if (this.timer) this.wake();
        });
      this.inFlight.add(p);
    }
  }

  /** One attempt of one delivery, recorded with what follows. */
  async deliver(job: WebhookJob): Promise<void> {
    const started = this.clock.now();
    const body = JSON.stringify(envelope(job.event));
    let attempt: WebhookAttempt;
    try {
      const secret = this.box.open(job.sealedSecret, secretPlace(job.hub, job.subscriptionId));
      const timestamp = Math.floor(started / 1000);
      const status = await this.post(job.url, body, {
        'content-type': 'application/json',
        'user-agent': 'Herald-Webhooks/1',
        'webhook-id': job.event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(secret, job.event.id, timestamp, body),
      });
      attempt = { at: started, status, durationMs: this.clock.now() - started };
    } catch (err) {
      attempt = { at: started, error: (err as Error).message.slice(0, 300), durationMs: this.clock.now() - started };
    }
    const ok = attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300;
    const attempts = job.attempts + 1;
    const delay = ok ? undefined : nextRetryDelay(attempts, this.clock.now() - job.event.time, this.options.random);
    const next = ok ? { final: 'delivered' as const } : delay === undefined ? { final: 'failed' as const } : { retryAt: this.clock.now() + delay };
    if (!(await this.store.webhooks.recordAttempt(job, attempt, next))) return; // the lease lapsed: another node has it
    if ('final' in next && next.final === 'failed') this.logger.warn({ hub: job.hub, subscription: job.subscriptionId, event: job.event.id }, 'a webhook delivery failed for good after 24 hours of retries');
  }

  /** POSTs and answers the status; throws when no answer came (refused, unreachable, timed out, address refused). */
  private post(url: string, body: string, headers: Record<string, string>): Promise<number> {
    const target = new URL(url);
    const lookup = this.options.policy?.lookup(target.origin);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise<number>((resolve, reject) => {
      const req = request(target, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, ...(lookup ? { lookup } : {}) }, (res: IncomingMessage) => {
        // The receiver's body is not read: drained, so the connection is released.
        res.resume();
        res.on('end', () => {
          this.clock.clearTimer(timer);
          resolve(res.statusCode ?? 0);
        });
        res.on('error', (err) => {
          this.clock.clearTimer(timer);
          reject(err);
        });
      });
      const timer = this.clock.setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      req.on('error', (err) => {
        this.clock.clearTimer(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}
