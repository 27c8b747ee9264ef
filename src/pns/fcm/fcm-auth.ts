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
import { TokenCache } from '../token-cache.ts';

export type FcmCredentials = Extract<PnsCredentials, { platform: 'fcmv1' }>;
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const RENEW_BEFORE_MS = 5 * 60_000;

/** Why no token: `retry` when the token endpoint may answer later (5xx, unreachable). */
export interface TokenFailure {
  retry: boolean;
  reason: string;
}

/** Service-account tokens per account and token endpoint (pns/token-cache.ts), renewed five minutes early. */
export class FcmTokens extends TokenCache<FcmCredentials, TokenFailure> {
  constructor(opts: { ca?: string; timeoutMs?: number }, clock: Clock = systemClock) {
    const keys = new Map<string, KeyObject>();
    super(
      clock,
      (c) => `${c.serviceAccount.client_email}|${c.serviceAccount.token_uri ?? ''}`,
      async (c) => {
        const sa = c.serviceAccount;
        const tokenUri = sa.token_uri ?? GOOGLE_TOKEN_URI;
        let key = keys.get(sa.private_key);
        if (!key) {
          key = createPrivateKey(sa.private_key);
          keys.set(sa.private_key, key);
        }
        const now = epochSeconds(clock.now());
        // google-auth-library's claims (§3.1); aud is the endpoint the assertion is presented to.
        const assertion = signJws({ alg: 'RS256', typ: 'JWT' }, { iss: sa.client_email, scope: FCM_SCOPE, aud: tokenUri, iat: now, exp: now + 3600 }, key);
        const res = await postForm(tokenUri, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }, { ...opts, clock });
        if (!res.ok) return { ok: false, failure: { retry: true, reason: `token endpoint unreachable: ${res.error}` } };
        let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
        try {
          body = JSON.parse(res.body) as typeof body;
        } catch {
          // handled below
        }
        if (res.status === 200 && typeof body.access_token === 'string') {
          return { ok: true, token: body.access_token, lifetimeMs: (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000 };
        }
        const reason = `token endpoint: ${String(body.error ?? `HTTP ${res.status}`)}${body.error_description ? ` (${String(body.error_description)})` : ''}`;
        // 4xx: the service account is refused (revoked key, deleted account); 5xx: try later.
        return { ok: false, failure: { retry: res.status >= 500, reason } };
      },
      (lifetimeMs) => lifetimeMs - RENEW_BEFORE_MS,
    );
  }
}
