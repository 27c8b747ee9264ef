/**
 * The FCM HTTP v1 connector (pns-protocols.md §3): `POST {endpoint}/v1/projects/{p}/messages:send` over a
 * keep-alive HTTP/2 session pool, with a cached OAuth access token.
 */
import { createPrivateKey } from 'node:crypto';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { allTargets, delivered, outcome, unreachable, type ConnectorOptions, type DeliveryOutcome, type PnsBatch, type PnsConnector } from '../connector.ts';
import { H2Pool, type H2Result } from '../h2-pool.ts';
import { trustOptions } from '../tls-trust.ts';
import { FcmTokens, type FcmCredentials } from './fcm-auth.ts';
import { fcmErrorOutcome } from './fcm-errors.ts';
import { fcmTarget, sendBody } from './fcm-payload.ts';

export const FCM_ENDPOINT = 'https://fcm.googleapis.com';

function credentialProblem(c: FcmCredentials): string | undefined {
  const sa = c.serviceAccount;
  if (!sa?.project_id || !sa.client_email || !sa.private_key) return 'the service account needs project_id, client_email and private_key';
  try {
    if (createPrivateKey(sa.private_key).asymmetricKeyType !== 'rsa') return 'private_key must be an RSA key';
  } catch (err) {
    return `private_key does not parse: ${(err as Error).message}`;
  }
  return undefined;
}

export class FcmConnector implements PnsConnector<FcmCredentials> {
  readonly platform = 'fcmv1' as const;
  private readonly pools = new Map<string, H2Pool>();
  private readonly clock: Clock;
  readonly tokens: FcmTokens;

  constructor(private readonly opts: ConnectorOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.tokens = new FcmTokens({ ca: opts.ca, timeoutMs: opts.requestTimeoutMs }, this.clock);
  }

  private pool(origin: string): H2Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      // firebase-admin caps itself at 100 streams "to respect the backend limit" (§3.2); the server's SETTINGS rule.
      pool = new H2Pool(origin, { requestTimeoutMs: this.opts.requestTimeoutMs, clock: this.clock, connect: trustOptions(this.opts.ca) });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async send(batch: PnsBatch<FcmCredentials>): Promise<DeliveryOutcome[]> {
    const { targets } = batch;
    const c = batch.credentials;
    if (!c || c.platform !== 'fcmv1') return allTargets(targets, outcome('rejected', 'InvalidCredentials', 'no FCM credentials for this hub'));
    const problem = credentialProblem(c);
    if (problem) return allTargets(targets, outcome('rejected', 'InvalidCredentials', problem));

    const outcomes = new Array<DeliveryOutcome | undefined>(targets.length);
    const bodies: Array<[number, string]> = [];
    targets.forEach((t, i) => {
      const target = fcmTarget(t.handle);
      if (!target) return void (outcomes[i] = outcome('rejected', 'WrongToken', 'the handle is neither an FCM registration token nor fid: and a Firebase installation id'));
      const body = sendBody(t.payload, target, t.collapseId);
      if (typeof body === 'string') bodies.push([i, body]);
      else outcomes[i] = body;
    });
    if (bodies.length > 0) {
      const origin = new URL(c.endpoint ?? FCM_ENDPOINT).origin;
      const path = `/v1/projects/${encodeURIComponent(c.serviceAccount.project_id)}/messages:send`;
      let token = await this.tokens.get(c);
      if (!token.ok) {
        const o = outcome(token.failure.retry ? 'retry' : 'rejected', token.failure.retry ? 'PnsUnreachable' : 'InvalidCredentials', token.failure.reason);
        for (const [i] of bodies) outcomes[i] = { ...o };
        return outcomes as DeliveryOutcome[];
      }
      const post = (bearer: string, body: string): Promise<H2Result> =>
        this.pool(origin).requestAsync({ ':method': 'POST', ':path': path, authorization: `Bearer ${bearer}`, 'content-type': 'application/json; charset=UTF-8' }, body);
      let results = await Promise.all(bodies.map(([, b]) => post((token as { token: string }).token, b)));
      // A 401 means the access token is no longer accepted: renew it once and resend those (the only
      // resend in this connector: it is the token refresh, not a retry of the notification).
      const unauthorized = results.flatMap((r, k) => (r.ok && r.status === 401 ? [k] : []));
      if (unauthorized.length > 0) {
        // Only the refused token goes: another batch may have fetched a newer one meanwhile.
        this.tokens.forget(c, (token as { token: string }).token);
        token = await this.tokens.get(c);
        if (token.ok) {
          const again = await Promise.all(unauthorized.map((k) => post((token as { token: string }).token, bodies[k]![1])));
          unauthorized.forEach((k, j) => (results[k] = again[j]!));
        }
      }
      results = results.slice();
      results.forEach((r, k) => {
        const i = bodies[k]![0];
        if (!r.ok) outcomes[i] = unreachable(r.error);
        else if (r.status === 200) {
          let name: string | undefined;
          try {
            name = (JSON.parse(r.body.toString('utf8')) as { name?: string }).name;
          } catch {
            name = undefined;
          }
          outcomes[i] = delivered(name);
        } else outcomes[i] = fcmErrorOutcome(r.status, r.body, r.headers, this.clock.now());
      });
    }
    return outcomes as DeliveryOutcome[];
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}
