/**
 * ADM access tokens (Amazon, "Request an Access Token"): the OAuth 2.0 client-credentials grant of Login with
 * Amazon, `POST {api.amazon.com}/auth/o2/token` with the security profile's client id and secret and scope
 * `messaging:push`; the answer is `{"access_token":"Atc|…","expires_in":3600,"scope":"messaging:push","token_type":"bearer"}`.
 * The credentials' `endpoint` replaces the host (an emulator). Tokens are cached per credential until a
 * minute before they expire; concurrent sends share one request.
 * Vendor doc: https://developer.amazon.com/docs/adm/request-access-token.html
 */
import { createHash } from 'node:crypto';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { outcome, type DeliveryOutcome } from '../connector.ts';
import { postForm } from '../http1.ts';

export type AdmCredentials = Extract<PnsCredentials, { platform: 'adm' }>;

export const ADM_API = 'https://api.amazon.com';
export const ADM_SCOPE = 'messaging:push';
export const ADM_TOKEN_PATH = '/auth/o2/token';
const RENEW_BEFORE_MS = 60_000;
const DEFAULT_LIFETIME_S = 3600;

export type AccessToken = { ok: true; token: string } | { ok: false; outcome: DeliveryOutcome };

export function admBase(c: AdmCredentials): string {
  return (c.endpoint ?? ADM_API).replace(/\/+$/, '');
}

export class AdmTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  private made = 0;

  constructor(
    private readonly opts: { ca?: string; timeoutMs?: number },
    private readonly clock: Clock = systemClock,
  ) {}

  /** A changed secret or endpoint never reuses a token. */
  private key(c: AdmCredentials): string {
    return [c.endpoint ?? '', c.clientId, createHash('sha256').update(c.clientSecret).digest('base64url')].join('|');
  }

  get requests(): number {
    return this.made;
  }

  get(c: AdmCredentials): Promise<AccessToken> {
    const id = this.key(c);
    const cached = this.cache.get(id);
    if (cached && this.clock.now() < cached.renewAt) return Promise.resolve({ ok: true, token: cached.token });
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.exchange(c, id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  /** A 401 from ADM: drop that token only (another batch may have fetched a newer one meanwhile). */
  forget(c: AdmCredentials, token: string): void {
    const id = this.key(c);
    if (this.cache.get(id)?.token === token) this.cache.delete(id);
  }

  private async exchange(c: AdmCredentials, id: string): Promise<AccessToken> {
    this.made += 1;
    const form = { grant_type: 'client_credentials', scope: ADM_SCOPE, client_id: c.clientId, client_secret: c.clientSecret };
    const res = await postForm(`${admBase(c)}${ADM_TOKEN_PATH}`, form, { ...this.opts, clock: this.clock });
    if (!res.ok) return { ok: false, outcome: outcome('retry', 'PnsUnreachable', `ADM token endpoint unreachable: ${res.error}`) };
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      // Not JSON: the status decides below.
    }
    if (res.status === 200 && typeof body.access_token === 'string' && body.access_token !== '' && /^bearer$/i.test(String(body.token_type ?? 'bearer'))) {
      const seconds = Number(body.expires_in);
      const lifetimeMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LIFETIME_S) * 1000;
      this.cache.set(id, { token: body.access_token, renewAt: this.clock.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) });
      return { ok: true, token: body.access_token };
    }
    const detail = `${typeof body.error === 'string' ? ` ${body.error}` : ''}${typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 300)})` : ''}`;
    const reason = `ADM token endpoint: HTTP ${res.status}${detail}`;
    // 429 and 5xx: Login with Amazon, not the credentials. invalid_client and friends will not get better.
    if (res.status === 429) return { ok: false, outcome: outcome('retry', 'Throttled', reason) };
    if (res.status >= 500) return { ok: false, outcome: outcome('retry', 'PnsUnavailable', reason) };
    return { ok: false, outcome: outcome('rejected', 'InvalidCredentials', reason) };
  }
}
