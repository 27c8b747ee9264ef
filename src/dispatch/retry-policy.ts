/**
 * The one retry policy of the send pipeline (house style: retries live in one module, time is injected).
 * Given a target's retry state and the failure that just happened, it decides, as data, when to try again
 * or that the target is abandoned. Connectors never sleep or loop; the dispatcher re-enqueues the target
 * for `atMs` or records the abandonment.
 *
 * - Exponential backoff `base * 2^(attempt-1)` capped at `maxDelayMs`, with jitter so that a batch that
 *   failed together does not come back together: "full" (uniform in [0, backoff]) or "decorrelated"
 *   (uniform in [base, 3 * previous delay], capped), after the AWS Architecture Blog's "Exponential
 *   Backoff And Jitter".
 * - A PNS's Retry-After is honoured: the retry is never earlier than it asks.
 * - Attempts are bounded.
 * - §9/§14: a target not handed to the PNS within 30 minutes of the notification's acceptance is
 *   Abandoned (DOC FAQ: "undeliverable push drop 30 minutes"), counted as `AbandonedNotificationMessages`.
 */
import type { Clock } from '../shared/clock.ts';

export type JitterMode = 'full' | 'decorrelated' | 'none';

export interface RetryPolicyOptions {
  /** First backoff step. */
  readonly baseDelayMs: number;
  /** Upper bound of a computed backoff (a longer Retry-After is still honoured, up to the deadline). */
  readonly maxDelayMs: number;
  /** Deliveries tried in all, the first one included; the failure of the last one abandons. */
  readonly maxAttempts: number;
  readonly jitter: JitterMode;
  /** §14: how long after acceptance a target may still be handed to the PNS. */
  readonly abandonAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicyOptions = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  maxAttempts: 10,
  jitter: 'full',
  abandonAfterMs: 30 * 60_000,
});

