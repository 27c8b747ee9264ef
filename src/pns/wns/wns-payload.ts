/**
 * One WNS send request (pns-protocols.md §1.3, §1.4, §1.7): where it goes, its X-WNS-* headers and body,
 * and the checks WNS would fail, done before any network call.
 */
import { outcome, type DeliveryOutcome, type PnsTarget } from '../connector.ts';

/** §1.4: Content-Length above 5000 bytes → 413. */
export const MAX_PAYLOAD_BYTES = 5000;
/** §1.3: "senders should only POST to hosts ending in notify.windows.com". */
export const WNS_CHANNEL_DOMAIN = '.notify.windows.com';
export const WNS_TYPES = ['wns/toast', 'wns/tile', 'wns/badge', 'wns/raw'] as const;
export type WnsType = (typeof WNS_TYPES)[number];

export interface WnsRequest {
  url: URL;
  /** Every header but Authorization, which the connector adds per attempt. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * §1.4 optional headers, spelled as Microsoft does, with the values WNS accepts (it answers 400 otherwise).
 * `X-WNS-Match` is left out on purpose: it belongs to DELETE (Windows Phone action-center clear), never POST.
 */
const HEADER_RULES: Readonly<Record<string, readonly [string, RegExp, string]>> = {
  'x-wns-cache-policy': ['X-WNS-Cache-Policy', /^(cache|no-cache)$/i, 'cache or no-cache'],
  'x-wns-requestforstatus': ['X-WNS-RequestForStatus', /^(true|false)$/i, 'true or false'],
  'x-wns-tag': ['X-WNS-Tag', /^[A-Za-z0-9]{1,16}$/, 'at most 16 alphanumeric characters'],
  'x-wns-group': ['X-WNS-Group', /^[A-Za-z0-9]{1,16}$/, 'at most 16 alphanumeric characters'],
  'x-wns-ttl': ['X-WNS-TTL', /^\d{1,10}$/, 'a number of seconds'],
  'x-wns-suppresspopup': ['X-WNS-SuppressPopup', /^(true|false)$/i, 'true or false'],
  'x-wns-priority': ['X-WNS-PRIORITY', /^[1-4]$/, '1, 2, 3 or 4'],
};
const NOT_FORWARDED = new Set(['x-wns-type', 'x-wns-match']);
/** Header values Node would refuse to write (CR, LF, other controls). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The channel URI as a URL, or why it cannot be one. Only https, and only WNS's own domain, because the
 * request carries the hub's access token: a handle is registered by devices, and a URI on any other host
 * would hand that token to whoever runs it. `alsoAllowed` is the origin of the credentials' endpoint
 * override, so channels handed out by an emulator (or a test server) at that origin can be used.
 */
export function channelUrl(handle: string, alsoAllowed?: string): URL | string {
  let url: URL;
  try {
    url = new URL(handle);
  } catch {
    return 'the handle is not a channel URI';
  }
  if (url.protocol !== 'https:') return 'a channel URI is an https URL (§1.3)';
  if (url.username || url.password) return 'a channel URI carries no user info';
  const host = url.hostname.toLowerCase();
  if (!host.endsWith(WNS_CHANNEL_DOMAIN) && url.origin !== alsoAllowed) {
    return `the channel URI's host ${host} is not a WNS host (*${WNS_CHANNEL_DOMAIN}${alsoAllowed ? ` or ${alsoAllowed}` : ''})`;
  }
  return url;
}

/**
 * The root element's name when the payload starts as an XML document (BOM, declaration and comments
 * skipped); undefined otherwise. Enough to tell toast/tile/badge from raw: WNS itself validates lightly
 * (§1.7), and the API edge already checked well-formedness of native XML sends.
 */
export function xmlRoot(body: Buffer): string | undefined {
  const head = body.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '');
  // A scan, not a regular expression: `(?:<!--[\s\S]*?-->\s*)*` could split a run of comments in
  // exponentially many ways before failing, and a template body or a send is any text.
  const skipSpace = (i: number): number => {
    while (i < head.length && /\s/.test(head.charAt(i))) i++;
    return i;
  };
  let i = skipSpace(0);
  if (head.startsWith('<?xml', i)) {
    const gt = head.indexOf('>', i);
    if (gt < 0 || head.charAt(gt - 1) !== '?') return undefined;
    i = skipSpace(gt + 1);
  }
  while (head.startsWith('<!--', i)) {
    const close = head.indexOf('-->', i + 4);
    if (close < 0) return undefined;
    i = skipSpace(close + 3);
  }
  if (head.charAt(i) !== '<' || !/[A-Za-z_]/.test(head.charAt(i + 1))) return undefined;
  let end = i + 2;
  while (end < head.length && /[\w.-]/.test(head.charAt(end))) end++;
  return end < head.length && /[\s/>]/.test(head.charAt(end)) ? head.slice(i + 1, end) : undefined;
}

