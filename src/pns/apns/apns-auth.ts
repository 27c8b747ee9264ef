/**
 * APNs authentication (pns-protocols.md §2.4, §2.5): ES256 provider tokens, cached and renewed inside
 * Apple's rules, and the TLS options of certificate auth.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { epochSeconds, signJws } from '../jws.ts';

export type ApnsCredentials = Extract<PnsCredentials, { platform: 'apns' }>;

/**
 * §2.4: a token is valid for an hour and may be replaced no more often than every 20 minutes per
 * connection (429 TooManyProviderTokenUpdates). Renewing at 50 minutes stays inside both, with ten
 * minutes of slack for clock skew; one token serves every connection of a key, so no connection ever
 * sees a change sooner than 50 minutes after the last one.
 */
export const TOKEN_RENEW_AFTER_MS = 50 * 60_000;
/** Never renew sooner than this, even when asked (an ExpiredProviderToken answer after clock skew). */
export const TOKEN_MIN_AGE_MS = 20 * 60_000;

interface CachedToken {
  value: string;
  issuedAt: number;
}

export class ProviderTokens {
  private readonly cache = new Map<string, CachedToken>();
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** `bearer <jwt>` for the key, minted or reused. Throws when the key does not parse. */
  authorization(c: { keyId: string; teamId: string; key: string }): string {
    const id = `${c.teamId}/${c.keyId}`;
    const now = this.clock.now();
    const cached = this.cache.get(id);
    if (cached && now - cached.issuedAt < TOKEN_RENEW_AFTER_MS && now >= cached.issuedAt) return cached.value;
    let key = this.keys.get(c.key);
    if (!key) {
      key = createPrivateKey(c.key);
      this.keys.set(c.key, key);
    }
    const jwt = signJws({ alg: 'ES256', kid: c.keyId }, { iss: c.teamId, iat: epochSeconds(now) }, key);
    const value = `bearer ${jwt}`;
    this.cache.set(id, { value, issuedAt: now });
    return value;
  }

  /**
   * APNs said ExpiredProviderToken: forget the token so the next push mints one, unless it is younger than
   * 20 minutes (then the clocks disagree, and a new token would only earn TooManyProviderTokenUpdates).
   */
  expire(c: { keyId: string; teamId: string }): boolean {
    const id = `${c.teamId}/${c.keyId}`;
    const cached = this.cache.get(id);
    if (!cached) return false;
    const age = this.clock.now() - cached.issuedAt;
    if (age < TOKEN_MIN_AGE_MS && age >= 0) return false;
    this.cache.delete(id);
    return true;
  }
}

/** Checks that fail without a network call: a key or certificate that does not parse. */
export function credentialProblem(c: ApnsCredentials): string | undefined {
  try {
    if (c.auth === 'token') {
      if (!/^[A-Z0-9]{10}$/.test(c.keyId) || !/^[A-Z0-9]{10}$/.test(c.teamId)) return 'keyId and teamId must be 10-character Apple ids';
      const key = createPrivateKey(c.key);
      if (key.asymmetricKeyType !== 'ec') return 'the signing key must be a P-256 (ES256) key';
      if (!c.bundleId) return 'bundleId (the apns-topic) is required with token auth';
    } else {
      const cert = new X509Certificate(c.certificate);
      if (Date.parse(cert.validTo) < Date.now()) return `the certificate expired on ${cert.validTo}`;
      if (!cert.checkPrivateKey(createPrivateKey(c.privateKey))) return 'the private key does not belong to the certificate';
    }
  } catch (err) {
    return `credentials do not parse: ${(err as Error).message}`;
  }
  return undefined;
}

/** One connection pool per credential: a connection is bound to one team and key (§2.4) or one certificate. */
export function poolKey(c: ApnsCredentials, origin: string): string {
  return c.auth === 'token' ? `${origin}|token|${c.teamId}|${c.keyId}` : `${origin}|cert|${c.certificate}`;
}
