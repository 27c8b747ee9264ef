/**
 * VAPID (RFC 8292, pns-protocols.md §4.4): `Authorization: vapid t=<JWS>, k=<b64url P-256 key>`, or the
 * draft form web-push uses with aesgcm: `Authorization: WebPush <JWS>` + `Crypto-Key: p256ecdsa=<key>`.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJws, epochSeconds, verifyEs256 } from '../shared/jws.ts';

export type VapidResult =
  | { ok: true; publicKey: Buffer; subject: string }
  | { ok: false; status: 401 | 403; message: string };

/** RFC 8292 §2: exp no further than 24 hours ahead. */
const MAX_EXP_AHEAD_S = 24 * 3600;
/** Entries per cache below; a sender has one key and signs a new token every few hours at most. */
const MAX_CACHED = 1000;

/** A `k` parameter as received: its bytes, and the key, or undefined when it is no P-256 point. */
interface SenderKey {
  raw: Buffer;
  key: KeyObject | undefined;
}

/**
 * Both caches hold only what the same input always yields, so the answers stay those of a full check:
 * importing a key (P-256 point validation) and verifying an ES256 signature are most of a request's cost,
 * and senders repeat the same key and, for minutes or hours, the same token. The claims (exp, aud, sub) and
 * the subscription's restriction are still checked against each request and the current time.
 */
const senderKeys = new Map<string, SenderKey>();
/** Tokens whose signature verified, by `k` and token. */
const verifiedTokens = new Map<string, Record<string, unknown>>();

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, value);
  return value;
}

function senderKey(k: string): SenderKey {
  const known = senderKeys.get(k);
  if (known) return known;
  const raw = Buffer.from(k, 'base64url');
  let key: KeyObject | undefined;
  try {
    key = p256PublicKey(raw);
  } catch {
    key = undefined;
  }
  return remember(senderKeys, k, { raw, key });
}

/** The token's claims when it is an ES256 JWT signed by `key`; a string saying why not otherwise. */
function verifiedClaims(token: string, k: string, key: KeyObject): Record<string, unknown> | string {
  const id = `${k} ${token}`;
  const known = verifiedTokens.get(id);
  if (known) return known;
  const jws = decodeJws(token);
  if (!jws || jws.header.alg !== 'ES256') return 'token is not an ES256 JWT';
  if (!verifyEs256(jws, key)) return 'token signature does not verify with k';
  return remember(verifiedTokens, id, jws.claims);
}

/** An uncompressed P-256 point (65 bytes) as a KeyObject. */
export function p256PublicKey(raw: Buffer): KeyObject {
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('not an uncompressed P-256 point');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
    format: 'jwk',
  });
}

function parseAuthorization(authorization: string, cryptoKey: string | undefined): { token: string; key: string } | undefined {
  const vapid = /^vapid\s+(.*)$/i.exec(authorization.trim());
  if (vapid) {
    const params = new Map<string, string>();
    for (const part of (vapid[1] ?? '').split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
    }
    const token = params.get('t');
    const key = params.get('k');
    return token && key ? { token, key } : undefined;
  }
  const draft = /^webpush\s+(\S+)$/i.exec(authorization.trim());
  const p256ecdsa = /p256ecdsa=([A-Za-z0-9_-]+)/.exec(cryptoKey ?? '');
  return draft?.[1] && p256ecdsa?.[1] ? { token: draft[1], key: p256ecdsa[1] } : undefined;
}

/**
 * Check a push request's VAPID credentials. `origin` is the push resource's origin (the JWT `aud`);
 * `restrictedTo` is the applicationServerKey the subscription was created with, if any.
 */
export function checkVapid(
  authorization: string | undefined,
  cryptoKey: string | undefined,
  origin: string,
  restrictedTo: Buffer | undefined,
  nowMs: number,
): VapidResult {
  if (!authorization) return { ok: false, status: 401, message: 'Missing VAPID Authorization header' };
  const parsed = parseAuthorization(authorization, cryptoKey);
  if (!parsed) return { ok: false, status: 401, message: 'Authorization is not a VAPID t=, k= pair' };
  const { raw, key } = senderKey(parsed.key);
  if (!key) return { ok: false, status: 403, message: 'k is not a P-256 public key' };
  const claims = verifiedClaims(parsed.token, parsed.key, key);
  if (typeof claims === 'string') return { ok: false, status: 403, message: claims };
  const { aud, exp, sub } = claims;
  if (aud !== origin) return { ok: false, status: 403, message: `aud must be the push resource origin ${origin}` };
  const now = epochSeconds(nowMs);
  if (typeof exp !== 'number' || exp <= now) return { ok: false, status: 403, message: 'token expired' };
  if (exp > now + MAX_EXP_AHEAD_S) return { ok: false, status: 403, message: 'exp more than 24 hours ahead' };
  // Apple and Mozilla refuse a missing contact or one at localhost (§4.4).
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub) || /@localhost$/i.test(sub))
    return { ok: false, status: 403, message: 'sub must be a mailto: or https: contact' };
  if (restrictedTo && !restrictedTo.equals(raw))
    return { ok: false, status: 403, message: 'k does not match the applicationServerKey of the subscription' };
  return { ok: true, publicKey: raw, subject: sub };
}
