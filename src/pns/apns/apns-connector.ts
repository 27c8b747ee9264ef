/**
 * The APNs connector (pns-protocols.md §2): HTTP/2 provider API over a small pool of sessions per
 * credential, provider tokens or client certificates, one outcome per target.
 */
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
import type * as tls from 'node:tls';
import { H2Pool } from '../h2-pool.ts';
import { clientCertificateContext, trustOptions } from '../tls-trust.ts';
import { credentialProblem, poolKey, ProviderTokens, type ApnsCredentials } from './apns-auth.ts';
import { apnsErrorOutcome } from './apns-errors.ts';
import { deviceToken, payloadProblem, requestHeaders } from './apns-payload.ts';

/** §2.1: production and development (sandbox) hosts. */
export const APNS_PRODUCTION = 'https://api.push.apple.com';
export const APNS_DEVELOPMENT = 'https://api.sandbox.push.apple.com';

export interface ApnsConnectorOptions extends ConnectorOptions {
  /**
   * HTTP/2 sessions per credential; another opens only when the open ones are at their stream limit. Default 1:
   * one session carries APNs's 1000 streams, and on this 2-core bench a second one cost more CPU than it saved.
   */
  sessionsPerCredential?: number;
}

/**
 * A client certificate's TLS options, its context built once per pool. A certificate or key that does
 * not load is handed to tls.connect as it is, so the connection fails there with the error it always gave.
 */
function certificateConnectOptions(ca: string | undefined, cert: string, key: string): tls.ConnectionOptions {
  try {
    return { secureContext: clientCertificateContext(ca, cert, key) };
  } catch {
    return { ...trustOptions(ca), cert, key };
  }
}

export class ApnsConnector implements PnsConnector<ApnsCredentials> {
  readonly platform = 'apns' as const;
  private readonly pools = new Map<string, H2Pool>();
  private readonly checked = new Map<string, string | undefined>();
  private readonly clock: Clock;
  readonly tokens: ProviderTokens;

  constructor(private readonly opts: ApnsConnectorOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.tokens = new ProviderTokens(this.clock);
  }

  /** The pool a credential's pushes go through (tests look at its sessions). */
  pool(c: ApnsCredentials): H2Pool {
    const origin = new URL(c.endpoint ?? (c.environment === 'production' ? APNS_PRODUCTION : APNS_DEVELOPMENT)).origin;
    const key = poolKey(c, origin);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new H2Pool(origin, {
        maxSessions: this.opts.sessionsPerCredential ?? 1,
        requestTimeoutMs: this.opts.requestTimeoutMs,
        clock: this.clock,
        // Built once per pool, not per connection (tls-trust.ts).
        connect: c.auth === 'certificate' ? certificateConnectOptions(this.opts.ca, c.certificate, c.privateKey) : trustOptions(this.opts.ca),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  send(batch: PnsBatch<ApnsCredentials>): Promise<DeliveryOutcome[]> {
    const { targets } = batch;
    const c = batch.credentials;
    if (!c || c.platform !== 'apns') {
      return Promise.resolve(allTargets(targets, outcome('rejected', 'InvalidCredentials', 'no APNs credentials for this hub')));
    }
    const cacheKey = c.auth === 'token' ? c.key + c.keyId + c.teamId + c.bundleId : c.certificate + c.privateKey;
    let problem = this.checked.get(cacheKey);
    if (problem === undefined && !this.checked.has(cacheKey)) {
      problem = credentialProblem(c);
      this.checked.set(cacheKey, problem);
    }
    if (problem) return Promise.resolve(allTargets(targets, outcome('rejected', 'InvalidCredentials', problem)));

    const authorization = c.auth === 'token' ? this.tokens.authorization(c) : undefined;
    const bundleId = c.auth === 'token' ? c.bundleId : undefined;
    // Issue 14 item 7: APNs collapses pushes with one collapse id; the notification id is the same on every attempt.
    const collapseId = batch.notificationId;
    const pool = this.pool(c);
    const outcomes = new Array<DeliveryOutcome>(targets.length);
    let pending = targets.length;
    return new Promise((resolve) => {
      if (pending === 0) return resolve(outcomes);
      const settle = (i: number, o: DeliveryOutcome): void => {
        outcomes[i] = o;
        if (--pending === 0) resolve(outcomes);
      };
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        const token = deviceToken(t.handle);
        if (!token) {
          settle(i, outcome('rejected', 'WrongToken', 'BadDeviceToken: the handle is not a hex device token'));
          continue;
        }
        const body = typeof t.payload === 'string' ? Buffer.from(t.payload) : t.payload;
        const bad = payloadProblem(body, t.headers);
        if (bad) {
          settle(i, bad);
          continue;
        }
        pool.request(requestHeaders(token, authorization, bundleId, t.headers, collapseId), body, (r) => {
          if (!r.ok) return settle(i, unreachable(r.error));
          if (r.status === 200) {
            const id = r.headers['apns-id'];
            return settle(i, delivered(typeof id === 'string' ? id : undefined));
          }
          const o = apnsErrorOutcome(r.status, r.body, r.headers, this.clock.now());
          if (o.reason === 'ExpiredProviderToken' && c.auth === 'token') this.tokens.expire(c);
          settle(i, o);
        });
      }
    });
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}
