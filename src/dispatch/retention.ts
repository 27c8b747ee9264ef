/**
 * What the send pipeline keeps, and for how long: secure payloads are erased at their TTL (a read after
 * it is refused even before the purge ran), per-device outcomes after `outcomeRetentionDays`, and
 * notifications with everything of theirs `notificationRetentionDays` after they end (feedback after as
 * long), and expired send idempotency keys. One timer on the injected Clock runs it all, so tests drive it
 * on virtual time; on a store shared by many nodes one of them runs it per interval (Store.tasks).
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../shared/clock.ts';
import type { Store } from '../store/store.ts';

/** How often the purge runs: a secure payload outlives its TTL by at most this long in the store. */
export const RETENTION_INTERVAL_MS = 10_000;
/** The retention's name in the store's schedule of periodic tasks (once per interval across a cluster). */
export const RETENTION_TASK = 'retention';
/** Rows deleted per kind and run: a backlog is worked off over several runs, never in one long write. */
const PER_RUN = 10_000;
const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  outcomeRetentionDays: number;
  notificationRetentionDays: number;
  /** Hub events (issue 13) are purged this long after they were recorded; absent: kept. */
  eventRetentionHours?: number;
}

export class Retention {
  private timer: TimerHandle | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: RetentionPolicy,
  ) {}

  start(): void {
    this.timer ??= this.clock.setInterval(() => {
      // A run that is still going (a slow disk) is not started twice.
      // On a shared store every node has this timer; the one whose claim moves the schedule on runs it.
      this.running ??= this.store.tasks.claimDue(RETENTION_TASK, this.clock.now(), RETENTION_INTERVAL_MS).then((due) => (due ? this.runOnce() : undefined)).then(
        () => (this.running = undefined),
        (err) => {
          this.running = undefined;
          this.logger.error({ err }, 'pruning the send pipeline\'s old data failed; the next run retries');
        },
      );
    }, RETENTION_INTERVAL_MS).unref();
  }

  /** Resolves when no run is in progress (tests). */
  async idle(): Promise<void> {
    await this.running;
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async runOnce(): Promise<{ securePayloads: number; outcomes: number; notifications: number }> {
    const now = this.clock.now();
    const securePayloads = await this.store.dispatch.purgeSecurePayloads(now, PER_RUN);
    const outcomes = await this.store.dispatch.pruneOutcomes(now - this.policy.outcomeRetentionDays * DAY_MS, PER_RUN);
    const notifications = await this.store.dispatch.pruneNotifications(now - this.policy.notificationRetentionDays * DAY_MS, PER_RUN);
    await this.store.dispatch.pruneIdempotencyKeys(now, PER_RUN);
    if (this.policy.eventRetentionHours !== undefined) await this.store.events.purge(now - this.policy.eventRetentionHours * 3_600_000, PER_RUN);
    if (securePayloads + notifications > 0) this.logger.info({ securePayloads, outcomes, notifications }, 'expired secure payloads erased, old notifications deleted');
    return { securePayloads, outcomes, notifications };
  }
}
