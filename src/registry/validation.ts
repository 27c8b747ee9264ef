/**
 * Validation at the edge of the registry, shared by registrations and installations: device handles,
 * template bodies and their headers, push variables (wire spec §6.2, §12.1, §13, §14). Every failure is
 * HubError('invalid_request') with `details.reason` and a message that names the field.
 */
import { compileTemplate, validateTemplateExpression } from '../templates/index.ts';
import { HubError } from '../shared/errors.ts';
import { codePointName, NOT_XML_CHAR } from '../shared/xml-chars.ts';
import { apnsExpirationSeconds, EXPIRY_FORMS } from './apns-expiry.ts';
import { fcmMessageProblem } from './native-payloads.ts';
import type { PlatformName, PnsHandle, RegistrationTemplate, TemplateHeader } from './model.ts';

/** Longest handle accepted (FCM tokens are ~160-250 chars; WNS channel URIs ~200; generous headroom). */
export const MAX_HANDLE_LENGTH = 2048;
/** Template name length (NET TemplateMaxLength, §14). */
export const MAX_TEMPLATE_NAME_LENGTH = 200;
export const MAX_PUSH_VARIABLES = 60;
/** Installation and user ids become parts of system tags, whose value is limited to 120 characters. */
export const MAX_ID_LENGTH = 120;

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

/**
 * Refuses text XML cannot carry (400, reason `invalid_character`), naming the field and the character: every
 * registration field is written into Atom feeds (§6.5), and one such character breaks a strict reader's feed.
 */
export function requireXmlText(value: string, field: string, label = field, details: Record<string, unknown> = {}): string {
  const m = NOT_XML_CHAR.exec(value);
  if (m !== null) {
    throw invalid('invalid_character', `${label} contains the character ${codePointName(m[0])} at position ${m.index}, which XML cannot carry; remove it.`,
      { field, position: m.index, ...details });
  }
  return value;
}

function requireString(value: unknown, field: string, max = MAX_HANDLE_LENGTH): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('missing_field', `${field} is required and must be a non-empty string.`, { field });
  if (value.length > max) throw invalid('field_too_long', `${field} is longer than ${max} characters.`, { field, limit: max });
  if (/[\s\u0000-\u001f]/.test(value)) throw invalid('invalid_handle', `${field} must not contain spaces or control characters.`, { field });
  return requireXmlText(value, field);
}

function httpsUrl(value: string, field: string, allowLoopbackHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('invalid_handle', `${field} must be an absolute https URI.`, { field });
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(allowLoopbackHttp && loopback && url.protocol === 'http:')) {
    throw invalid('invalid_handle', `${field} must be an https URI.`, { field });
  }
  return value;
}

function base64urlBytes(value: string, field: string, expected: number, what: string): string {
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(value) || Buffer.from(value.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url').length !== expected) {
    throw invalid('invalid_handle', `${field} must be ${what} (${expected} bytes, base64url).`, { field });
  }
  return value;
}

export interface HandleFields {
  /** DeviceToken, ChannelUri, GcmRegistrationId, FcmV1RegistrationId, AdmRegistrationId, XiaomiRegistrationId, Endpoint, BaiduChannelId. */
  value: unknown;
  p256dh?: unknown;
  auth?: unknown;
  baiduUserId?: unknown;
  secondaryTileName?: unknown;
}

/** The name of a platform's handle field on the wire, for messages. */
export const HANDLE_FIELD: Readonly<Record<PlatformName, string>> = {
  apns: 'DeviceToken',
  wns: 'ChannelUri',
  mpns: 'ChannelUri',
  gcm: 'GcmRegistrationId',
  fcmv1: 'FcmV1RegistrationId',
  adm: 'AdmRegistrationId',
  xiaomi: 'XiaomiRegistrationId',
  browser: 'Endpoint',
  baidu: 'BaiduChannelId',
};

/**
 * A Firebase installation id (FID) as the SDK mints it: 17 random bytes whose first 4 bits are 0111, in
 * base64url, cut to 22 characters (Firebase installations: RandomFidGenerator), so it starts with c-f.
 */
export const FID = /^[cdef][A-Za-z0-9_-]{21}$/;
/** An FCM v1 handle that is a FID rather than a registration token is written `fid:<FID>` (issue 14). */
export const FID_PREFIX = 'fid:';

/**
 * An FCM v1 handle: a registration token as the SDK gives it, or `fid:` and a Firebase installation id.
 * The prefix tells the two apart for good; a bare FID is refused (as a token FCM would answer "not a valid
 * registration token", and the registration would be dropped on its first send).
 */
