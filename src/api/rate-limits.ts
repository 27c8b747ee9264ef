/**
 * Per-hub rate limits of the Azure surface (issue: "throttling you can read"): a token bucket per hub
 * and kind of operation, holding one second of requests. Above the rate a request is answered 429 with
 * a Retry-After that says when a request will be taken again. In memory: each process limits what it
 * serves. In a cluster each node takes its share of the hub's rate, the rate divided by the live nodes
 * (`nodes()`, from the nodes' heartbeats): behind a load balancer that spreads requests evenly the hub's
 * limit holds for the cluster, without a round trip per request. A balancer that sends one hub's traffic
 * to one node gives that hub less than its limit: an honest bound, never more.
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

  constructor(
    private readonly clock: Clock,
    /** Live nodes sharing the limits (1 for a single process). */
    private readonly nodes: () => number = () => 1,
  ) {}

  /** Takes one request from the hub's bucket for this operation, or throws `throttled`. */
  take(hub: HubRecord, operation: AzureOperationName): void {
    const kind = SENDS.has(operation) ? 'sends' : REGISTRATIONS.has(operation) ? 'registrations' : undefined;
    if (!kind) return;
    const hubRate = kind === 'sends' ? hub.settings.sendsPerSecond : hub.settings.registrationsPerSecond;
    if (hubRate === null || hubRate === undefined) return;
    const rate = hubRate / Math.max(1, this.nodes());
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
      throw new HubError('throttled', `The hub's ${kind} rate limit of ${hubRate} per second is reached; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
  }
}
