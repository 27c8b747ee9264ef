/**
 * APNs sender credentials as Apple's developer console hands them out, and their checks:
 * provider-token keys (.p8, ES256 JWT, pns-protocols.md §2.4) and client certificates (§2.5).
 */
import { createPublicKey, generateKeyPairSync, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { decodeJws, epochSeconds, verifyEs256, type DecodedJws } from '../shared/jws.ts';
import type { ApnsReason } from './apns-errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type ApnsEnvironment = 'sandbox' | 'production';

export interface ProviderKey {
  keyId: string;
  teamId: string;
  publicKey: KeyObject;
  /** Topic-specific key: the bundle ids it may push to. Undefined for a team-scoped key (§2.4). */
  topics: string[] | undefined;
  /** A key restricted to one environment; undefined = both. */
  environment: ApnsEnvironment | undefined;
}

export interface ClientCertificate {
  fingerprint256: string;
  teamId: string;
  /** Bundle ids the certificate may push to; the first is the subject UID, the default topic. */
  topics: string[];
  environment: ApnsEnvironment;
}

/** Per-connection provider-token state (§2.4, §2.10.2). */
export interface ConnectionAuth {
  bound: { teamId: string; keyId: string } | undefined;
  token: string | undefined;
  tokenSince: number;
}

export type AuthResult =
  | { ok: true; kind: 'token'; key: ProviderKey }
  | { ok: true; kind: 'certificate'; cert: ClientCertificate }
  | { ok: false; reason: ApnsReason };

/** A provider token as read from an `authorization` header; `verified` once its signature checked out. */
interface BearerToken {
  token: string;
  jws: DecodedJws;
  verified: boolean;
}

/** Distinct `authorization` values remembered; a sender reuses one token for 20-60 minutes (§2.4). */
const MAX_REMEMBERED_TOKENS = 10_000;

function readBearer(authorization: string): BearerToken | null {
  const match = /^bearer\s+(\S+)$/i.exec(authorization.trim());
  const jws = match?.[1] ? decodeJws(match[1]) : undefined;
  return match && jws ? { token: match[1]!, jws, verified: false } : null;
}

const HOUR_S = 3600;
/** Apple: refresh a provider token no more often than every 20 minutes (§2.4). */
const MIN_TOKEN_CHANGE_MS = 20 * 60 * 1000;

// Apple's certificate extensions (§2.5; the OIDs @parse/node-apn reads).
const OID_ENV_SANDBOX = '1.2.840.113635.100.6.3.1';
const OID_ENV_PRODUCTION = '1.2.840.113635.100.6.3.2';
const OID_TOPICS = '1.2.840.113635.100.6.3.6';
const OID_UID = '0.9.2342.19200300.100.1.1';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A 10-character Apple identifier (Key ID, Team ID). */
export function appleId(): string {
  return [...randomBytes(10)].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** Apple's topics extension: SEQUENCE of (UTF8String topic, SEQUENCE { UTF8String "app" }) pairs. */
function topicsExtensionValue(topics: string[]): ArrayBuffer {
  const utf8 = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
  const value = der(0x30, Buffer.concat(topics.flatMap((t) => [utf8(t), der(0x30, utf8('app'))])));
  return new Uint8Array(value).buffer;
}

export class ApnsCredentials {
  /**
   * Provider tokens by `authorization` header value: decoded once, and their ES256 signature verified once
   * (the key id is part of the token, so this is per key id and token).
   */
  private readonly bearerTokens = new Map<string, BearerToken | null>();
  private readonly keys = new Map<string, ProviderKey>();
  private readonly certs = new Map<string, ClientCertificate>();
  private clientCa: { cert: x509.X509Certificate; key: CryptoKey; pem: string; keyPem: string } | undefined;

  constructor(readonly environment: ApnsEnvironment) {}

  /**
   * What a restart must keep (issue 12 item 5): the public halves of minted keys, the certificates' facts
   * and the client CA, so credentials handed out before keep working. JSON-able.
   */
  exportState(): unknown {
    return {
      keys: [...this.keys.values()].map((k) => ({ ...k, publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }) })),
      certs: [...this.certs.values()],
      clientCa: this.clientCa ? { pem: this.clientCa.pem, key: this.clientCa.keyPem } : null,
    };
  }

  /** Reads back what exportState gave; before the listener starts (it needs the client CA). */
  async importState(data: unknown): Promise<void> {
    const d = data as { keys: Array<Omit<ProviderKey, 'publicKey'> & { publicKey: string }>; certs: ClientCertificate[]; clientCa: { pem: string; key: string } | null };
    for (const k of d.keys) this.keys.set(k.keyId, { ...k, publicKey: createPublicKey(k.publicKey) });
    for (const c of d.certs) this.certs.set(c.fingerprint256, c);
    if (d.clientCa) {
      const der = Buffer.from(d.clientCa.key.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
      this.clientCa = { cert: new x509.X509Certificate(d.clientCa.pem), key, pem: d.clientCa.pem, keyPem: d.clientCa.key };
    }
  }

  /** True when this key id was minted here (and kept across restarts). */
  knowsKey(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** A .p8 signing key, as "Certificates, Identifiers & Profiles → Keys" would give it. */
  mintKey(opts: { teamId?: string; topics?: string[]; environment?: ApnsEnvironment }): {
    keyId: string;
    teamId: string;
    key: string;
  } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyId = appleId();
    const teamId = opts.teamId ?? appleId();
    this.keys.set(keyId, { keyId, teamId, publicKey, topics: opts.topics, environment: opts.environment });
    return { keyId, teamId, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  }

  /** The CA the TLS listener trusts for client certificates; created before the listener starts. */
  async clientCaPem(): Promise<string> {
    if (!this.clientCa) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
        name: 'CN=Herald emulated Apple Worldwide Developer Relations CA',
        notBefore: new Date(Date.now() - 86_400_000),
        notAfter: new Date(Date.now() + 3650 * 86_400_000),
        keys,
        signingAlgorithm: ALG,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
      });
      const keyPem = pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
      this.clientCa = { cert, key: keys.privateKey, pem: cert.toString('pem'), keyPem };
    }
    return this.clientCa.pem;
  }

  /** An "Apple Push Notification service SSL" client certificate and its private key (PEM). */
  async mintCertificate(opts: { teamId?: string; topics: string[]; environment: ApnsEnvironment }): Promise<{
    cert: string;
    key: string;
    teamId: string;
  }> {
    await this.clientCaPem();
    const ca = this.clientCa!;
    const teamId = opts.teamId ?? appleId();
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const uid = opts.topics[0] ?? 'com.example.app';
    const label = opts.environment === 'production' ? 'Apple Push Services' : 'Apple Development IOS Push Services';
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
      subject: `${OID_UID}=${uid}, CN=${label}: ${uid}, OU=${teamId}, C=US`,
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
      signingKey: ca.key,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        // ASN.1 NULL marks the environment the certificate is for.
        new x509.Extension(opts.environment === 'production' ? OID_ENV_PRODUCTION : OID_ENV_SANDBOX, false, new Uint8Array([5, 0]).buffer),
        new x509.Extension(OID_TOPICS, false, topicsExtensionValue(opts.topics)),
      ],
    });
    const pem = cert.toString('pem');
    const fingerprint256 = new X509Certificate(pem).fingerprint256;
    this.certs.set(fingerprint256, { fingerprint256, teamId, topics: opts.topics, environment: opts.environment });
    const keyDer = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    const key = pkcs8Pem(keyDer);
    return { cert: pem, key, teamId };
  }

  /** Certificate auth: the peer certificate the TLS layer saw, if any (§2.5). */
  checkCertificate(peer: { fingerprint256?: string } | undefined, authorized: boolean): AuthResult | undefined {
    if (!peer?.fingerprint256) return undefined;
    const cert = this.certs.get(peer.fingerprint256);
    if (!authorized || !cert) return { ok: false, reason: 'BadCertificate' };
    if (cert.environment !== this.environment) return { ok: false, reason: 'BadCertificateEnvironment' };
    return { ok: true, kind: 'certificate', cert };
  }

  /** Token auth: the `authorization` header against the minted keys and the connection's history (§2.4). */
  checkToken(authorization: string | undefined, conn: ConnectionAuth, nowMs: number): AuthResult {
    if (!authorization || authorization.trim() === '') return { ok: false, reason: 'MissingProviderToken' };
    let bearer = this.bearerTokens.get(authorization);
    if (bearer === undefined) {
      bearer = readBearer(authorization);
      if (this.bearerTokens.size >= MAX_REMEMBERED_TOKENS) this.bearerTokens.clear();
      this.bearerTokens.set(authorization, bearer);
    }
    if (!bearer) return { ok: false, reason: 'InvalidProviderToken' };
    const { token, jws } = bearer;
    const { header, claims } = jws;
    if (header.alg !== 'ES256' || typeof header.kid !== 'string') return { ok: false, reason: 'InvalidProviderToken' };
    const key = this.keys.get(header.kid);
    if (!key) return { ok: false, reason: 'InvalidProviderToken' };
    if (key.environment && key.environment !== this.environment) return { ok: false, reason: 'BadEnvironmentKeyIdInToken' };
    // A token's signature is checked once (APNs, too, validates a provider token once and then reuses the
    // result); every other rule below still applies to each request. The key lookup above comes first, so
    // a revoked key still fails.
    if (!bearer.verified) {
      if (!verifyEs256(jws, key.publicKey)) return { ok: false, reason: 'InvalidProviderToken' };
      bearer.verified = true;
    }
    if (claims.iss !== key.teamId || typeof claims.iat !== 'number') return { ok: false, reason: 'InvalidProviderToken' };
    const now = epochSeconds(nowMs);
    if (now - claims.iat > HOUR_S) return { ok: false, reason: 'ExpiredProviderToken' };
    // "iat must be no more than one hour from the current time" (§2.4): a token from the future is invalid.
    if (claims.iat - now > HOUR_S) return { ok: false, reason: 'InvalidProviderToken' };
    if (conn.bound && conn.bound.keyId !== key.keyId) {
      // The first push binds the connection to one team and key (§2.4); other teams' tokens are refused outright.
      return { ok: false, reason: conn.bound.teamId === key.teamId ? 'UnrelatedKeyIdInToken' : 'Forbidden' };
    }
    if (conn.token !== undefined && conn.token !== token && nowMs - conn.tokenSince < MIN_TOKEN_CHANGE_MS) {
      return { ok: false, reason: 'TooManyProviderTokenUpdates' };
    }
    conn.bound ??= { teamId: key.teamId, keyId: key.keyId };
    if (conn.token !== token) {
      conn.token = token;
      conn.tokenSince = nowMs;
    }
    return { ok: true, kind: 'token', key };
  }
}

function pkcs8Pem(pkcs8: ArrayBuffer): string {
  const b64 = Buffer.from(pkcs8).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END PRIVATE KEY-----\n`;
}
