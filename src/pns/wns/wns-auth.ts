/**
 * WNS access tokens (pns-protocols.md §1.1, §1.2), both client-credentials flows:
 * - with `tenantId`: Microsoft Entra ID v2, `POST {login.microsoftonline.com}/{tenant}/oauth2/v2.0/token`,
 *   App ID + secret, scope `https://wns.windows.com/.default` (the current flow, Windows App SDK);
 * - without: the legacy Store/Partner-Center flow, `POST {login.live.com}/accesstoken.srf`, Package SID +
 *   secret, scope `notify.windows.com` (UWP only).
 * The credentials' `endpoint` replaces the login host (the emulator serves both paths at its base URL).
 * Tokens are cached per credential until five minutes before they expire; concurrent sends share one request.
 */
import { createHash } from 'node:crypto';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { postForm } from '../http1.ts';
import { readClientCredentialsAnswer, renewEarly, TokenCache } from '../token-cache.ts';

export type WnsCredentials = Extract<PnsCredentials, { platform: 'wns' }>;

export const LIVE_LOGIN = 'https://login.live.com';
export const ENTRA_LOGIN = 'https://login.microsoftonline.com';
export const LIVE_SCOPE = 'notify.windows.com';
export const ENTRA_SCOPE = 'https://wns.windows.com/.default';
const RENEW_BEFORE_MS = 5 * 60_000;
/** When the answer names no lifetime: the shorter of the two documented ones (Entra's 3599 s). */
const DEFAULT_LIFETIME_S = 3599;

/** §1.1: a Package SID, `ms-app://S-1-15-2-...`. §1.2: the App (client) ID, a GUID. */
const PACKAGE_SID = /^ms-app:\/\/s-1-15-2-[\d-]+$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant is a GUID or a verified domain (contoso.onmicrosoft.com); it becomes a path segment. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$/;

/** Why these credentials cannot work, found without asking anyone; undefined when they may. */
export function credentialProblem(c: WnsCredentials): string | undefined {
  if (typeof c.clientId !== 'string' || c.clientId === '') return 'clientId is missing';
  if (typeof c.clientSecret !== 'string' || c.clientSecret === '') return 'clientSecret is missing';
  if (c.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(c.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return 'endpoint must be an http or https URL';
  }
  if (c.tenantId !== undefined) {
    if (!TENANT.test(c.tenantId)) return 'tenantId must be the Entra tenant id (a GUID) or its domain';
    if (!GUID.test(c.clientId)) return 'with tenantId (Microsoft Entra ID), clientId must be the application (client) id, a GUID';
  } else if (!PACKAGE_SID.test(c.clientId)) {
    return 'without tenantId (legacy Store flow), clientId must be the Package SID, ms-app://S-1-15-2-...';
  }
  return undefined;
}

/** The token request of the credentials' flow. */
export function tokenRequest(c: WnsCredentials): { url: string; form: Record<string, string> } {
  const base = (login: string): string => (c.endpoint ?? login).replace(/\/+$/, '');
  const client = { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret };
  if (c.tenantId !== undefined) {
    return { url: `${base(ENTRA_LOGIN)}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`, form: { ...client, scope: ENTRA_SCOPE } };
  }
  return { url: `${base(LIVE_LOGIN)}/accesstoken.srf`, form: { ...client, scope: LIVE_SCOPE } };
}

/** WNS tokens per credential (pns/token-cache.ts): renewed five minutes before they expire. */
export class WnsTokens extends TokenCache<WnsCredentials, DeliveryOutcome> {
  constructor(opts: { ca?: string; timeoutMs?: number }, clock: Clock = systemClock) {
    super(
      clock,
      // One entry per flow, login host, client and secret: a changed secret never reuses a token.
      (c) => [c.tenantId ?? '', c.endpoint ?? '', c.clientId, createHash('sha256').update(c.clientSecret).digest('base64url')].join('|'),
      async (c) => {
        const { url, form } = tokenRequest(c);
        // §1.1 live.com answers `bearer`, §1.2 Entra `Bearer`; expires_in is an integer on v2, a string in the v1-style sample.
        return readClientCredentialsAnswer(await postForm(url, form, { ...opts, clock }), 'token endpoint', DEFAULT_LIFETIME_S);
      },
      renewEarly(RENEW_BEFORE_MS),
    );
  }
}
