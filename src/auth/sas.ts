/**
 * Shared Access Signature tokens, exactly as wire spec §2: the HMAC key is the UTF-8 bytes of the key
 * string (not base64-decoded), and the signed text is the `sr` AS TRANSMITTED (still percent-encoded)
 * + "\n" + `se`. The JS client signs the namespace base URL; the .NET client signs the port-less
 * `http://` request URL with lower-case hex escapes. Both verify here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HubError } from '../shared/errors.ts';
import { grants, type Right } from '../shared/rights.ts';

export interface SasToken {
  /** The signed resource, as transmitted (percent-encoded). */
  sr: string;
  /** The signature, URL-decoded (base64). */
  sig: string;
  /** Expiry, seconds since the epoch, as transmitted. */
  se: string;
  /** The rule (key) name, URL-decoded. */
  skn: string;
}

/** Anything that can sign: a rule with its two keys. */
export interface SasRule {
  name: string;
  rights: readonly Right[];
  primaryKey: string;
  secondaryKey: string;
}

const PREFIX = 'SharedAccessSignature ';
const MAX_HEADER = 4096;

function decode(value: string, what: string): string {
  try {
    // application/x-www-form-urlencoded: a '+' may stand for a space (.NET's HttpUtility.UrlEncode).
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new HubError('sas_malformed', `MalformedToken: the ${what} of the SharedAccessSignature is not correctly percent-encoded.`);
  }
}

/** Parses `SharedAccessSignature sr=..&sig=..&se=..&skn=..`, parameters in any order (§2.3 step 1). */
export function parseSasToken(header: string | undefined): SasToken {
  if (header === undefined || header === '') {
    throw new HubError('sas_missing', 'MissingToken: the Authorization header with a SharedAccessSignature is required.');
  }
  if (header.length > MAX_HEADER || !header.startsWith(PREFIX)) {
    throw new HubError('sas_malformed', "MalformedToken: the Authorization header must start with 'SharedAccessSignature '.");
  }
  const params = new Map<string, string>();
  for (const part of header.slice(PREFIX.length).trim().split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new HubError('sas_malformed', `MalformedToken: '${part.slice(0, 40)}' is not a name=value pair.`);
    const name = part.slice(0, eq);
    if (params.has(name)) throw new HubError('sas_malformed', `MalformedToken: '${name}' is given twice.`);
    params.set(name, part.slice(eq + 1));
  }
  for (const name of ['sr', 'sig', 'se', 'skn']) {
    if (!params.get(name)) throw new HubError('sas_malformed', `MalformedToken: the token has no '${name}'.`);
  }
  const se = params.get('se')!;
  if (!/^\d{1,12}$/.test(se)) throw new HubError('sas_malformed', "MalformedToken: 'se' must be the expiry in seconds since 1970.");
  return { sr: params.get('sr')!, sig: strictSignature(decode(params.get('sig')!, 'signature')), se, skn: decode(params.get('skn')!, 'key name') };
}

/** Base64 of a 32-byte HMAC-SHA256, padded: 43 characters and '='. */
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The signature exactly as base64 writes an HMAC-SHA256, nothing before or after it: Node's base64 decoder
 * stops at the first character it cannot read, so `<valid>junk` would otherwise verify. A '+' sent without
 * percent-encoding was read as a space by the form decoding above; base64 has no spaces, so it is put back.
 */
function strictSignature(sig: string): string {
  const b64 = sig.replaceAll(' ', '+');
  if (!SIGNATURE.test(b64) || Buffer.from(b64, 'base64').toString('base64') !== b64) {
    throw new HubError('sas_malformed', "MalformedToken: 'sig' must be the base64 of an HMAC-SHA256 (44 characters).");
  }
  return b64;
}

export function signSas(key: string, sr: string, se: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(`${sr}\n${se}`, 'utf8').digest('base64');
}

/** Builds a token the way the JS client does (§2.1): audience = encodeURIComponent(lower(baseUrl)). */
export function createSasToken(audience: string, keyName: string, key: string, expiresAtSeconds: number): string {
  const sr = encodeURIComponent(audience.toLowerCase());
  const se = String(expiresAtSeconds);
  const sig = signSas(key, sr, se);
  return `${PREFIX}sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${encodeURIComponent(keyName)}`;
}

function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(given, 'base64');
  // Both are 32-byte HMAC-SHA256 digests when well formed; a wrong length is simply a wrong signature.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One path segment percent-decoded (either case of hex); one that is not valid percent-encoding is kept as written. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * A path in one normal form: split on `/` first (so an encoded `%2F` stays inside its segment), each segment
 * percent-decoded and lower-cased, empty segments (a trailing or doubled slash) dropped. Clients sign the same
 * path differently: azure-sb signs it unencoded (`.../$installationid:{x}/...`) while its request line carries
 * `%7Bx%7D`; .NET signs the escaped form with lower-case hex; JS signs only the namespace root (§2.1, §2.2).
 */
export function pathSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '').map((s) => decodeSegment(s).toLowerCase());
}

/**
 * The path segments of the signed resource: `https://h:1/` → [], `http://h/myhub/messages/?api-version=1` →
 * [myhub, messages]. Host, port, scheme and query are ignored (§2.3 step 5).
 */
function scopeSegments(sr: string): string[] {
  const decoded = decode(sr, 'resource (sr)');
  const noScheme = decoded.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = noScheme.indexOf('/');
  const path = slash < 0 ? '' : noScheme.slice(slash);
  return pathSegments(path.split(/[?#]/)[0]!);
}

export interface SasCheck {
  token: SasToken;
  /** Rules to try, in order: the hub's first, then the namespace's (§2.3 step 2). */
  rules: readonly SasRule[];
  /** The request path, without query. */
  requestPath: string;
  nowSeconds: number;
}

/** Verifies a parsed token; returns the rule that signed it. Rights are checked by `requireRight`. */
export function verifySasToken(check: SasCheck): SasRule {
  const { token } = check;
  const candidates = check.rules.filter((r) => r.name === token.skn);
  if (candidates.length === 0) {
    throw new HubError('sas_unknown_rule', `InvalidSignature: no authorization rule named '${token.skn}' exists for this entity.`);
  }
  // Every candidate key is computed, so the answer takes the same time whichever key (if any) matched.
  let signer: SasRule | undefined;
  for (const rule of candidates) {
    for (const key of [rule.primaryKey, rule.secondaryKey]) {
      if (signatureMatches(signSas(key, token.sr, token.se), token.sig) && signer === undefined) signer = rule;
    }
  }
  if (!signer) throw new HubError('sas_invalid_signature', 'InvalidSignature: The token has an invalid signature.');
  if (Number(token.se) < check.nowSeconds) {
    throw new HubError('sas_expired', `ExpiredToken: The token expired at ${new Date(Number(token.se) * 1000).toISOString()}.`);
  }
  checkAudience(token, check.requestPath);
  return signer;
}

/** Whether the token's signed resource covers the request path (§2.3 step 5), segment by segment; throws if not. */
export function checkAudience(token: SasToken, requestPath: string): void {
  const scope = scopeSegments(token.sr);
  const path = pathSegments(requestPath);
  if (scope.length > path.length || scope.some((s, i) => s !== path[i])) {
    throw new HubError('sas_scope_mismatch', 'InvalidAudience: The token audience does not cover the requested resource.');
  }
}

export function requireRight(rule: SasRule, needed: Right): void {
  if (!grants(rule.rights, needed)) {
    throw new HubError('missing_claim', `${needed} claim is required for this operation.`, { needed });
  }
}
