/**
 * Secure push credentials: Herald (beyond Azure) issues a device a credential for its own installation
 * with `POST /{hub}/installations/{id}/credential`. The official client has no call for it, so this is
 * a plain HTTPS request signed with the same SAS scheme the client uses (HMAC-SHA256 over the
 * URL-encoded resource URI and the expiry), with the Full (Manage) key: a Listen key cannot issue one.
 */
import { createHmac } from 'node:crypto';

export interface IssuedCredential {
  credential: string;
  expiresAt: string;
  /** Where the device reads a payload: `.../payloads/{notificationId}`. */
  payloads: string;
}

interface ParsedConnectionString {
  /** `sb://host/` rewritten to `https://host/`; a plain `http://` endpoint (local tests) is kept. */
  baseUrl: string;
  keyName: string;
  key: string;
}

export function parseConnectionString(cs: string): ParsedConnectionString {
  const parts = new Map<string, string>();
  for (const p of cs.split(';')) {
    const i = p.indexOf('=');
    if (i > 0) parts.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
  }
  const endpoint = parts.get('Endpoint');
  const keyName = parts.get('SharedAccessKeyName');
  const key = parts.get('SharedAccessKey');
  if (!endpoint || !keyName || !key) throw new Error('the connection string needs Endpoint, SharedAccessKeyName and SharedAccessKey');
  const baseUrl = endpoint.replace(/^sb:\/\//i, 'https://');
  return { baseUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, keyName, key };
}

export function sasToken(resourceUri: string, keyName: string, key: string, ttlSeconds = 300): string {
  const sr = encodeURIComponent(resourceUri.toLowerCase());
  const se = Math.floor(Date.now() / 1000) + ttlSeconds;
  const sig = createHmac('sha256', key).update(`${sr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${encodeURIComponent(keyName)}`;
}

/** Thrown with the hub's status so the backend can tell "no such installation" (404) from a failure. */
export class HubCallError extends Error {
  constructor(readonly status: number, detail: string) {
    super(`the hub answered ${status}: ${detail}`);
  }
}

export async function issueDeviceCredential(connectionString: string, hubName: string, installationId: string): Promise<IssuedCredential> {
  const { baseUrl, keyName, key } = parseConnectionString(connectionString);
  const url = `${baseUrl}${encodeURIComponent(hubName)}/installations/${encodeURIComponent(installationId)}/credential?api-version=2020-06`;
  const res = await fetch(url, { method: 'POST', headers: { authorization: sasToken(baseUrl, keyName, key) } });
  const text = await res.text();
  if (res.status !== 201) throw new HubCallError(res.status, text.slice(0, 300));
  return JSON.parse(text) as IssuedCredential;
}