/** What went wrong on one attempt, kept so that an abandoned target can say why. */
export interface RetryFailure {
  /** Azure outcome name, e.g. `PnsUnavailable`, `Throttled` (pns/connector AzureOutcome). */
  readonly outcome: string;
  /** The PNS's or our own reason text. */
  readonly reason: string;
  readonly status?: number;
  /** A delay the PNS asked for, already in ms (DeliveryOutcome.retryAfterMs). */
  readonly retryAfterMs?: number;
  /** Or the raw response headers, lower-case names: `retry-after`, `retry-after-ms`, `x-ms-retry-after-ms`. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

export interface LastError {
  readonly outcome: string;
  readonly reason: string;
  readonly status?: number;
  readonly atMs: number;
  readonly attempt: number;
}

/** Per target (or per retried batch); stored with the queued job. Plain data, JSON-serialisable. */
export interface RetryState {
  /** When the notification was accepted; for a scheduled one, when it became due. Starts the 30-minute window. */
  readonly acceptedAtMs: number;
  /** Attempts made so far. */
  readonly attempts: number;
  /** The previous backoff, for decorrelated jitter. */
  readonly previousDelayMs?: number;
  readonly lastError?: LastError;
}

export type AbandonReason = 'max_attempts' | 'deadline';

export type RetryDecision =
  | { readonly kind: 'retry'; readonly atMs: number; readonly delayMs: number; readonly state: RetryState }
  | { readonly kind: 'abandon'; readonly reason: AbandonReason; readonly message: string; readonly state: RetryState };

/** A fresh state for a target of a notification accepted at `acceptedAtMs`. */
export function initialRetryState(acceptedAtMs: number): RetryState {
  return { acceptedAtMs, attempts: 0 };
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/**
 * The delay a response asks for, in ms, or undefined. `retry-after-ms` and `x-ms-retry-after-ms` (Azure's
 * millisecond variants) win over `Retry-After`, which is either delta-seconds or an HTTP date (RFC 9110
 * §10.2.3); a date in the past means "now". Unreadable values are ignored.
 */
export function parseRetryAfter(headers: Readonly<Record<string, string | string[] | undefined>>, nowMs: number): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = first(headers[name]);
    if (v !== undefined && /^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v));
  }
  const v = first(headers['retry-after']);
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only something that looks like an HTTP date (a weekday or month name): Date.parse reads almost anything.
  if (!/[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export class RetryPolicy {
  readonly options: RetryPolicyOptions;

  /** `random` returns a number in [0, 1), like Math.random; tests inject a fixed sequence. */
  constructor(
    private readonly clock: Clock,
    options: Partial<RetryPolicyOptions> = {},
    private readonly random: () => number = Math.random,
  ) {
    const o = { ...DEFAULT_RETRY_POLICY, ...options };
    if (!(o.baseDelayMs > 0) || !(o.maxDelayMs >= o.baseDelayMs) || !(o.maxAttempts >= 1) || !(o.abandonAfterMs > 0)) {
      throw new RangeError('RetryPolicy: need baseDelayMs > 0, maxDelayMs >= baseDelayMs, maxAttempts >= 1, abandonAfterMs > 0.');
    }
    this.options = Object.freeze(o);
  }

  /** The time after which a target of a notification accepted at `acceptedAtMs` is abandoned. */
  deadline(acceptedAtMs: number): number {
    return acceptedAtMs + this.options.abandonAfterMs;
  }

  /**
   * Before handing a target to the PNS (first attempt or a retry): a target whose window has passed, for
   * example because the queue was backed up, is abandoned without being sent.
   */
  checkDeadline(state: RetryState): RetryDecision | undefined {
    const now = this.clock.now();
    if (now < this.deadline(state.acceptedAtMs)) return undefined;
    return this.abandon('deadline', state, `not handed to the PNS within ${minutes(this.options.abandonAfterMs)} of acceptance`);
  }

  /** The decision after an attempt failed with a retryable outcome. Counts the attempt and records the error. */
  onFailure(state: RetryState, failure: RetryFailure): RetryDecision {
    const now = this.clock.now();
    const attempt = state.attempts + 1;
    const lastError: LastError = failure.status === undefined
      ? { outcome: failure.outcome, reason: failure.reason, atMs: now, attempt }
      : { outcome: failure.outcome, reason: failure.reason, status: failure.status, atMs: now, attempt };
    const recorded: RetryState = { ...state, attempts: attempt, lastError };
    if (attempt >= this.options.maxAttempts) {
      return this.abandon('max_attempts', recorded, `gave up after ${attempt} attempts`);
    }
    const backoff = this.backoff(attempt, state.previousDelayMs);
    const asked = failure.retryAfterMs ?? (failure.headers === undefined ? undefined : parseRetryAfter(failure.headers, now));
    // The PNS's Retry-After is a floor: never earlier than asked, and never earlier than our own backoff
    // (a flood of "Retry-After: 0" answers would otherwise become a busy loop).
    const delayMs = Math.max(backoff, asked ?? 0);
    const atMs = now + delayMs;
    if (atMs >= this.deadline(state.acceptedAtMs)) {
      // Waiting past the window only to abandon then would hold the target for nothing.
      return this.abandon('deadline', recorded, `the next attempt would fall after the ${minutes(this.options.abandonAfterMs)} window`);
    }
    return { kind: 'retry', atMs, delayMs, state: { ...recorded, previousDelayMs: backoff } };
  }

  /** The jittered backoff before attempt `attempt + 1`. */
  private backoff(attempt: number, previousDelayMs: number | undefined): number {
    const { baseDelayMs: base, maxDelayMs: cap, jitter } = this.options;
    const exponential = Math.min(cap, base * 2 ** Math.min(attempt - 1, 52));
    switch (jitter) {
      case 'none':
        return exponential;
      case 'full':
        return Math.floor(this.draw() * exponential);
      case 'decorrelated': {
        const upper = Math.min(cap, Math.max(base, (previousDelayMs ?? base) * 3));
        return Math.min(cap, Math.floor(base + this.draw() * (upper - base)));
      }
    }
  }

  /** A random number clamped to [0, 1), so that a test source returning 1 cannot exceed the bound. */
  private draw(): number {
    const r = this.random();
    return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  }

  private abandon(reason: AbandonReason, state: RetryState, why: string): RetryDecision {
    const last = state.lastError === undefined ? '' : `; last error: ${state.lastError.outcome} (${state.lastError.reason})`;
    return { kind: 'abandon', reason, message: `Abandoned: ${why}${last}.`, state };
  }
}

function minutes(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${ms} ms`;
}
