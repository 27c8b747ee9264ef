/**
 * FCM OAuth (pns-protocols.md §3.1, RFC 7523): an RS256 assertion signed with the service account's key,
 * exchanged at its token_uri for an access token, cached until five minutes before it expires. Concurrent
 * sends share one exchange.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { epochSeconds, signJws } from '../jws.ts';
import { postForm } from '../http1.ts';

export type FcmCredentials = Extract<PnsCredentials, { platform: 'fcmv1' }>;
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const RENEW_BEFORE_MS = 5 * 60_000;

export type AccessToken = { ok: true; token: string } | { ok: false; retry: boolean; reason: string };

export class FcmTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  private readonly keys = new Map<string, KeyObject>();

  constructor(
    private readonly opts: { ca?: string; timeoutMs?: number },
    private readonly clock: Clock = systemClock,
  ) {}

  get(c: FcmCredentials): Promise<AccessToken> {
    const sa = c.serviceAccount;
    const id = `${sa.client_email}|${sa.token_uri ?? ''}`;
    const cached = this.cache.get(id);
    if (cached && this.clock.now() < cached.renewAt) return Promise.resolve({ ok: true, token: cached.token });
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.exchange(c, id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  /** A 401 from FCM: the token is no good any more. */
  forget(c: FcmCredentials): void {
    this.cache.delete(`${c.serviceAccount.client_email}|${c.serviceAccount.token_uri ?? ''}`);
  }

  private async exchange(c: FcmCredentials, id: string): Promise<AccessToken> {
    const sa = c.serviceAccount;
    const tokenUri = sa.token_uri ?? GOOGLE_TOKEN_URI;
    let key = this.keys.get(sa.private_key);
    if (!key) {
      key = createPrivateKey(sa.private_key);
      this.keys.set(sa.private_key, key);
    }
    const now = epochSeconds(this.clock.now());
    // google-auth-library's claims (§3.1); aud is the endpoint the assertion is presented to.
    const assertion = signJws({ alg: 'RS256', typ: 'JWT' }, { iss: sa.client_email, scope: FCM_SCOPE, aud: tokenUri, iat: now, exp: now + 3600 }, key);
    const res = await postForm(tokenUri, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }, { ...this.opts, clock: this.clock });
    if (!res.ok) return { ok: false, retry: true, reason: `token endpoint unreachable: ${res.error}` };
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      // handled below
    }
    if (res.status === 200 && typeof body.access_token === 'string') {
      const lifetime = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
      this.cache.set(id, { token: body.access_token, renewAt: this.clock.now() + lifetime - RENEW_BEFORE_MS });
      return { ok: true, token: body.access_token };
    }
    const reason = `token endpoint: ${String(body.error ?? `HTTP ${res.status}`)}${body.error_description ? ` (${String(body.error_description)})` : ''}`;
    // 4xx: the service account is refused (revoked key, deleted account); 5xx: try later.
    return { ok: false, retry: res.status >= 500, reason };
  }
}