function fcmHandle(value: string, field: string): string {
  if (value.startsWith(FID_PREFIX)) {
    if (!FID.test(value.slice(FID_PREFIX.length))) {
      throw invalid('invalid_handle', `${field} '${value.slice(0, 40)}' is not fid: followed by a Firebase installation id (22 characters of A-Z, a-z, 0-9, - and _, starting with c, d, e or f).`, { field });
    }
    return value;
  }
  if (FID.test(value)) {
    throw invalid('invalid_handle', `${field} looks like a Firebase installation id, not a registration token; register it as fid:${value}.`, { field });
  }
  return value;
}

/**
 * Checks a handle and returns it canonical: an APNs token is hex and stored upper-case (§6.2); a WNS
 * or MPNS channel is an https URI; a Web Push subscription has an https endpoint (http on loopback, for
 * local emulators), a 65-byte P-256 key and a 16-byte auth secret (RFC 8291).
 */
export function validateHandle(platform: PlatformName, f: HandleFields, field = HANDLE_FIELD[platform]): PnsHandle {
  const value = requireString(f.value, field);
  switch (platform) {
    case 'apns':
      if (!/^[0-9a-fA-F]{8,400}$/.test(value) || value.length % 2 !== 0) {
        throw invalid('invalid_handle', `${field} must be the device token in hexadecimal (an even number of 0-9, A-F).`, { field });
      }
      return { platform, value: value.toUpperCase() };
    case 'wns':
    case 'mpns': {
      httpsUrl(value, field, true);
      const tile = f.secondaryTileName;
      if (tile !== undefined && (typeof tile !== 'string' || tile.length > 256)) {
        throw invalid('invalid_field', 'SecondaryTileName must be a string of at most 256 characters.', { field: 'SecondaryTileName' });
      }
      if (typeof tile === 'string') requireXmlText(tile, 'SecondaryTileName');
      return tile ? { platform, value, secondaryTileName: tile as string } : { platform, value };
    }
    case 'browser':
      httpsUrl(value, field, true);
      return {
        platform,
        value,
        p256dh: base64urlBytes(requireString(f.p256dh, 'P256DH', 256), 'P256DH', 65, 'the subscription public key, an uncompressed P-256 point'),
        auth: base64urlBytes(requireString(f.auth, 'Auth', 256), 'Auth', 16, 'the subscription authentication secret'),
      };
    case 'baidu':
      return { platform, value, baiduUserId: requireString(f.baiduUserId, 'BaiduUserId') };
    case 'fcmv1':
      return { platform, value: fcmHandle(value, field) };
    case 'gcm':
      if (value.startsWith(FID_PREFIX)) throw invalid('invalid_handle', `${field}: Firebase installation ids are sent through FCM v1 only; register an FcmV1 registration or installation.`, { field });
      return { platform, value };
    default:
      return { platform, value };
  }
}

/**
 * Literal values of platform headers that the PNS would refuse (§13.1: literals must parse; priority as a
 * byte, apns-expiration as an int), checked at the edge so a typo is a 400 now rather than a failed push on
 * every send. Shared by template headers and the headers of a native send. Expressions are checked apart.
 */
/** A header value check: a RegExp, or anything with the same `test`. */
export interface HeaderCheck {
  test(value: string): boolean;
}

