/**
 * The WNS connector (pns-protocols.md §1): `POST {channel URI}` with a cached access token, one outcome
 * per target. WNS speaks HTTP/1.1 only (§0: no chunking, no pipelining), so pushes go over node:https
 * with a keep-alive Agent, which keeps a pool of connections per channel host (WNS spreads channels over
 * cluster hosts such as db5.notify.windows.com).
 */
import * as https from 'node:https';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { allTargets, outcome, unreachable, type ConnectorOptions, type DeliveryOutcome, type PnsBatch, type PnsConnector } from '../connector.ts';
import { credentialProblem, WnsTokens, type WnsCredentials } from './wns-auth.ts';
import { wnsResponseOutcome } from './wns-errors.ts';
import { wnsRequest, type WnsRequest } from './wns-payload.ts';
import { postOnce, type PostResult } from '../http1.ts';
import { trustOptions } from '../tls-trust.ts';

export type { WnsCredentials } from './wns-auth.ts';

export interface WnsConnectorOptions extends ConnectorOptions {
  /**
   * Connections per channel host. HTTP/1.1 carries one request at a time per connection, so this bounds
   * the requests in flight to one host; more wait in the Agent's queue. Default 32.
   */
  socketsPerHost?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class WnsConnector implements PnsConnector<WnsCredentials> {
  readonly platform = 'wns' as const;
  private readonly clock: Clock;
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;
  readonly tokens: WnsTokens;

  constructor(opts: WnsConnectorOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.tokens = new WnsTokens({ ca: opts.ca, timeoutMs: opts.requestTimeoutMs }, this.clock);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: opts.socketsPerHost ?? 32,
      // The extra CA beside the public roots (the real WNS hosts), as one context for every connection.
      ...trustOptions(opts.ca),
    });
  }

  async send(batch: PnsBatch<WnsCredentials>): Promise<DeliveryOutcome[]> {
    const { targets } = batch;
    const c = batch.credentials;
    if (!c || c.platform !== 'wns') return allTargets(targets, outcome('rejected', 'InvalidCredentials', 'no WNS credentials for this hub'));
    const problem = credentialProblem(c);
    if (problem) return allTargets(targets, outcome('rejected', 'InvalidCredentials', problem));

    // Channels at the endpoint override's origin are allowed besides *.notify.windows.com (the emulator).
    const alsoAllowed = c.endpoint !== undefined ? new URL(c.endpoint).origin : undefined;
    const outcomes = new Array<DeliveryOutcome | undefined>(targets.length);
    const requests: Array<[number, WnsRequest]> = [];
    targets.forEach((t, i) => {
      const r = wnsRequest(t, alsoAllowed);
      if ('kind' in r) outcomes[i] = r;
      else requests.push([i, r]);
    });
    if (requests.length === 0) return outcomes as DeliveryOutcome[];

    const token = await this.tokens.get(c);
    if (!token.ok) {
      for (const [i] of requests) outcomes[i] = { ...token.failure };
      return outcomes as DeliveryOutcome[];
    }
    const results = await Promise.all(requests.map(([, r]) => this.post(r, token.token)));
    // §1.1: "on 401 from a send, fetch a new token and retry once". A 401 means WNS no longer accepts
    // this token (expired early, revoked): renew it once for the whole batch and resend those targets
    // once. This is the only resend in the connector: it is the token refresh, not a retry policy.
    const unauthorized = results.flatMap((r, k) => (r.ok && r.status === 401 ? [k] : []));
    if (unauthorized.length > 0) {
      this.tokens.forget(c, token.token);
      const fresh = await this.tokens.get(c);
      if (fresh.ok) {
        const again = await Promise.all(unauthorized.map((k) => this.post(requests[k]![1], fresh.token)));
        unauthorized.forEach((k, j) => (results[k] = again[j]!));
      } else {
        for (const k of unauthorized) outcomes[requests[k]![0]] = { ...fresh.failure };
      }
    }
    results.forEach((r, k) => {
      const i = requests[k]![0];
      if (outcomes[i]) return; // the refresh failed: its outcome is already there
      if (r.ok) outcomes[i] = wnsResponseOutcome(r.status, r.headers, this.clock.now());
      else outcomes[i] = r.refused ? outcome('rejected', 'PnsInterfaceError', r.error) : unreachable(r.error);
    });
    return outcomes as DeliveryOutcome[];
  }

  /** One POST to a channel: the answer's status and headers (the body is empty, §1.5), or why none came. */
  private post(r: WnsRequest, bearer: string): Promise<PostResult> {
    return postOnce(r.url, { agent: this.agent, headers: { ...r.headers, Authorization: `Bearer ${bearer}` }, body: r.body, clock: this.clock, timeoutMs: this.timeoutMs, pns: 'WNS' });
  }

  async close(): Promise<void> {
    // Ends idle and busy connections; requests still in flight settle as unreachable (retry).
    this.agent.destroy();
  }
}
