/**
 * Compact JWS parsing and verification for the tokens the services check: APNs provider tokens and VAPID
 * (ES256, raw r||s signatures, pns-protocols.md §0) and Google service-account assertions (RS256, §3.1).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export interface DecodedJws {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodeJson(part: string): Record<string, unknown> | undefined {
  if (!B64URL.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits and decodes a compact JWS; undefined when it is not one. */
export function decodeJws(token: string): DecodedJws | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, c, s] = parts as [string, string, string];
  const header = decodeJson(h);
  const claims = decodeJson(c);
  if (!header || !claims || !B64URL.test(s)) return undefined;
  return { header, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, 'base64url') };
}

export function verifyEs256(jws: DecodedJws, key: KeyObject | string): boolean {
  if (jws.signature.length !== 64) return false;
  try {
    return verify('sha256', Buffer.from(jws.signingInput), { key: toKey(key), dsaEncoding: 'ieee-p1363' }, jws.signature);
  } catch {
    return false;
  }
}

export function verifyRs256(jws: DecodedJws, key: KeyObject | string): boolean {
  try {
    return verify('sha256', Buffer.from(jws.signingInput), toKey(key), jws.signature);
  } catch {
    return false;
  }
}

function toKey(key: KeyObject | string): KeyObject {
  return typeof key === 'string' ? createPublicKey(key) : key;
}

/** Seconds since the epoch, the unit of JWT `iat`/`exp`. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
