/**
 * Web Push message encryption as the user agent undoes it: aes128gcm (RFC 8291 over RFC 8188,
 * pns-protocols.md §4.2) and the legacy aesgcm draft (§4.3). The emulator holds each subscription's private
 * key, so it can really decrypt what a sender encrypted and log the plaintext.
 */
import { createDecipheriv, createECDH, createHmac, randomBytes, type ECDH } from 'node:crypto';

export interface SubscriptionKeys {
  /** The user agent's ECDH key pair (P-256); `getPublicKey()` is the 65-byte `p256dh`. */
  ecdh: ECDH;
  /** The 16-byte `auth` secret. */
  auth: Buffer;
  /** `ecdh.getPublicKey()`, kept because every message's key derivation needs it. */
  publicKey?: Buffer;
}

export function mintSubscriptionKeys(): SubscriptionKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, auth: randomBytes(16), publicKey: ecdh.getPublicKey() };
}

function publicKeyOf(keys: SubscriptionKeys): Buffer {
  keys.publicKey ??= keys.ecdh.getPublicKey();
  return keys.publicKey;
}

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** HKDF-Extract (RFC 5869 §2.2) with SHA-256. */
function hkdfExtract(salt: Buffer, ikm: Buffer): Buffer {
  return hmac(salt, ikm);
}

/** HKDF-Expand (RFC 5869 §2.3) for outputs of at most 32 bytes: one block, `info` already ending in 0x01. */
function hkdfExpand(prk: Buffer, infoAndCounter: Buffer, length: number): Buffer {
  return hmac(prk, infoAndCounter).subarray(0, length);
}

/** HKDF (RFC 5869) with SHA-256 for outputs of at most 32 bytes: one expand block. */
function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  return hkdfExpand(hkdfExtract(salt, ikm), Buffer.concat([info, ONE]), length);
}

const ONE = Buffer.from([1]);
/** The aes128gcm info strings (RFC 8291 §3.4, RFC 8188 §2.2), with HKDF-Expand's first block counter. */
const AES128GCM_CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0\x01', 'latin1');
const AES128GCM_NONCE_INFO = Buffer.from('Content-Encoding: nonce\0\x01', 'latin1');
const WEBPUSH_INFO = Buffer.from('WebPush: info\0', 'latin1');

function gcmOpen(key: Buffer, nonce: Buffer, record: Buffer): Buffer {
  if (record.length < 17) throw new Error('record shorter than its tag');
  const decipher = createDecipheriv('aes-128-gcm', key, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  return Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
}

/** RFC 8188 §2.3: the nonce of record i is NONCE xor i (big-endian, in the low bytes). */
function recordNonce(base: Buffer, index: number): Buffer {
  const nonce = Buffer.from(base);
  // Record counts stay far below 2^32, so only the low four bytes change.
  nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ index) >>> 0, 8);
  return nonce;
}

/** Decrypt an aes128gcm body: `salt(16) | rs(4) | idlen(1) | keyid(as_pub) | one record` (§4.2). */
export function decryptAes128gcm(body: Buffer, keys: SubscriptionKeys): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  if (idlen !== 65) throw new Error('keyid must be the 65-byte sender public key');
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  // RFC 8291 §4: a push message is a single record.
  if (rs < 18 || record.length > rs) throw new Error('the message must be one record no larger than rs');
  const uaPublic = publicKeyOf(keys);
  const shared = keys.ecdh.computeSecret(asPublic);
  const ikm = hkdf(keys.auth, shared, Buffer.concat([WEBPUSH_INFO, uaPublic, asPublic]), 32);
  // The content key and the nonce come from the same pseudorandom key.
  const prk = hkdfExtract(salt, ikm);
  const cek = hkdfExpand(prk, AES128GCM_CEK_INFO, 16);
  const nonce = hkdfExpand(prk, AES128GCM_NONCE_INFO, 12);
  const padded = gcmOpen(cek, nonce, record);
  // Strip the padding: trailing zeros, then the delimiter, which must be 0x02 for the last (only) record.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new Error('bad padding delimiter');
  return padded.subarray(0, end);
}

function b64urlParam(header: string | undefined, name: string): Buffer | undefined {
  if (!header) return undefined;
  for (const part of header.split(/[;,]/)) {
    const [k, v] = part.trim().split('=');
    if (k === name && v) return Buffer.from(v.replace(/"/g, ''), 'base64url');
  }
  return undefined;
}

function lengthPrefixed(key: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(key.length);
  return Buffer.concat([len, key]);
}

/** Decrypt a legacy aesgcm body with its `Encryption: salt=...` and `Crypto-Key: dh=...` headers (§4.3). */
export function decryptAesgcm(body: Buffer, encryption: string | undefined, cryptoKey: string | undefined, keys: SubscriptionKeys): Buffer {
  const salt = b64urlParam(encryption, 'salt');
  const dh = b64urlParam(cryptoKey, 'dh');
  if (!salt || salt.length !== 16) throw new Error('Encryption header needs a 16-byte salt');
  if (!dh || dh.length !== 65) throw new Error('Crypto-Key header needs the 65-byte dh key');
  const rsParam = /rs=(\d+)/.exec(encryption ?? '');
  const rs = rsParam ? Number(rsParam[1]) : 4096;
  const uaPublic = publicKeyOf(keys);
  const shared = keys.ecdh.computeSecret(dh);
  const ikm = hkdf(keys.auth, shared, Buffer.from('Content-Encoding: auth\0'), 32);
  const context = Buffer.concat([Buffer.from('P-256\0'), lengthPrefixed(uaPublic), lengthPrefixed(dh)]);
  const cek = hkdf(salt, ikm, Buffer.concat([Buffer.from('Content-Encoding: aesgcm\0'), context]), 16);
  const nonce = hkdf(salt, ikm, Buffer.concat([Buffer.from('Content-Encoding: nonce\0'), context]), 12);
  const parts: Buffer[] = [];
  // Each record: 2-byte padding length, padding, data; sealed with a 16-byte tag.
  for (let offset = 0, i = 0; offset < body.length; offset += rs + 16, i++) {
    const plain = gcmOpen(cek, recordNonce(nonce, i), body.subarray(offset, offset + rs + 16));
    const pad = plain.readUInt16BE(0);
    parts.push(plain.subarray(2 + pad));
  }
  return Buffer.concat(parts);
}
