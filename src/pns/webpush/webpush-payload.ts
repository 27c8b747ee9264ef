/**
 * Web Push message encryption, aes128gcm (RFC 8291 over RFC 8188, pns-protocols.md §4.2), and the checks
 * a push service would fail, done before any network call.
 *
 * The per-message cost is one ephemeral P-256 key pair and one ECDH (RFC 8291 §3.1 asks for a new key pair
 * for every message, so neither can be cached); everything else is five HMAC-SHA256 and one AES-128-GCM
 * pass written straight into the body buffer, with salts cut from a pooled random buffer.
 */
import { createCipheriv, createECDH, createHash, createHmac, randomFillSync } from 'node:crypto';
import { outcome, type DeliveryOutcome } from '../connector.ts';

export interface Subscription {
  endpoint: URL;
  p256dh: Buffer;
  auth: Buffer;
}

/** RFC 8030 §7.2: services accept bodies up to 4096 bytes; the aes128gcm overhead is 103 → 3993 plaintext. */
export const MAX_BODY = 4096;
const HEADER_BYTES = 16 + 4 + 1 + 65;
export const MAX_PLAINTEXT = MAX_BODY - HEADER_BYTES - 1 - 16;
/** web-push's default and the longest TTL the big services keep (4 weeks). */
export const DEFAULT_TTL = '2419200';
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
/** RFC 8030 §5.4. */
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

const KEY_INFO = Buffer.from('WebPush: info\0');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0\x01');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0\x01');
const ONE = Buffer.from([1]);

let salts = Buffer.alloc(0);
let saltAt = 0;
/** 16 random bytes; one randomFillSync per 256 messages instead of one each. */
function salt(): Buffer {
  if (saltAt + 16 > salts.length) {
    salts = randomFillSync(Buffer.allocUnsafe(4096));
    saltAt = 0;
  }
  const s = salts.subarray(saltAt, saltAt + 16);
  saltAt += 16;
  return s;
}

const hmac = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/**
 * The aes128gcm body `salt(16) | rs(4) | idlen(1) | keyid = as_public(65) | one record` (RFC 8188 §2.1),
 * the record being AES-128-GCM(plaintext || 0x02) with its 16-byte tag (RFC 8291 §4: a single record).
 */
export function encryptAes128gcm(plaintext: Buffer, uaPublic: Buffer, authSecret: Buffer): Buffer {
  const ephemeral = createECDH('prime256v1');
  const asPublic = ephemeral.generateKeys();
  const shared = ephemeral.computeSecret(uaPublic);
  // RFC 8291 §3.3-3.4: HKDF(auth, ecdh) with key_info, then HKDF(salt, IKM) for the CEK and nonce.
  // Every output is ≤ 32 bytes, so each HKDF-Expand is one HMAC over info || 0x01.
  const ikm = hmac(hmac(authSecret, shared), KEY_INFO, uaPublic, asPublic, ONE);
  const s = salt();
  const prk = hmac(s, ikm);
  const cek = hmac(prk, CEK_INFO).subarray(0, 16);
  const nonce = hmac(prk, NONCE_INFO).subarray(0, 12);

  const body = Buffer.allocUnsafe(HEADER_BYTES + plaintext.length + 1 + 16);
  s.copy(body, 0);
  // rs must be larger than the one record (RFC 8188 §2); 4096 like every sender.
  body.writeUInt32BE(4096, 16);
  body[20] = 65;
  asPublic.copy(body, 21);
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  let at = HEADER_BYTES;
  at += cipher.update(plaintext).copy(body, at);
  // 0x02: the padding delimiter of the last record, no padding after it (RFC 8188 §2).
  at += cipher.update(Buffer.from([2])).copy(body, at);
  at += cipher.final().copy(body, at);
  cipher.getAuthTag().copy(body, at);
  return body;
}

/**
 * A Web Push handle is the PushSubscription the browser gave the app, as JSON:
 * `{"endpoint": "https://...", "keys": {"p256dh": "<65 bytes b64url>", "auth": "<16 bytes b64url>"}}`.
 */
