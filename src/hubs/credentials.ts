/**
 * PNS credentials a hub sends with: what each platform needs, how it is checked when it is set (a key
 * that does not parse is refused then, not at the first send), which parts are secret (sealed at rest,
 * never returned) and which are facts safe to show.
 */
import { X509Certificate, createECDH, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { HubError } from '../shared/errors.ts';

export const PLATFORMS = ['apns', 'fcmv1', 'wns', 'browser', 'adm'] as const;
export type Platform = (typeof PLATFORMS)[number];

export function parsePlatform(value: string): Platform {
  const p = value.toLowerCase();
  if ((PLATFORMS as readonly string[]).includes(p)) return p as Platform;
  throw new HubError('unknown_platform', `Unknown platform '${value}'; expected one of ${PLATFORMS.join(', ')}.`);
}

const endpoint = z
  .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
  .max(2048)
  .optional();

const pem = z.string().min(1).max(64 * 1024);

function privateKey(text: string): KeyObject | undefined {
  try {
    return createPrivateKey(text);
  } catch {
    return undefined;
  }
}

const apnsToken = z.object({
  auth: z.literal('token'),
  endpoint,
  environment: z.enum(['production', 'development']).default('production'),
  keyId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character key id from the .p8 file name'),
  teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character team id'),
  bundleId: z.string().min(1).max(255),
  key: pem.refine((k) => {
    const key = privateKey(k);
    return key?.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  }, 'must be the .p8 signing key: a PEM P-256 (ES256) private key'),
});

const apnsCertificate = z
  .object({
    auth: z.literal('certificate'),
    endpoint,
    environment: z.enum(['production', 'development']).default('production'),
    certificate: pem.refine((c) => {
      try {
        new X509Certificate(c);
        return true;
      } catch {
        return false;
      }
    }, 'must be a PEM X.509 certificate'),
    privateKey: pem.refine((k) => privateKey(k) !== undefined, 'must be a PEM private key (unencrypted)'),
  })
  .refine((c) => {
    const key = privateKey(c.privateKey);
    try {
      return key !== undefined && new X509Certificate(c.certificate).checkPrivateKey(key);
    } catch {
      return false;
    }
  }, { message: 'the private key does not belong to the certificate', path: ['privateKey'] });

const fcmServiceAccount = z.object({
  type: z.literal('service_account').optional(),
  project_id: z.string().min(1).max(128),
  client_email: z.string().email(),
  private_key_id: z.string().max(128).optional(),
  private_key: pem.refine((k) => privateKey(k)?.asymmetricKeyType === 'rsa', 'must be the PEM RSA private key of the service account'),
  token_uri: z.url({ protocol: /^https?$/ }).optional(),
});

const fcmv1 = z.object({
  endpoint,
  serviceAccount: z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }, fcmServiceAccount.passthrough()),
});

const wns = z.object({
  endpoint,
  clientId: z.string().min(1).max(512),
  clientSecret: z.string().min(1).max(512),
  /** Present: the Microsoft Entra ID client-credentials flow; absent: the legacy Store flow. */
  tenantId: z.string().min(1).max(128).optional(),
});

/**
 * Amazon Device Messaging: the client id and secret of the app's Login with Amazon security profile
 * (Developer Console, "Security Profile" → "Web Settings"), exchanged for a token with scope messaging:push.
 */
const adm = z.object({
  endpoint,
  clientId: z.string().regex(/^[\x21-\x7e]{1,512}$/, 'must be the security profile\'s client id (amzn1.application-oa2-client....), printable characters, no spaces'),
  clientSecret: z.string().regex(/^[\x21-\x7e]{1,512}$/, 'must be the security profile\'s client secret, printable characters, no spaces'),
});

function base64url(text: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64url') : undefined;
}

const browser = z
  .object({
    endpoint,
    subject: z.string().regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'must be a mailto: or https: contact (RFC 8292 "sub")'),
    publicKey: z.string().refine((k) => {
      const raw = base64url(k);
      return raw?.length === 65 && raw[0] === 4;
    }, 'must be the VAPID public key: an uncompressed P-256 point, base64url (65 bytes)'),
    privateKey: z.string().refine((k) => base64url(k)?.length === 32, 'must be the VAPID private key: 32 bytes, base64url'),
  })
  .refine((c) => {
    try {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(Buffer.from(c.privateKey, 'base64url'));
      return ecdh.getPublicKey().equals(Buffer.from(c.publicKey, 'base64url'));
    } catch {
      return false;
    }
  }, { message: 'the private key does not belong to the public key', path: ['privateKey'] });

const schemas = {
  apns: z.discriminatedUnion('auth', [apnsToken, apnsCertificate]),
  fcmv1,
  wns,
  browser,
  adm,
} as const;

export type PnsCredentials =
  | ({ platform: 'apns' } & z.infer<typeof schemas.apns>)
  | ({ platform: 'fcmv1' } & z.infer<typeof fcmv1>)
  | ({ platform: 'wns' } & z.infer<typeof wns>)
  | ({ platform: 'browser' } & z.infer<typeof browser>)
  | ({ platform: 'adm' } & z.infer<typeof adm>);

/** Checks credentials given for a platform; the error names each field and what is wrong. */
export function parseCredentials(platform: Platform, input: unknown): PnsCredentials {
  const result = schemas[platform].safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new HubError('invalid_credentials', `Invalid ${platform} credentials: ${problems.join('; ')}`, { problems });
  }
  return { platform, ...result.data } as PnsCredentials;
}

function fingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16)}`;
}

/** What may be shown of stored credentials: identifiers and fingerprints, never a secret. */
export function summarize(c: PnsCredentials): Record<string, string> {
  switch (c.platform) {
    case 'apns':
      if (c.auth === 'token') {
        return { auth: 'token', environment: c.environment, keyId: c.keyId, teamId: c.teamId, bundleId: c.bundleId, keyFingerprint: fingerprint(c.key) };
      } else {
        const cert = new X509Certificate(c.certificate);
        return { auth: 'certificate', environment: c.environment, subject: cert.subject, validTo: cert.validTo, certificateFingerprint: cert.fingerprint256 };
      }
    case 'fcmv1':
      return {
        projectId: c.serviceAccount.project_id,
        clientEmail: c.serviceAccount.client_email,
        ...(c.serviceAccount.private_key_id ? { privateKeyId: c.serviceAccount.private_key_id } : {}),
        keyFingerprint: fingerprint(c.serviceAccount.private_key),
      };
    case 'wns':
      return { clientId: c.clientId, ...(c.tenantId ? { tenantId: c.tenantId } : {}), secretFingerprint: fingerprint(c.clientSecret) };
    case 'browser':
      return { subject: c.subject, publicKey: c.publicKey, keyFingerprint: fingerprint(c.privateKey) };
    case 'adm':
      return { clientId: c.clientId, secretFingerprint: fingerprint(c.clientSecret) };
  }
}
