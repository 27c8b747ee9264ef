/**
 * The Amazon Device Messaging connector (Kindle Fire, Fire TV): `POST {api.amazon.com}/messaging/registrations/
 * {registrationId}/messages` with a cached Login with Amazon token, one request per device over HTTP/1.1 with
 * a keep-alive Agent, one outcome per target.
 * Vendor doc: https://developer.amazon.com/docs/adm/send-message.html
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { allTargets, delivered, outcome, unreachable, type ConnectorOptions, type DeliveryOutcome, type PnsBatch, type PnsConnector } from '../connector.ts';
import { postOnce, type PostResult } from '../http1.ts';
import { trustOptions } from '../tls-trust.ts';
import { admBase, AdmTokens, type AdmCredentials } from './adm-auth.ts';
import { admErrorOutcome } from './adm-errors.ts';
import { admRequestBody } from './adm-payload.ts';

export type { AdmCredentials } from './adm-auth.ts';

/** Registration ids are opaque (`amzn1.adm-registration.v3.…`); printable, no spaces, of a sane length. */
const REGISTRATION_ID = /^[\x21-\x7e]{1,2048}$/;
const DEFAULT_TIMEOUT_MS = 30_000;


export class AdmConnector implements PnsConnector<AdmCredentials> {
  readonly platform = 'adm' as const;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;
  readonly tokens: AdmTokens;

  constructor(opts: ConnectorOptions & { socketsPerHost?: number } = {}) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.tokens = new AdmTokens({ ca: opts.ca, timeoutMs: opts.requestTimeoutMs }, this.clock);
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: opts.socketsPerHost ?? 32, ...trustOptions(opts.ca) });
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: opts.socketsPerHost ?? 32 });
  }

  async send(batch: PnsBatch<AdmCredentials>): Promise<DeliveryOutcome[]> {
    const { targets } = batch;
    const c = batch.credentials;
    if (!c || c.platform !== 'adm') return allTargets(targets, outcome('rejected', 'InvalidCredentials', 'no ADM credentials for this hub'));
    if (!c.clientId || !c.clientSecret) return allTargets(targets, outcome('rejected', 'InvalidCredentials', 'the ADM credentials need clientId and clientSecret'));

    const outcomes = new Array<DeliveryOutcome | undefined>(targets.length);
    const requests: Array<[number, string, string]> = [];
    targets.forEach((t, i) => {
      if (!REGISTRATION_ID.test(t.handle)) return void (outcomes[i] = outcome('handle-expired', 'WrongToken', 'the handle is not an ADM registration id'));
      const body = admRequestBody(t.payload);
      if (!body.ok) return void (outcomes[i] = outcome('rejected', body.tooLarge ? 'InvalidNotificationSize' : 'PnsInterfaceError', body.message));
      requests.push([i, `${admBase(c)}/messaging/registrations/${encodeURIComponent(t.handle)}/messages`, body.body]);
    });
    if (requests.length === 0) return outcomes as DeliveryOutcome[];

    const token = await this.tokens.get(c);
    if (!token.ok) {
      for (const [i] of requests) outcomes[i] = { ...token.failure };
      return outcomes as DeliveryOutcome[];
    }
    const results = await Promise.all(requests.map(([, url, body]) => this.post(url, body, token.token)));
    // A 401 (AccessTokenExpired): renew the token once for the batch and resend those targets once. This
    // is the token refresh, not a retry policy (dispatch/retry-policy owns those).
    const unauthorized = results.flatMap((r, k) => (r.ok && r.status === 401 ? [k] : []));
    if (unauthorized.length > 0) {
      this.tokens.forget(c, token.token);
      const fresh = await this.tokens.get(c);
      if (fresh.ok) {
        const again = await Promise.all(unauthorized.map((k) => this.post(requests[k]![1], requests[k]![2], fresh.token)));
        unauthorized.forEach((k, j) => (results[k] = again[j]!));
      } else {
        for (const k of unauthorized) outcomes[requests[k]![0]] = { ...fresh.failure };
      }
    }
    results.forEach((r, k) => {
      const i = requests[k]![0];
      if (outcomes[i]) return;
      if (!r.ok) outcomes[i] = unreachable(r.error);
      else if (r.status === 200) outcomes[i] = this.success(targets[i]!.handle, r);
      else outcomes[i] = admErrorOutcome(r.status, r.body, r.headers, this.clock.now());
    });
    return outcomes as DeliveryOutcome[];
  }

  /** 200 `{"registrationID":"…"}`: a different id than the one sent is the app instance's current one. */
  private success(sent: string, r: Extract<PostResult, { ok: true }>): DeliveryOutcome {
    const requestId = typeof r.headers['x-amzn-requestid'] === 'string' ? (r.headers['x-amzn-requestid'] as string) : undefined;
    const o = delivered(requestId);
    let current: unknown;
    try {
      current = (JSON.parse(r.body) as { registrationID?: unknown }).registrationID;
    } catch {
      current = undefined;
    }
    // Kept in the outcome for the app's backend to update its registration (Herald does not rewrite handles).
    if (typeof current === 'string' && current !== '' && current !== sent) o.pns = { registrationID: current.slice(0, 2048) };
    return o;
  }

  private post(url: string, body: string, bearer: string): Promise<PostResult> {
    return postOnce(url, {
      agent: url.startsWith('https:') ? this.httpsAgent : this.httpAgent,
      headers: {
        Authorization: `Bearer ${bearer}`,
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(body)),
        Accept: 'application/json',
        'X-Amzn-Type-Version': 'com.amazon.device.messaging.ADMMessage@1.0',
        'X-Amzn-Accept-Type': 'com.amazon.device.messaging.ADMSendResult@1.0',
      },
      body,
      clock: this.clock,
      timeoutMs: this.timeoutMs,
      pns: 'ADM',
      maxBodyChars: 64 * 1024,
    });
  }

  async close(): Promise<void> {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}
