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
import type { BroadcastChannels, ChannelAnswer, MessageStoragePolicy } from '../broadcast-channels.ts';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { HubError } from '../../shared/errors.ts';

/** §2.1: production and development (sandbox) hosts. */
export const APNS_PRODUCTION = 'https://api.push.apple.com';
export const APNS_DEVELOPMENT = 'https://api.sandbox.push.apple.com';
/** §2.9: broadcast channel management has hosts and ports of its own. With `endpoint` set, that origin serves both. */
export const APNS_CHANNELS_PRODUCTION = 'https://api-manage-broadcast.push.apple.com:2196';
export const APNS_CHANNELS_DEVELOPMENT = 'https://api-manage-broadcast.sandbox.push.apple.com:2195';

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

export class ApnsConnector implements PnsConnector<ApnsCredentials>, BroadcastChannels {
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
  pool(c: ApnsCredentials, origin = new URL(c.endpoint ?? (c.environment === 'production' ? APNS_PRODUCTION : APNS_DEVELOPMENT)).origin): H2Pool {
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
        pool.request(requestHeaders(token, authorization, bundleId, t.headers, t.collapseId), body, (r) => {
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

  // Broadcast channels (§2.9, issue 14 item 2). Token auth only: the bundle id is in the path.

  createChannel(c: PnsCredentials, policy: MessageStoragePolicy): Promise<ChannelAnswer> {
    return this.channelRequest(c, 'POST', 'channels', undefined, JSON.stringify({ 'message-storage-policy': policy, 'push-type': 'LiveActivity' }));
  }
  readChannel(c: PnsCredentials, channelId: string): Promise<ChannelAnswer> {
    return this.channelRequest(c, 'GET', 'channels', channelId);
  }
  listChannels(c: PnsCredentials): Promise<ChannelAnswer> {
    return this.channelRequest(c, 'GET', 'all-channels');
  }
  deleteChannel(c: PnsCredentials, channelId: string): Promise<ChannelAnswer> {
    return this.channelRequest(c, 'DELETE', 'channels', channelId);
  }
  broadcast(c: PnsCredentials, channelId: string, payload: Buffer, headers: Record<string, string>): Promise<ChannelAnswer> {
    const h: Record<string, string> = { 'apns-push-type': 'liveactivity', ...headers };
    return this.channelRequest(c, 'POST', 'broadcast', channelId, payload, h);
  }

  private async channelRequest(
    c: PnsCredentials,
    method: string,
    what: 'channels' | 'all-channels' | 'broadcast',
    channelId?: string,
    body: string | Buffer = '',
    extra: Record<string, string> = {},
  ): Promise<ChannelAnswer> {
    if (c.platform !== 'apns' || c.auth !== 'token') {
      throw new HubError('invalid_credentials', 'APNs broadcast channels need token credentials (keyId, teamId, bundleId, key): the bundle id names the app in every channel request.');
    }
    const problem = credentialProblem(c);
    if (problem) throw new HubError('invalid_credentials', `The APNs credentials cannot be used: ${problem}`);
    const origin = c.endpoint
      ? new URL(c.endpoint).origin
      : what === 'broadcast'
        ? c.environment === 'production' ? APNS_PRODUCTION : APNS_DEVELOPMENT
        : c.environment === 'production' ? APNS_CHANNELS_PRODUCTION : APNS_CHANNELS_DEVELOPMENT;
    const bundle = encodeURIComponent(c.bundleId);
    const path = what === 'broadcast' ? `/4/broadcasts/apps/${bundle}` : `/1/apps/${bundle}/${what}`;
    const headers: Record<string, string> = { ':method': method, ':path': path, authorization: this.tokens.authorization(c), ...extra };
    if (channelId !== undefined) headers['apns-channel-id'] = channelId;
    const r = await this.pool(c, origin).requestAsync(headers, body);
    if (!r.ok) return { ok: false, error: r.error };
    let parsed: Record<string, unknown> | undefined;
    try {
      const v: unknown = r.body.length ? JSON.parse(r.body.toString('utf8')) : undefined;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) parsed = v as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (parsed?.reason === 'ExpiredProviderToken') this.tokens.expire(c);
    const header = (n: string) => (typeof r.headers[n] === 'string' ? (r.headers[n] as string) : undefined);
    const answer: ChannelAnswer = { ok: true, status: r.status, body: parsed };
    const requestId = header('apns-request-id');
    const id = header('apns-channel-id');
    if (requestId !== undefined) answer.requestId = requestId;
    if (id !== undefined) answer.channelId = id;
    if (typeof parsed?.reason === 'string') answer.reason = parsed.reason;
    return answer;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}
