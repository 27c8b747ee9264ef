/**
 * Per-hub rate limits of the Azure surface (issue: "throttling you can read"): a token bucket per hub
 * and kind of operation, holding one second of requests. Above the rate a request is answered 429 with
 * a Retry-After that says when a request will be taken again. In memory: each process limits what it
 * serves (a shared limit across processes belongs with the Redis queue of a scale-out deployment).
 */
import type { Clock } from '../shared/clock.ts';
import { BoundedMap } from '../shared/bounded-map.ts';
import { HubError } from '../shared/errors.ts';
import type { HubRecord } from '../store/store.ts';
import type { AzureOperationName } from './azure-operations.ts';

const SENDS: ReadonlySet<AzureOperationName> = new Set(['sendNotification', 'sendBatchNotification', 'scheduleNotification']);
const REGISTRATIONS: ReadonlySet<AzureOperationName> = new Set([
  'createOrUpdateInstallation',
  'updateInstallation',
  'deleteInstallation',
  'createRegistrationId',
  'createRegistration',
  'createOrUpdateRegistration',
  'updateRegistration',
  'deleteRegistration',
]);

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Buckets kept (two per limited hub). The least recently used goes first: a hub idle long enough to be
 * evicted has refilled its bucket anyway, whereas dropping every bucket at a cap would let a throttled
 * client through.
 */
export const MAX_BUCKETS = 10_000;

export class RateLimits {
  private readonly buckets = new BoundedMap<Bucket>({ maxEntries: MAX_BUCKETS });
  /** Entries kept (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }

  constructor(private readonly clock: Clock) {}

  /** Takes one request from the hub's bucket for this operation, or throws `throttled`. */
  take(hub: HubRecord, operation: AzureOperationName): void {
    const kind = SENDS.has(operation) ? 'sends' : REGISTRATIONS.has(operation) ? 'registrations' : undefined;
    if (!kind) return;
    const rate = kind === 'sends' ? hub.settings.sendsPerSecond : hub.settings.registrationsPerSecond;
    if (rate === null || rate === undefined) return;
    // A hub deleted and created again under its name is a new hub: its buckets start full.
    const key = `${hub.name.toLowerCase()}\n${hub.createdAt}\n${kind}`;
    const now = this.clock.now();
    const capacity = Math.max(1, rate);
    const b = this.buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - b.tokens) / rate));
      throw new HubError('throttled', `The hub's ${kind} rate limit of ${rate} per second is reached; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
  }
}
