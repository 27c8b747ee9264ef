/**
 * The development certificate authority of sandbox mode: a CA and a server certificate signed by it,
 * generated once into `<data>/tls/`, so a Node client needs only `NODE_EXTRA_CA_CERTS=<data>/tls/ca.crt`
 * (the official Azure client refuses plain HTTP, wire spec §1.2).
 *
 * @peculiar/x509 builds the certificates on WebCrypto (ECDSA P-256): no OpenSSL binary, no slow
 * pure-JS RSA key generation.
 */
import { webcrypto, X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Renew the server certificate when it has less than this left, or when a host name is missing. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

export interface DevCa {
  caCertPath: string;
  certPath: string;
  keyPath: string;
  /** PEM of the server certificate followed by nothing else (the CA is not sent in the chain). */
  cert: string;
  key: string;
  ca: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive serial number
  return Buffer.from(bytes).toString('hex');
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function createCa(dir: string): Promise<{ cert: x509.X509Certificate; key: webcrypto.CryptoKey }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Herald Development CA ${new Date(now).toISOString().slice(0, 10)}, O=Herald sandbox`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileSync(join(dir, 'ca.crt'), cert.toString('pem') + '\n');
  writePrivate(join(dir, 'ca.key'), await exportKey(keys.privateKey));
  return { cert, key: keys.privateKey };
}

async function createServerCert(
  dir: string,
  ca: { cert: x509.X509Certificate; key: webcrypto.CryptoKey },
  hostnames: readonly string[],
): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const names = hostnames.map((h) =>
    isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostnames[0] ?? 'localhost'}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY_MS),
    // 397 days: the longest lifetime browsers accept for a server certificate.
    notAfter: new Date(now + 397 * DAY_MS),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  writeFileSync(join(dir, 'server.crt'), cert.toString('pem') + '\n');
  writePrivate(join(dir, 'server.key'), await exportKey(keys.privateKey));
}

function serverCertIsCurrent(certPath: string, caPem: string, hostnames: readonly string[]): boolean {
  if (!existsSync(certPath)) return false;
  const cert = new X509Certificate(readFileSync(certPath));
  if (!cert.verify(new X509Certificate(caPem).publicKey)) return false;
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  return hostnames.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

/**
 * Make sure `<dir>` holds a CA and a server certificate for `hostnames`, creating or renewing what is
 * missing. The CA is kept across renewals so a client that trusts it keeps working.
 */
export async function ensureDevCa(dir: string, hostnames: readonly string[]): Promise<DevCa> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCertPath = join(dir, 'ca.crt');
  const caKeyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');

  let ca: { cert: x509.X509Certificate; key: webcrypto.CryptoKey };
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    ca = {
      cert: new x509.X509Certificate(readFileSync(caCertPath, 'utf8')),
      key: await importKey(readFileSync(caKeyPath, 'utf8')),
    };
  } else {
    ca = await createCa(dir);
  }
  const caPem = readFileSync(caCertPath, 'utf8');
  if (!serverCertIsCurrent(certPath, caPem, hostnames)) {
    await createServerCert(dir, ca, hostnames);
  }
  return {
    caCertPath,
    certPath,
    keyPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    ca: caPem,
  };
}