export function parseSubscription(handle: string): Subscription | string {
  let parsed: { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
  try {
    parsed = JSON.parse(handle) as typeof parsed;
  } catch {
    return 'the handle is not a PushSubscription JSON';
  }
  if (typeof parsed?.endpoint !== 'string') return 'the subscription has no endpoint';
  let endpoint: URL;
  try {
    endpoint = new URL(parsed.endpoint);
  } catch {
    return 'the subscription endpoint is not a URL';
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') return 'the subscription endpoint must be https';
  const { p256dh, auth } = parsed.keys ?? {};
  if (typeof p256dh !== 'string' || typeof auth !== 'string') return 'the subscription has no keys.p256dh / keys.auth';
  const ua = Buffer.from(p256dh, 'base64url');
  const secret = Buffer.from(auth, 'base64url');
  if (ua.length !== 65 || ua[0] !== 4) return 'keys.p256dh must be an uncompressed P-256 point (65 bytes)';
  if (secret.length !== 16) return 'keys.auth must be 16 bytes';
  return { endpoint, p256dh: ua, auth: secret };
}

/**
 * The Topic Herald sets from the notification id when the send has none (issue 14 item 7): the id itself
 * when it is a valid topic, else the first 32 characters of base64url(SHA-256(id)) (192 bits: no two
 * notifications share one in practice).
 */
export function collapseTopic(id: string): string {
  return TOPIC.test(id) ? id : createHash('sha256').update(id).digest('base64url').slice(0, 32);
}

/**
 * RFC 8030 headers from the send request: TTL (default 4 weeks), Urgency, Topic; or why they are wrong.
 * Without a Topic of the send's, `collapseId` (the notification id) gives one, so a message sent again
 * replaces its pending copy at the push service.
 */
export function pushHeaders(given: Record<string, string> | undefined, collapseId?: string): Record<string, string> | DeliveryOutcome {
  const h: Record<string, string> = { ttl: DEFAULT_TTL };
  if (collapseId !== undefined) h.topic = collapseTopic(collapseId);
  if (!given) return h;
  for (const name in given) {
    const lower = name.toLowerCase();
    const value = given[name]!;
    if (lower === 'ttl') {
      if (!/^\d{1,10}$/.test(value)) return outcome('rejected', 'PnsInterfaceError', 'TTL must be a number of seconds');
      h.ttl = value;
    } else if (lower === 'urgency') {
      if (!URGENCIES.has(value)) return outcome('rejected', 'PnsInterfaceError', 'Urgency must be very-low, low, normal or high');
      h.urgency = value;
    } else if (lower === 'topic') {
      if (!TOPIC.test(value)) return outcome('rejected', 'PnsInterfaceError', 'Topic must be 1..32 URL-safe base64 characters (RFC 8030 §5.4)');
      h.topic = value;
    }
  }
  return h;
}

/**
 * A Declarative Web Push message (`"web_push": 8030`) the browser could not show: why, or undefined.
 * Checked at the edge for native sends; here for rendered templates. Any other payload passes.
 */
export function declarativeProblem(plaintext: Buffer): string | undefined {
  if (plaintext[0] !== 0x7b || !plaintext.includes('"web_push"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(plaintext.toString('utf8'));
  } catch {
    return undefined; // not JSON: the service worker's business
  }
  if (typeof value !== 'object' || value === null || !('web_push' in value)) return undefined;
  const v = value as { web_push?: unknown; notification?: { title?: unknown; navigate?: unknown } };
  if (v.web_push !== 8030) return 'Declarative Web Push: web_push must be 8030';
  if (typeof v.notification !== 'object' || v.notification === null) return 'Declarative Web Push: the notification object is missing';
  if (typeof v.notification.title !== 'string' || v.notification.title === '') return 'Declarative Web Push: notification.title is required';
  if (typeof v.notification.navigate !== 'string' || v.notification.navigate === '') return 'Declarative Web Push: notification.navigate is required';
  return undefined;
}
