/**
 * Compact JWS signing for the sender-side tokens: APNs provider tokens and VAPID (ES256 with the raw
 * r||s signature, pns-protocols.md §0) and the Google service-account assertion (RS256, §3.1).
 */
import { sign, type KeyObject } from 'node:crypto';

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJws(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature =
    header.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

/** Seconds since the epoch, the unit of JWT `iat`/`exp`. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
