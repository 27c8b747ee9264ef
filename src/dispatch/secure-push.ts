/**
 * Secure push (beyond Azure, which leaves it to each backend): the sensitive payload never travels
 * through the PNS. A send marked `X-Herald-Secure: true` stores its payload sealed (AES-256-GCM) with
 * a time to live; each device gets only the notification id in a minimal per-platform envelope, and
 * reads the payload with a credential the hub issued for its own installation. Only an installation
 * the push was delivered to can read it; every read is recorded; at the TTL the payload is erased.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformName } from '../registry/model.ts';
import type { Clock } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';

export const SECURE_HEADER = 'x-herald-secure';
export const SECURE_TTL_HEADER = 'x-herald-secure-ttl';
export const DEFAULT_SECURE_TTL_S = 86_400;
export const MAX_SECURE_TTL_S = 7 * 86_400;

/**
 * What a secure notification's request keeps instead of its payload. The payload itself, sealed with the
 * hub's secret key, is stored beside the notification until `expiresAt` and erased then
 * (DispatchStore.securePayload, purgeSecurePayloads).
 */
export interface SecureStamp {
  notificationId: string;
  expiresAt: number;
}

/** `X-Herald-Secure: true` and an optional `X-Herald-Secure-TTL` in seconds; undefined for a plain send. */
export function parseSecureOptions(headers: Readonly<Record<string, string | string[] | undefined>>): { ttlMs: number } | undefined {
  const flag = headers[SECURE_HEADER];
  if (flag === undefined) return undefined;
  if (String(flag).toLowerCase() !== 'true') {
    throw new HubError('invalid_request', `${SECURE_HEADER} must be "true" (or absent).`, { reason: 'invalid_secure_header' });
  }
  const ttl = headers[SECURE_TTL_HEADER];
  if (ttl === undefined) return { ttlMs: DEFAULT_SECURE_TTL_S * 1000 };
  const n = Number(ttl);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SECURE_TTL_S) {
    throw new HubError('invalid_request', `${SECURE_TTL_HEADER} must be a whole number of seconds from 1 to ${MAX_SECURE_TTL_S}.`, { reason: 'invalid_secure_ttl' });
  }
  return { ttlMs: n * 1000 };
}

/** The push a device gets instead of the payload: only the id, as each platform carries data. */
export function secureEnvelope(platform: PlatformName, notificationId: string): { payload: string; headers: Record<string, string> } {
  switch (platform) {
    case 'apns':
      // A background push: the app wakes, fetches, and shows the notification itself.
      return { payload: JSON.stringify({ aps: { 'content-available': 1 }, heraldSecureId: notificationId }), headers: { 'apns-push-type': 'background', 'apns-priority': '5' } };
    case 'fcmv1':
      return { payload: JSON.stringify({ message: { data: { heraldSecureId: notificationId } } }), headers: {} };
    case 'wns':
      return { payload: JSON.stringify({ heraldSecureId: notificationId }), headers: { 'x-wns-type': 'wns/raw' } };
    default:
      return { payload: JSON.stringify({ heraldSecureId: notificationId }), headers: {} };
  }
}

/** What a valid device credential names. */
export interface DeviceCredentialClaim {
  installationId: string;
  /** The installation's credential generation when it was issued (InstallationStore.credentialGeneration). */
  generation: string;
}

/**
 * Device credentials: `hdc2.<payload>.<mac>`, payload = hub, installation id, the installation's
 * credential generation and expiry, signed with a key derived from the hub's secret key. It names one
 * generation of one installation of one hub and nothing else: once that installation is deleted (even if
 * one with the same id is created again) or its credentials are revoked, the generation differs and the
 * credential is refused. `hdc1` credentials (no generation) are refused: their installation cannot be told.
 */
export class DeviceCredentials {
  private readonly key: Buffer;

  constructor(secret: Buffer, private readonly clock: Clock) {
    this.key = createHmac('sha256', secret).update('herald device credentials v1').digest();
  }

  issue(hub: string, installationId: string, generation: string, ttlMs: number): { credential: string; expiresAt: number } {
    const expiresAt = this.clock.now() + ttlMs;
    const body = Buffer.from(JSON.stringify({ h: hub.toLowerCase(), i: installationId, g: generation, e: expiresAt })).toString('base64url');
    return { credential: `hdc2.${body}.${this.mac(body)}`, expiresAt };
  }

  /**
   * The installation and generation the credential is for; HubError for anything forged, expired or of
   * another hub. The caller checks the generation against the store (`stillValid`).
   */
  verify(hub: string, credential: string | undefined): DeviceCredentialClaim {
    const m = /^Bearer (hdc2\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+))$/.exec(credential ?? '');
    if (!m) {
      if (/^Bearer hdc1\./.test(credential ?? '')) throw invalidCredential('it was issued by an older Herald; ask your backend for a new one');
      throw invalidCredential('send "Authorization: Bearer <credential>" with the credential the hub issued for this installation');
    }
    const expected = Buffer.from(this.mac(m[2]!));
    const given = Buffer.from(m[3]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalidCredential('the signature does not match');
    const p = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as { h: string; i: string; g: string; e: number };
    if (p.h !== hub.toLowerCase()) throw invalidCredential('it is for another hub');
    if (p.e < this.clock.now()) throw invalidCredential('it has expired; ask your backend for a new one');
    return { installationId: p.i, generation: p.g };
  }

  /** Throws unless the installation still has the generation the credential was issued in. */
  static stillValid(claim: DeviceCredentialClaim, current: string | null | undefined): void {
    if (current === undefined || current === null || current !== claim.generation) {
      throw invalidCredential('it was revoked, or its installation was deleted since it was issued; ask your backend for a new one');
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

function invalidCredential(why: string): HubError {
  return new HubError('device_credential_invalid', `The device credential is not valid: ${why}.`);
}
