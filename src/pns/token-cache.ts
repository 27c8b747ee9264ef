/**
 * The access tokens of a connector's OAuth flow (FCM's JWT bearer grant, WNS's and ADM's client-credentials
 * grant): one token per credential, kept until its renewal time; concurrent sends that find none share one
 * request; a 401 from the PNS drops the token it was given (and only that one: another batch may have
 * fetched a newer one meanwhile). What a flow sends and how it reads the answer stay with the flow.
 */
import type { Clock } from '../shared/clock.ts';
import { outcome, type DeliveryOutcome } from './connector.ts';
import type { FormResult } from './http1.ts';

/** A fetched token with how long it lives, or the flow's own failure. */
export type Fetched<F> = { ok: true; token: string; lifetimeMs: number } | { ok: false; failure: F };
export type Cached<F> = { ok: true; token: string } | { ok: false; failure: F };

export class TokenCache<C, F> {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();
  private readonly inFlight = new Map<string, Promise<Cached<F>>>();
  private made = 0;

  constructor(
    private readonly clock: Clock,
    /** One entry per distinct credential: a changed secret or endpoint never reuses a token. */
    private readonly keyOf: (c: C) => string,
    private readonly fetch: (c: C) => Promise<Fetched<F>>,
    /** When a token that lives `lifetimeMs` is fetched again, counted from when it arrived. */
    private readonly renewAfter: (lifetimeMs: number) => number,
  ) {}

  /** Token requests made so far (tests and metrics). */
  get requests(): number {
    return this.made;
  }

  get(c: C): Promise<Cached<F>> {
    const id = this.keyOf(c);
    const cached = this.cache.get(id);
    if (cached && this.clock.now() < cached.renewAt) return Promise.resolve({ ok: true, token: cached.token });
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.exchange(c, id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  /** The PNS refused `token` (401): fetch anew next time. Without a token, whatever is cached goes. */
  forget(c: C, token?: string): void {
    const id = this.keyOf(c);
    if (token === undefined || this.cache.get(id)?.token === token) this.cache.delete(id);
  }

  private async exchange(c: C, id: string): Promise<Cached<F>> {
    this.made += 1;
    const answer = await this.fetch(c);
    if (!answer.ok) return answer;
    this.cache.set(id, { token: answer.token, renewAt: this.clock.now() + this.renewAfter(answer.lifetimeMs) });
    return { ok: true, token: answer.token };
  }
}

/** Renew `earlyMs` before expiry; a token living less than twice that is renewed at half its life. */
export const renewEarly = (earlyMs: number) => (lifetimeMs: number) => Math.max(lifetimeMs - earlyMs, lifetimeMs / 2);

/**
 * The answer of an OAuth 2.0 client-credentials token endpoint (RFC 6749 §5; Microsoft Entra, live.com, Login
 * with Amazon): a bearer token with its lifetime (`expires_in` a number or a numeric string; absent: `defaultLifetimeS`),
 * or the outcome for every target of the batch. `label` names the endpoint in the reason.
 */
export function readClientCredentialsAnswer(res: FormResult, label: string, defaultLifetimeS = 3600): Fetched<DeliveryOutcome> {
  if (!res.ok) return { ok: false, failure: outcome('retry', 'PnsUnreachable', `${label} unreachable: ${res.error}`) };
  let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    // Not JSON: the status decides below.
  }
  // `bearer` (live.com, Amazon), `Bearer` (Entra).
  if (res.status === 200 && typeof body.access_token === 'string' && body.access_token !== '' && /^bearer$/i.test(String(body.token_type ?? 'bearer'))) {
    const seconds = Number(body.expires_in);
    return { ok: true, token: body.access_token, lifetimeMs: (Number.isFinite(seconds) && seconds > 0 ? seconds : defaultLifetimeS) * 1000 };
  }
  const description = typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 300)})` : '';
  // The status stays in the reason only: an outcome's `status` is the PNS's answer to the send.
  const reason = `${label}: HTTP ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}${description}`;
  // 5xx and 429: the login service, not the credentials; anything else (400 invalid_client, 401 for a
  // revoked secret, a 200 that is no token) will not get better by retrying.
  if (res.status === 429) return { ok: false, failure: outcome('retry', 'Throttled', reason) };
  if (res.status >= 500) return { ok: false, failure: outcome('retry', 'PnsUnavailable', reason) };
  return { ok: false, failure: outcome('rejected', 'InvalidCredentials', reason) };
}
