/**
 * VAPID (RFC 8292, pns-protocols.md §4.4): `Authorization: vapid t=<ES256 JWT>, k=<public key>`, one JWT per
 * push-service origin (the `aud`), cached until close to its expiry instead of signed per message.
 */
import { createECDH, createPrivateKey, type KeyObject } from 'node:crypto';
import type { PnsCredentials } from '../../hubs/credentials.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { BoundedMap } from '../bounded-map.ts';
import { epochSeconds, signJws } from '../jws.ts';

export type BrowserCredentials = Extract<PnsCredentials, { platform: 'browser' }>;

/** RFC 8292 §2: exp at most 24 h ahead; web-push uses 12 h, so do we. */
export const VAPID_LIFETIME_MS = 12 * 3600_000;
/** Renew with an hour left, so a JWT never expires in flight or on a skewed clock. */
export const VAPID_RENEW_BEFORE_MS = 3600_000;

/** Why the VAPID keys cannot sign, checked once per key pair without a network call; undefined when fine. */
export function vapidProblem(c: BrowserCredentials): string | undefined {
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(c.subject ?? '')) return 'VAPID subject must be a mailto: or https: contact (RFC 8292 §2.1)';
  try {
    const pub = Buffer.from(c.publicKey, 'base64url');
    const priv = Buffer.from(c.privateKey, 'base64url');
    if (pub.length !== 65 || pub[0] !== 4) return 'VAPID public key must be an uncompressed P-256 point (65 bytes)';
    if (priv.length !== 32) return 'VAPID private key must be 32 bytes';
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(priv);
    if (!ecdh.getPublicKey().equals(pub)) return 'the VAPID private key does not belong to the public key';
  } catch (err) {
    return `VAPID keys do not parse: ${(err as Error).message}`;
  }
  return undefined;
}

function signingKey(c: BrowserCredentials): KeyObject {
  const pub = Buffer.from(c.publicKey, 'base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: c.privateKey, x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') },
    format: 'jwk',
  });
}

/** JWTs kept (one per VAPID key and push-service origin) and signing keys kept (one per VAPID key). */
export const MAX_VAPID_TOKENS = 1024;
export const MAX_VAPID_KEYS = 256;

export class VapidTokens {
  // Bounded: origins come from subscriptions, keys from hubs; a dropped entry is only signed again.
  private readonly cache = new BoundedMap<string, { header: string; renewAt: number }>(MAX_VAPID_TOKENS);
  private readonly keys = new BoundedMap<string, KeyObject>(MAX_VAPID_KEYS);

  constructor(private readonly clock: Clock = systemClock) {}

  /** JWTs cached now (tests: the cache is bounded). */
  get size(): number {
    return this.cache.size;
  }

  /** The Authorization header for pushes to `audience` (the endpoint's origin, port included). */
  authorization(c: BrowserCredentials, audience: string): string {
    const id = `${c.publicKey}|${audience}`;
    const now = this.clock.now();
    const cached = this.cache.get(id);
    if (cached && now < cached.renewAt) return cached.header;
    let key = this.keys.get(c.privateKey);
    if (!key) {
      key = signingKey(c);
      this.keys.set(c.privateKey, key);
    }
    const exp = now + VAPID_LIFETIME_MS;
    const jwt = signJws({ typ: 'JWT', alg: 'ES256' }, { aud: audience, exp: epochSeconds(exp), sub: c.subject }, key);
    const header = `vapid t=${jwt}, k=${c.publicKey}`;
    this.cache.set(id, { header, renewAt: exp - VAPID_RENEW_BEFORE_MS });
    return header;
  }
}
