/**
 * Google service accounts and the OAuth 2.0 JWT-bearer token endpoint FCM's senders use
 * (pns-protocols.md §3.1, RFC 7523). Errors follow Google's OAuth wording.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { json } from '../shared/emulator-core.ts';
import { decodeJws, epochSeconds, verifyRs256 } from '../shared/jws.ts';
import type { Reply } from '../shared/server.ts';

export interface ServiceAccountJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

export interface AccessToken {
  clientEmail: string;
  project: string;
  scopes: string[];
  expiresAt: number;
}

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Audiences Google's libraries put in the assertion: today's token URL and the one older gtoken used. */
const GOOGLE_AUDIENCES = ['https://oauth2.googleapis.com/token', 'https://www.googleapis.com/oauth2/v4/token'];
/** §3.1: "Token must be a short-lived token (60 minutes)". */
const MAX_LIFETIME_S = 3600;
/** Tolerated clock difference between sender and token endpoint. */
const SKEW_S = 300;
const TOKEN_LIFETIME_S = 3599;
/** Scopes that allow sending (§3.1: firebase.messaging is the minimum; cloud-platform covers it). */
export const SEND_SCOPES = ['https://www.googleapis.com/auth/firebase.messaging', 'https://www.googleapis.com/auth/cloud-platform'];

function oauthError(error: string, description: string): Reply {
  return json(400, { error, error_description: description });
}

export class FcmAuth {
  private readonly accounts = new Map<string, { project: string; publicKey: KeyObject }>();
  private readonly tokens = new Map<string, AccessToken>();

  /** The accounts minted so far (public keys only), for the state file (issue 12 item 5). */
  exportState(): unknown {
    return [...this.accounts].map(([clientEmail, a]) => ({ clientEmail, project: a.project, publicKey: a.publicKey.export({ type: 'spki', format: 'pem' }) }));
  }

  importState(data: unknown): void {
    for (const a of data as Array<{ clientEmail: string; project: string; publicKey: string }>)
      this.accounts.set(a.clientEmail, { project: a.project, publicKey: createPublicKey(a.publicKey) });
  }

  knowsAccount(clientEmail: string): boolean {
    return this.accounts.has(clientEmail);
  }

  /** A service-account JSON as the Firebase console's "Generate new private key" would give it. */
  mintServiceAccount(project: string, tokenUri: string): ServiceAccountJson {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const id = randomBytes(3).toString('hex').slice(0, 5);
    const clientEmail = `firebase-adminsdk-${id}@${project}.iam.gserviceaccount.com`;
    this.accounts.set(clientEmail, { project, publicKey });
    return {
      type: 'service_account',
      project_id: project,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      client_email: clientEmail,
      client_id: `1${Array.from(randomBytes(20), (b) => b % 10).join('')}`,
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
      universe_domain: 'googleapis.com',
    };
  }

  /** `POST /token` with a form body (§3.1); `ownTokenUri` is accepted as an audience too. */
  exchange(form: URLSearchParams, ownTokenUri: string, nowMs: number): Reply {
    const grant = form.get('grant_type');
    if (grant !== GRANT_TYPE) return oauthError('unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`);
    const jws = decodeJws(form.get('assertion') ?? '');
    if (!jws) return oauthError('invalid_request', 'Invalid JWT: assertion is not a JWT');
    const { header, claims } = jws;
    // google-auth-library sends only {"alg":"RS256"}; kid and typ are optional (§3.1).
    if (header.alg !== 'RS256') return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const account = typeof claims.iss === 'string' ? this.accounts.get(claims.iss) : undefined;
    if (!account) return oauthError('invalid_grant', 'Invalid grant: account not found');
    if (!verifyRs256(jws, account.publicKey)) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    if (typeof claims.aud !== 'string' || ![...GOOGLE_AUDIENCES, ownTokenUri].includes(claims.aud))
      return oauthError('invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_AUDIENCES[0]}`);
    const now = epochSeconds(nowMs);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > MAX_LIFETIME_S || iat > now + SKEW_S || exp < now - SKEW_S)
      return oauthError(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    const scope = typeof claims.scope === 'string' ? claims.scope : '';
    if (scope === '') return oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const accessToken = `ya29.c.${randomBytes(48).toString('base64url')}`;
    this.tokens.set(accessToken, {
      clientEmail: claims.iss as string,
      project: account.project,
      scopes: scope.split(/\s+/),
      expiresAt: nowMs + TOKEN_LIFETIME_S * 1000,
    });
    return json(200, { access_token: accessToken, expires_in: TOKEN_LIFETIME_S, token_type: 'Bearer' }, { 'cache-control': 'no-store' });
  }

  /** The token behind `Authorization: Bearer ...`, if it is one the endpoint issued and it is still valid. */
  lookup(authorization: string | undefined, nowMs: number): AccessToken | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = m?.[1] ? this.tokens.get(m[1]) : undefined;
    return token && token.expiresAt > nowMs ? token : undefined;
  }
}
