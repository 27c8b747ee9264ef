/**
 * WNS sender credentials and both token endpoints (pns-protocols.md §1.1, §1.2): the legacy
 * login.live.com `/accesstoken.srf` (Package SID + secret) and Entra ID `/{tenant}/oauth2/v2.0/token`
 * (App ID + secret). Tokens are opaque and bound to the app they were issued to (§1.9.1).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { json } from '../shared/emulator-core.ts';
import type { Reply } from '../shared/server.ts';

export interface WnsApp {
  /** The app identity channels belong to (package family name). */
  package: string;
  /** Legacy flow: Package SID `ms-app://S-1-15-2-...` and its secret. */
  clientId: string;
  clientSecret: string;
  /** Entra flow: tenant, application (client) id and its secret. */
  tenantId: string;
  appId: string;
  appSecret: string;
}

interface IssuedToken {
  package: string;
  expiresAt: number;
}

/** §1.1 and §1.2: 24 h for login.live.com tokens, 3599 s for Entra tokens. */
const LIVE_LIFETIME_S = 86_400;
const ENTRA_LIFETIME_S = 3599;
const LIVE_SCOPES = ['notify.windows.com', 's.notify.live.net'];
const ENTRA_SCOPE = 'https://wns.windows.com/.default';

function packageSid(): string {
  const part = (): number => randomBytes(4).readUInt32BE(0);
  return `ms-app://S-1-15-2-${part()}-${part()}-${part()}-${part()}-${part()}-${part()}-${part()}`;
}

/** The shape of an Entra ID (AADSTS) error body (§1.2). */
function entraError(status: number, error: string, code: number, text: string): Reply {
  const trace = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${randomUUID()} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: trace,
    correlation_id: randomUUID(),
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

export class WnsAuth {
  private readonly apps: WnsApp[] = [];
  private readonly tokens = new Map<string, IssuedToken>();

  /** The apps minted so far, for the state file (issue 12 item 5); tokens are not kept (senders ask again). */
  exportState(): unknown {
    return this.apps;
  }

  importState(data: unknown): void {
    this.apps.push(...(data as WnsApp[]));
  }

  /** True when an app with this client id (Package SID or Entra application id) was minted here. */
  knowsApp(clientId: string): boolean {
    return this.apps.some((a) => a.clientId === clientId || a.appId === clientId);
  }

  mintApp(pkg: string): WnsApp {
    const app: WnsApp = {
      package: pkg,
      clientId: packageSid(),
      clientSecret: randomBytes(24).toString('base64url'),
      tenantId: randomUUID(),
      appId: randomUUID(),
      appSecret: randomBytes(30).toString('base64url'),
    };
    this.apps.push(app);
    return app;
  }

  private issue(pkg: string, lifetimeS: number, nowMs: number): string {
    const token = randomBytes(48).toString('base64');
    this.tokens.set(token, { package: pkg, expiresAt: nowMs + lifetimeS * 1000 });
    return token;
  }

  /** `POST /accesstoken.srf` (§1.1); the `wns` npm library insists on `token_type: "bearer"` in lower case. */
  liveToken(form: URLSearchParams, nowMs: number): Reply {
    if (form.get('grant_type') !== 'client_credentials')
      return json(400, { error: 'unsupported_grant_type', error_description: 'The provided value for the input parameter \'grant_type\' is not valid.' });
    if (!LIVE_SCOPES.includes(form.get('scope') ?? ''))
      return json(400, { error: 'invalid_scope', error_description: 'The provided value for the input parameter \'scope\' is not valid.' });
    const app = this.apps.find((a) => a.clientId === form.get('client_id'));
    if (!app) return json(400, { error: 'invalid_client', error_description: 'The client does not exist.' });
    if (app.clientSecret !== form.get('client_secret'))
      return json(400, { error: 'invalid_client', error_description: 'The provided value for the \'client_secret\' parameter is not valid.' });
    const token = this.issue(app.package, LIVE_LIFETIME_S, nowMs);
    return json(200, { access_token: token, token_type: 'bearer', expires_in: LIVE_LIFETIME_S }, { 'cache-control': 'no-store' });
  }

  /** `POST /{tenant}/oauth2/v2.0/token` (§1.2). */
  entraToken(tenant: string, form: URLSearchParams, nowMs: number): Reply {
    if (form.get('grant_type') !== 'client_credentials')
      return entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const app = this.apps.find((a) => a.appId === form.get('client_id'));
    if (!app || app.tenantId !== tenant)
      return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${tenant}'.`);
    if (app.appSecret !== form.get('client_secret')) return entraError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    if (form.get('scope') !== ENTRA_SCOPE)
      return entraError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope must be ${ENTRA_SCOPE}.`);
    const token = this.issue(app.package, ENTRA_LIFETIME_S, nowMs);
    return json(200, { token_type: 'Bearer', expires_in: ENTRA_LIFETIME_S, ext_expires_in: ENTRA_LIFETIME_S, access_token: token }, { 'cache-control': 'no-store' });
  }

  /**
   * The app whose Entra application (client) id is `remoteId`: what a Windows App SDK app passes to
   * PushNotificationManager.CreateChannelAsync ("the Azure AppId", a GUID), so its channels belong to it.
   */
  appOfRemoteId(remoteId: string): WnsApp | undefined {
    return this.apps.find((a) => a.appId.toLowerCase() === remoteId.toLowerCase());
  }

  /** The app a `Bearer` token was issued to, when it is known and unexpired. */
  lookup(authorization: string | undefined, nowMs: number): string | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = m?.[1] ? this.tokens.get(m[1]) : undefined;
    return token && token.expiresAt > nowMs ? token.package : undefined;
  }
}
