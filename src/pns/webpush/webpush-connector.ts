/**
 * The Web Push connector (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID; pns-protocols.md §4):
 * the subscription endpoint is the URL, so there is no endpoint override. One HTTP/2 session pool per
 * push-service origin; the VAPID JWT is cached per origin. The endpoint comes from a device, so the
 * EndpointPolicy decides where Herald may connect (https, public addresses; checked again on the address
 * DNS gives), and pools and caches are bounded: a stream of new origins closes the least recently used.
 */
import { trustOptions } from '../tls-trust.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import {
  allTargets,
  delivered,
  outcome,
  unreachable,
  type ConnectorOptions,
  type DeliveryOutcome,
  type PnsBatch,
  type PnsConnector,
} from '../connector.ts';
import { BoundedMap } from '../../shared/bounded-map.ts';
import { ENDPOINT_REFUSED, endpointPolicy, type EndpointPolicy } from '../endpoint-policy.ts';
import { H2Pool } from '../h2-pool.ts';
import { vapidProblem, VapidTokens, type BrowserCredentials } from './webpush-auth.ts';
import { webPushErrorOutcome } from './webpush-errors.ts';
import { declarativeProblem, encryptAes128gcm, MAX_PLAINTEXT, parseSubscription, pushHeaders } from './webpush-payload.ts';

/** Messages encrypted per turn of the event loop (see send). */
const ENCRYPT_SLICE = 32;

/** Push-service origins with an open pool at once; real services are a handful (FCM, Mozilla, Apple, Microsoft). */
export const MAX_ORIGINS = 64;
/** VAPID key pairs whose check is remembered. */
const MAX_CHECKED_CREDENTIALS = 256;

export interface WebPushConnectorOptions extends ConnectorOptions {
  /** HTTP/2 sessions per push-service origin. Default 1. */
  sessionsPerOrigin?: number;
  /** Where Herald may connect. Default: https to public addresses only. */
  endpoints?: EndpointPolicy;
  /** Origins with an open pool at once; the least recently used is closed beyond. Default MAX_ORIGINS. */
  maxOrigins?: number;
}

export class WebPushConnector implements PnsConnector<BrowserCredentials> {
  readonly platform = 'browser' as const;
  private readonly pools: BoundedMap<H2Pool>;
  private readonly checked = new BoundedMap<string | undefined>({ maxEntries: MAX_CHECKED_CREDENTIALS });
  private readonly clock: Clock;
  private readonly endpoints: EndpointPolicy;
  readonly vapid: VapidTokens;

  constructor(private readonly opts: WebPushConnectorOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.vapid = new VapidTokens(this.clock);
    this.endpoints = opts.endpoints ?? endpointPolicy();
    // An evicted pool finishes what it carries (its queued requests answer "connector closed": a retry).
    this.pools = new BoundedMap<H2Pool>({ maxEntries: opts.maxOrigins ?? MAX_ORIGINS, onEvict: (pool) => void pool.close() });
  }

  private pool(origin: string): H2Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      const lookup = this.endpoints.lookup(origin);
      pool = new H2Pool(origin, {
        maxSessions: this.opts.sessionsPerOrigin ?? 1,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        clock: this.clock,
        // One TLS context per CA, not per connection (tls-trust.ts).
        connect: { ...trustOptions(this.opts.ca), ...(lookup ? { lookup } : {}) },
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Origins with an open pool (tests: bad input opens none). */
  get origins(): string[] {
    return this.pools.keys();
  }

  send(batch: PnsBatch<BrowserCredentials>): Promise<DeliveryOutcome[]> {
    const { targets } = batch;
    const c = batch.credentials;
    if (!c || c.platform !== 'browser') {
      return Promise.resolve(allTargets(targets, outcome('rejected', 'InvalidCredentials', 'no VAPID credentials for this hub')));
    }
    const cacheKey = `${c.subject}|${c.publicKey}|${c.privateKey}`;
    if (!this.checked.has(cacheKey)) this.checked.set(cacheKey, vapidProblem(c));
    const problem = this.checked.get(cacheKey);
    if (problem) return Promise.resolve(allTargets(targets, outcome('rejected', 'InvalidCredentials', problem)));

    const outcomes = new Array<DeliveryOutcome>(targets.length);
    let pending = targets.length;
    return new Promise((resolve) => {
      if (pending === 0) return resolve(outcomes);
      const settle = (i: number, o: DeliveryOutcome): void => {
        outcomes[i] = o;
        if (--pending === 0) resolve(outcomes);
      };
      // Encryption is ~0.2 ms of CPU per message: a batch of 2,000 would hold the event loop for 400 ms,
      // with no answer read and nothing sent meanwhile. Slices of ENCRYPT_SLICE, each sent as soon as it
      // is encrypted, keep the push service busy and the answers flowing while the rest is encrypted.
      let next = 0;
      const slice = (): void => {
        const end = Math.min(targets.length, next + ENCRYPT_SLICE);
        for (; next < end; next++) this.start(c, targets[next]!, next, settle);
        if (next < targets.length) setImmediate(slice);
      };
      slice();
    });
  }

  /** Encrypts and sends one target, or settles it at once when it cannot be sent. */
  private start(c: BrowserCredentials, t: PnsBatch<BrowserCredentials>['targets'][number], i: number, settle: (i: number, o: DeliveryOutcome) => void): void {
    const sub = parseSubscription(t.handle);
    if (typeof sub === 'string') return settle(i, outcome('rejected', 'BadChannel', sub));
    const plaintext = typeof t.payload === 'string' ? Buffer.from(t.payload) : t.payload;
    if (plaintext.length > MAX_PLAINTEXT) {
      return settle(i, outcome('rejected', 'InvalidNotificationSize', `${plaintext.length} bytes > ${MAX_PLAINTEXT}, the most one 4096-byte aes128gcm record holds`));
    }
    const declarative = declarativeProblem(plaintext);
    if (declarative) return settle(i, outcome('rejected', 'PnsInterfaceError', declarative));
    const headers = pushHeaders(t.headers, t.collapseId);
    if ('kind' in headers) return settle(i, headers as DeliveryOutcome);
    // Also checked when the handle was stored; again here for handles stored before the rule, direct sends.
    const refused = this.endpoints.problem(sub.endpoint);
    if (refused) return settle(i, outcome('rejected', 'BadChannel', `${ENDPOINT_REFUSED}: the endpoint ${refused}`));
    const origin = sub.endpoint.origin;
    const body = encryptAes128gcm(plaintext, sub.p256dh, sub.auth);
    const request = {
      ':method': 'POST',
      ':path': sub.endpoint.pathname + sub.endpoint.search,
      ...headers,
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      // RFC 8292 §2: aud is the push resource's origin, port included.
      authorization: this.vapid.authorization(c, origin),
    };
    this.pool(origin).request(request, body, (r) => {
      if (!r.ok) return settle(i, r.error.includes(ENDPOINT_REFUSED) ? outcome('rejected', 'BadChannel', r.error) : unreachable(r.error));
      if (r.status === 201 || r.status === 202 || r.status === 200) {
        const location = r.headers.location;
        return settle(i, delivered(typeof location === 'string' ? location : undefined, r.status));
      }
      settle(i, webPushErrorOutcome(r.status, r.body, r.headers, this.clock.now()));
    });
  }

  async close(): Promise<void> {
    const pools = this.pools.values();
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}
