/**
 * ADM sender credentials and the Login with Amazon token endpoint, `POST /auth/o2/token` (client-credentials
 * grant, scope `messaging:push`). Tokens are opaque (`Atc|…`), live an hour and are bound to the security
 * profile (app) they were issued to.
 * Vendor doc: https://developer.amazon.com/docs/adm/request-access-token.html
 */
import { randomBytes } from 'node:crypto';
import { json } from '../shared/emulator-core.ts';
import type { Reply } from '../shared/server.ts';

export interface AdmApp {
  /** The app the security profile belongs to (its Android package); registration ids belong to it. */
  package: string;
  clientId: string;
  clientSecret: string;
}

const LIFETIME_S = 3600;
const SCOPE = 'messaging:push';

export class AdmAuth {
  /** Plain maps the emulator owns (client id → app; token → its app and expiry), so their state can be saved. */
  readonly apps = new Map<string, AdmApp>();
  readonly tokens = new Map<string, { package: string; expiresAt: number }>();

  /** The security profiles minted so far, for the state file (issue 12 item 5); tokens are not kept (senders ask again). */
  exportState(): unknown {
    return [...this.apps.values()];
  }

  importState(data: unknown): void {
    for (const app of data as AdmApp[]) this.apps.set(app.clientId, app);
  }

  mintApp(pkg: string): AdmApp {
    const app: AdmApp = {
      package: pkg,
      clientId: `amzn1.application-oa2-client.${randomBytes(16).toString('hex')}`,
      clientSecret: randomBytes(32).toString('hex'),
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  /** LWA's OAuth errors: 400 (401 for a wrong secret) with `{"error","error_description"}`. */
  token(form: URLSearchParams, nowMs: number): Reply {
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server' });
    const app = this.apps.get(form.get('client_id') ?? '');
    if (!app) return json(400, { error: 'invalid_client', error_description: 'The client_id is unknown' });
    if (app.clientSecret !== form.get('client_secret')) return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    if (form.get('scope') !== SCOPE) return json(400, { error: 'invalid_scope', error_description: `The requested scope is invalid; ADM takes ${SCOPE}` });
    const token = `Atc|${randomBytes(48).toString('base64url')}`;
    this.tokens.set(token, { package: app.package, expiresAt: nowMs + LIFETIME_S * 1000 });
    return json(200, { access_token: token, expires_in: LIFETIME_S, scope: SCOPE, token_type: 'bearer' }, { 'cache-control': 'no-store' });
  }

  /** The app of a `Bearer` token; `expired` when it was issued but its hour is over. */
  lookup(authorization: string | undefined, nowMs: number): { package: string } | 'expired' | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = m?.[1] ? this.tokens.get(m[1]) : undefined;
    if (!token) return undefined;
    return token.expiresAt > nowMs ? { package: token.package } : 'expired';
  }
}