/** The target's X-WNS-Type, or the one its payload implies (§1.4: toast/tile/badge by XML root, else raw). */
function wnsType(declared: string | undefined, body: Buffer): WnsType | DeliveryOutcome {
  const root = xmlRoot(body);
  if (declared === undefined) {
    return root === 'toast' || root === 'tile' || root === 'badge' ? `wns/${root}` : 'wns/raw';
  }
  const type = declared.trim().toLowerCase();
  if (!(WNS_TYPES as readonly string[]).includes(type)) {
    return outcome('rejected', 'PnsInterfaceError', `X-WNS-Type is '${declared}'; it must be ${WNS_TYPES.join(', ')}`);
  }
  // §1.7: the root must match the type; WNS answers 400 otherwise.
  if (type !== 'wns/raw' && root !== type.slice('wns/'.length)) {
    return outcome('rejected', 'PnsInterfaceError', `X-WNS-Type is ${type} but the payload's root element is ${root ? `<${root}>` : 'not XML'}`);
  }
  return type as WnsType;
}

/** The request for one target, or the outcome that stops it before the network. */
export function wnsRequest(target: PnsTarget, alsoAllowed?: string): WnsRequest | DeliveryOutcome {
  const url = channelUrl(target.handle, alsoAllowed);
  if (typeof url === 'string') return outcome('rejected', 'BadChannel', url);
  const body = typeof target.payload === 'string' ? Buffer.from(target.payload, 'utf8') : target.payload;
  if (body.length === 0) return outcome('rejected', 'PnsInterfaceError', 'the payload is empty');
  if (body.length > MAX_PAYLOAD_BYTES) {
    return outcome('rejected', 'InvalidNotificationSize', `payload of ${body.length} bytes; WNS takes at most ${MAX_PAYLOAD_BYTES}`);
  }
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(target.headers ?? {})) given.set(name.toLowerCase(), value);
  const type = wnsType(given.get('x-wns-type'), body);
  if (typeof type !== 'string') return type;
  const headers: Record<string, string> = {
    'X-WNS-Type': type,
    // §1.4: the Content-Type pairs with the type; a mismatch is a 400.
    'Content-Type': type === 'wns/raw' ? 'application/octet-stream' : 'text/xml',
    // §1.4 / §0: WNS wants a Content-Length, no chunking.
    'Content-Length': String(body.length),
  };
  for (const [name, raw] of given) {
    if (!name.startsWith('x-wns-') || NOT_FORWARDED.has(name)) continue;
    const value = raw.trim();
    const rule = HEADER_RULES[name];
    if (rule && !rule[1].test(value)) return outcome('rejected', 'PnsInterfaceError', `${rule[0]} is '${value.slice(0, 40)}'; it must be ${rule[2]}`);
    if (!HEADER_VALUE.test(value)) return outcome('rejected', 'PnsInterfaceError', `${name} holds characters a header cannot carry`);
    headers[rule?.[0] ?? name] = value;
  }
  // §1.5: ask WNS for X-WNS-DeviceConnectionStatus, which Herald keeps in each per-device outcome; a
  // send that says `false` itself is left as it is.
  headers['X-WNS-RequestForStatus'] ??= 'true';
  return { url, headers, body };
}