export const PLATFORM_HEADER_RULES: Readonly<Record<string, readonly [HeaderCheck, string]>> = {
  'apns-priority': [/^(10|5|1)$/, '10, 5 or 1'],
  'apns-expiration': [/^\d{1,12}$/, 'a UNIX time in seconds (0: do not store)'],
  // pns-protocols §2.3: the push types APNs knows (docs/platforms/apns.md).
  'apns-push-type': [/^(alert|background|voip|complication|fileprovider|liveactivity|location|pushtotalk|widgets|controls|mdm)$/, 'an APNs push type: alert, background, voip, complication, fileprovider, liveactivity, location, pushtotalk, widgets, controls or mdm'],
  'apns-id': [/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a UUID'],
  // §2.2: APNs counts bytes (BadCollapseId past 64), so 64 accented letters are too many.
  'apns-collapse-id': [{ test: (v) => v.length > 0 && Buffer.byteLength(v) <= 64 }, 'at most 64 bytes (UTF-8)'],
  'x-wns-type': [/^wns\/(toast|tile|badge|raw)$/i, 'wns/toast, wns/tile, wns/badge or wns/raw'],
  'x-wns-ttl': [/^\d{1,10}$/, 'a number of seconds'],
  'x-wns-cache-policy': [/^(cache|no-cache)$/i, 'cache or no-cache'],
  'x-windowsphone-target': [/^(toast|token)$/i, 'toast or token'],
  // Web Push (RFC 8030 §5.2-5.4). TTL: at most 4 weeks, the longest every big push service keeps.
  ttl: [/^(?:\d{1,6}|1\d{6}|2[0-3]\d{5}|240\d{4}|241[0-8]\d{3}|2419[01]\d{2}|2419200)$/, 'a number of seconds from 0 to 2419200 (4 weeks)'],
  urgency: [/^(very-low|low|normal|high)$/, 'very-low, low, normal or high'],
  topic: [/^[A-Za-z0-9_-]{1,32}$/, 'at most 32 characters of A-Z, a-z, 0-9, - and _ (URL-safe base64, RFC 8030 §5.4)'],
};

/** WNS notification types (X-WNS-Type) and the body format each takes (pns-protocols §1.4). */
const WNS_TYPES = new Set(['wns/toast', 'wns/tile', 'wns/badge', 'wns/raw']);

/** What body format a template of this platform has, given its headers. */
export function templateFormat(platform: PlatformName, headers: readonly TemplateHeader[] = []): 'json' | 'xml' | 'raw' {
  if (platform === 'wns') {
    const type = headers.find((h) => h.name.toLowerCase() === 'x-wns-type')?.value.toLowerCase();
    return type === 'wns/raw' ? 'raw' : 'xml';
  }
  return platform === 'mpns' ? 'xml' : 'json';
}

function validateHeaders(platform: PlatformName, headers: readonly TemplateHeader[]): void {
  const names = new Set<string>();
  for (const h of headers) {
    if (typeof h.name !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(h.name)) {
      throw invalid('invalid_header', `Header name '${String(h.name).slice(0, 130)}' is not a valid HTTP header name.`, { header: h.name });
    }
    if (typeof h.value !== 'string' || h.value.length > 4096 || /[\r\n]/.test(h.value)) {
      throw invalid('invalid_header', `The value of header ${h.name} must be one line of at most 4096 characters.`, { header: h.name });
    }
    requireXmlText(h.value, 'headers', `The value of header ${h.name}`, { header: h.name });
    const lower = h.name.toLowerCase();
    if (names.has(lower)) throw invalid('invalid_header', `Header ${h.name} is given twice.`, { header: h.name });
    names.add(lower);
    if (platform === 'apns' && !lower.startsWith('apns-')) {
      throw invalid('invalid_header', `APNs template header '${h.name}' must start with 'apns-'.`, { header: h.name });
    }
    if (platform === 'wns' && !lower.startsWith('x-wns-')) {
      throw invalid('invalid_header', `WNS template header '${h.name}' must start with 'X-WNS-'.`, { header: h.name });
    }
    if (lower === 'x-wns-type' && !WNS_TYPES.has(h.value.toLowerCase()) && !h.value.startsWith('$')) {
      throw invalid('invalid_header', `X-WNS-Type must be one of ${[...WNS_TYPES].join(', ')}.`, { header: h.name });
    }
    // A header value may be an expression (§13.1); a broken one is refused now, not at send time.
    if (/^[$.%#{]/.test(h.value)) validateTemplateExpression(h.value);
    else {
      const rule = PLATFORM_HEADER_RULES[lower];
      if (rule !== undefined && !rule[0].test(h.value.trim())) {
        throw invalid('invalid_header', `The value of header ${h.name} is '${h.value.slice(0, 60)}'; it must be ${rule[1]}, or an expression.`, { header: h.name });
      }
    }
  }
  if (platform === 'wns' && !names.has('x-wns-type')) {
    throw invalid('missing_header', 'A WNS template needs the header X-WNS-Type (wns/toast, wns/tile, wns/badge or wns/raw).', { header: 'X-WNS-Type' });
  }
  if (platform === 'mpns' && !names.has('x-windowsphone-target')) {
    throw invalid('missing_header', 'An MPNS template needs the header X-WindowsPhone-Target.', { header: 'X-WindowsPhone-Target' });
  }
}

/**
 * Checks a template: its name, headers and body (valid JSON or XML for the platform, every expression
 * parses; compileTemplate's errors name the expression and where it is). Returns it unchanged.
 */
export function validateTemplate(platform: PlatformName, t: RegistrationTemplate): RegistrationTemplate {
  if (typeof t.body !== 'string' || t.body.trim() === '') throw invalid('missing_field', 'BodyTemplate is required for a template registration.', { field: 'BodyTemplate' });
  if (t.name !== undefined && (typeof t.name !== 'string' || t.name.length > MAX_TEMPLATE_NAME_LENGTH)) {
    throw invalid('invalid_field', `TemplateName must be a string of at most ${MAX_TEMPLATE_NAME_LENGTH} characters.`, { field: 'TemplateName' });
  }
  requireXmlText(t.body, 'BodyTemplate');
  if (t.name !== undefined) requireXmlText(t.name, 'TemplateName');
  if (t.expiry !== undefined) requireXmlText(t.expiry, 'Expiry');
  if (t.priority !== undefined) requireXmlText(t.priority, 'Priority');
  validateHeaders(platform, t.headers ?? []);
  const format = templateFormat(platform, t.headers);
  // A raw body (wns/raw) is opaque text with expressions inside, whatever it looks like (#10 item 5).
  checkTemplateBody(t.body, format);
  if (platform === 'fcmv1') checkFcmTemplateTarget(t.body);
  if (t.expiry !== undefined) {
    if (/^[$.%#{]/.test(t.expiry)) validateTemplateExpression(t.expiry);
    // §13.1: a literal Expiry must parse as a date or 0, or it would fail every send (#10 item 8).
    else if (apnsExpirationSeconds(t.expiry) === undefined) {
      throw invalid('invalid_field', `Expiry '${t.expiry.slice(0, 60)}' is not a date; it must be ${EXPIRY_FORMS}.`, { field: 'Expiry' });
    }
  }
  if (t.priority !== undefined && !/^(5|10|1)$/.test(t.priority) && !/^[$.%#{]/.test(t.priority)) {
    throw invalid('invalid_field', 'Priority must be 10, 5 or 1 (apns-priority), or an expression.', { field: 'Priority' });
  }
  return t;
}

/**
 * Bodies that compiled, by format and text: the devices of one app register the same few templates, so
 * each is parsed once rather than on every installation PUT. Bounded; a body that fails is parsed again
 * each time, so its error is always the one compileTemplate gives.
 */
const compiledBodies = new Set<string>();
const MAX_COMPILED_BODIES = 1000;
const MAX_CACHED_BODY_LENGTH = 4096;

function checkTemplateBody(body: string, format: ReturnType<typeof templateFormat>): void {
  const key = `${format}\n${body}`;
  if (compiledBodies.has(key)) return;
  compileTemplate(body, format);
  if (body.length > MAX_CACHED_BODY_LENGTH) return;
  if (compiledBodies.size >= MAX_COMPILED_BODIES) compiledBodies.clear();
  compiledBodies.add(key);
}

/** An FCM v1 template must not name its own target either (issue 14); keys are never expressions. */
function checkFcmTemplateTarget(body: string): void {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return; // checkTemplateBody has accepted it: JSON with expressions in its strings always parses
  }
  const message = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)['message'] : undefined;
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
  const problem = fcmMessageProblem(message as Record<string, unknown>);
  if (problem?.kind === 'target') throw new HubError('fcm_target_in_payload', problem.message, { reason: 'fcm_target_in_payload', field: 'BodyTemplate', member: problem.field });
}

/** Push variables: a flat object of strings with property-name keys (§13.2). */
export function validatePushVariables(value: unknown, field = 'PushVariables'): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('invalid_field', `${field} must be a JSON object of string values.`, { field });
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_PUSH_VARIABLES) throw invalid('invalid_field', `${field} has more than ${MAX_PUSH_VARIABLES} entries.`, { field });
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_]{1,120}$/.test(k)) throw invalid('invalid_field', `${field} key '${k.slice(0, 130)}' must be 1 to 120 of A-Z, a-z, 0-9, _.`, { field });
    if (typeof v !== 'string' || v.length > 4096) throw invalid('invalid_field', `${field} value of '${k}' must be a string of at most 4096 characters.`, { field });
    requireXmlText(v, field, `${field} value of '${k}'`);
  }
  return value as Record<string, string>;
}

/** Installation and registration ids: they are path segments and parts of system tags. */
export function validateId(value: unknown, what: 'installationId' | 'RegistrationId' | 'userId'): string {
  if (typeof value !== 'string' || value === '') throw invalid('missing_field', `${what} is required.`, { field: what });
  if (value.length > MAX_ID_LENGTH) throw invalid('field_too_long', `${what} is longer than ${MAX_ID_LENGTH} characters.`, { field: what });
  if (what === 'userId') {
    // Allowed characters per the docs (§5.1): alphanumerics and -_@#.:=
    if (!/^[A-Za-z0-9\-_@#.:=]+$/.test(value)) throw invalid('invalid_field', 'userId may contain only letters, digits and - _ @ # . : =', { field: what });
  } else if (/[/\\?#\s\u0000-\u001f{}]/.test(value)) {
    // '/' would make extra path segments (§3.1); '{' '}' would break the $InstallationId:{...} tag.
    throw invalid('invalid_id', `${what} must not contain '/', '\\', '?', '#', '{', '}', spaces or control characters.`, { field: what });
  }
  return value;
}
