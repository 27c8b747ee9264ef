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
import type { DeliveryOutcome } from '../connector.ts';
import { postForm } from '../http1.ts';
import { readClientCredentialsAnswer, renewEarly, TokenCache } from '../token-cache.ts';

export type AdmCredentials = Extract<PnsCredentials, { platform: 'adm' }>;

export const ADM_API = 'https://api.amazon.com';
export const ADM_SCOPE = 'messaging:push';
export const ADM_TOKEN_PATH = '/auth/o2/token';
const RENEW_BEFORE_MS = 60_000;

export function admBase(c: AdmCredentials): string {
  return (c.endpoint ?? ADM_API).replace(/\/+$/, '');
}

/** ADM tokens per credential (pns/token-cache.ts); renewed a minute before they expire. */
export class AdmTokens extends TokenCache<AdmCredentials, DeliveryOutcome> {
  constructor(opts: { ca?: string; timeoutMs?: number }, clock: Clock = systemClock) {
    super(
      clock,
      // A changed secret or endpoint never reuses a token.
      (c) => [c.endpoint ?? '', c.clientId, createHash('sha256').update(c.clientSecret).digest('base64url')].join('|'),
      async (c) => {
        const form = { grant_type: 'client_credentials', scope: ADM_SCOPE, client_id: c.clientId, client_secret: c.clientSecret };
        return readClientCredentialsAnswer(await postForm(`${admBase(c)}${ADM_TOKEN_PATH}`, form, { ...opts, clock }), 'ADM token endpoint');
      },
      renewEarly(RENEW_BEFORE_MS),
    );
  }
}
