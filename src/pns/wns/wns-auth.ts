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
import { outcome, type DeliveryOutcome } from '../connector.ts';
import { postForm } from '../http1.ts';

export type WnsCredentials = Extract<PnsCredentials, { platform: 'wns' }>;

export const LIVE_LOGIN = 'https://login.live.com';
export const ENTRA_LOGIN = 'https://login.microsoftonline.com';
export const LIVE_SCOPE = 'notify.windows.com';
export const ENTRA_SCOPE = 'https://wns.windows.com/.default';
const RENEW_BEFORE_MS = 5 * 60_000;
/** When the answer names no lifetime: the shorter of the two documented ones (Entra's 3599 s). */
const DEFAULT_LIFETIME_S = 3599;

export type AccessToken = { ok: true; token: string } | { ok: false; outcome: DeliveryOutcome };

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

interface TokenBody {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  error?: unknown;
  error_description?: unknown;
}

export class WnsTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  private made = 0;

  constructor(
    private readonly opts: { ca?: string; timeoutMs?: number },
    private readonly clock: Clock = systemClock,
  ) {}

  /** One cache entry per flow, login host, client and secret: a changed secret never reuses a token. */
  private key(c: WnsCredentials): string {
    const secret = createHash('sha256').update(c.clientSecret).digest('base64url');
    return [c.tenantId ?? '', c.endpoint ?? '', c.clientId, secret].join('|');
  }

  /** Token requests made so far (tests and metrics). */
  get requests(): number {
    return this.made;
  }

  get(c: WnsCredentials): Promise<AccessToken> {
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

  /**
   * A 401 from WNS: that token is no good any more. Only that token is dropped, so a batch that saw the
   * 401 late does not throw away the token another batch has just fetched.
   */
  forget(c: WnsCredentials, token: string): void {
    const id = this.key(c);
    if (this.cache.get(id)?.token === token) this.cache.delete(id);
  }

  private async exchange(c: WnsCredentials, id: string): Promise<AccessToken> {
    const { url, form } = tokenRequest(c);
    this.made += 1;
    const res = await postForm(url, form, { ...this.opts, clock: this.clock });
    if (!res.ok) return { ok: false, outcome: outcome('retry', 'PnsUnreachable', `token endpoint unreachable: ${res.error}`) };
    let body: TokenBody = {};
    try {
      body = JSON.parse(res.body) as TokenBody;
    } catch {
      // Not JSON: the status decides below.
    }
    // §1.1: `bearer` (live.com), §1.2: `Bearer` (Entra); the wns library insists on the string token.
    if (res.status === 200 && typeof body.access_token === 'string' && body.access_token !== '' && /^bearer$/i.test(String(body.token_type ?? 'bearer'))) {
      // §1.2: expires_in is an integer on v2, a string in the v1-style sample: accept both.
      const seconds = Number(body.expires_in);
      const lifetimeMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LIFETIME_S) * 1000;
      // Renew five minutes early; a token living less than ten minutes is renewed at half its life.
      const renewAt = this.clock.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2);
      this.cache.set(id, { token: body.access_token, renewAt });
      return { ok: true, token: body.access_token };
    }
    const description = typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 300)})` : '';
    // The status stays in the reason only: an outcome's `status` is WNS's answer to the send.
    const reason = `token endpoint: HTTP ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}${description}`;
    // 5xx and 429: the login service, not the credentials; anything else (400 invalid_client, 401
    // AADSTS7000215 for a revoked secret, a 200 that is no token) will not get better by retrying.
    if (res.status === 429) return { ok: false, outcome: outcome('retry', 'Throttled', reason) };
    if (res.status >= 500) return { ok: false, outcome: outcome('retry', 'PnsUnavailable', reason) };
    return { ok: false, outcome: outcome('rejected', 'InvalidCredentials', reason) };
  }
}
