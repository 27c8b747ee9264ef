/**
 * The body of a batch direct send, `POST /{hub}/messages/$batch?direct` (wire spec §7.3): a
 * `multipart/mixed` document with a part named `notification` (the payload, with its own Content-type)
 * and a part named `devices` (a JSON array of PNS handles). Binary-safe (a WNS raw payload may be any
 * bytes) and bounded in size, parts and handles; pure, no I/O.
 */
import { HubError } from '../../shared/errors.ts';

export interface MultipartLimits {
  /** Bytes of the whole body. The HTTP layer caps request bodies at 64 KiB (§14); this holds without it. */
  readonly maxBytes: number;
  /** Parts in the document; a batch has two, unknown parts are skipped but counted. */
  readonly maxParts: number;
  /** Bytes of one part's header block. */
  readonly maxHeaderBytes: number;
  /** Device handles in the `devices` part (§7.3, §14: at most 1000 per request [DOC]). */
  readonly maxDevices: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = Object.freeze({
  maxBytes: 64 * 1024,
  maxParts: 8,
  maxHeaderBytes: 4096,
  maxDevices: 1000,
});

export interface MultipartPart {
  /** Header names lower-cased; a repeated header keeps its first value. */
  readonly headers: Readonly<Record<string, string>>;
  /** The `name` parameter of Content-Disposition, lower-cased; undefined when there is none. */
  readonly name: string | undefined;
  readonly body: Buffer;
}

export interface BatchSendBody {
  /** The notification part's Content-type, as given (JS: the notification's own content type). */
  readonly notificationContentType: string | undefined;
  readonly notification: Buffer;
  /**
   * The `devices` array as parsed, not yet validated per platform: strings for every platform; the
   * caller decides what else it accepts (send-request takes Web Push subscription objects for browser).
   */
  readonly devices: readonly unknown[];
}

/** §7.3 [DOC]: the real service's wording for a missing part; clients may match on it, so it leads the message. */
export const MISSING_PART_MESSAGE = 'Could not find a part of the multipart content supplied';

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

function malformed(message: string): HubError {
  return new HubError('malformed_body', `The multipart body is not well-formed: ${message}`, { reason: 'multipart_malformed' });
}

/**
 * Splits a header value into its leading value and `;`-separated parameters. Lenient where clients are:
 * the JS client writes `boundary = "…"` with spaces around `=` (§7.3), values may be quoted or bare, and
 * parameter names are matched case-insensitively (RFC 2045 §5.1).
 */
export function parseHeaderParameters(value: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const semi = value.indexOf(';');
  const head = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  const rest = semi < 0 ? '' : value.slice(semi);
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    const name = m[1]!.toLowerCase();
    const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
    if (!(name in params)) params[name] = v;
  }
  return { value: head, params };
}

/**
 * The boundary of a `multipart/mixed` Content-Type. Anything else is refused with 400 (§7.4: a bad
 * content type is a 400 on this API, not a 415).
 */
export function multipartBoundary(contentType: string | undefined): string {
  if (contentType === undefined || contentType.trim() === '') {
    throw invalid('multipart_content_type', 'A batch send ($batch) needs Content-Type: multipart/mixed; boundary="…".', { header: 'Content-Type' });
  }
  const { value, params } = parseHeaderParameters(contentType);
  if (value !== 'multipart/mixed') {
    throw invalid('multipart_content_type', `A batch send ($batch) needs Content-Type multipart/mixed, not '${value.slice(0, 100)}'.`, { header: 'Content-Type' });
  }
  const boundary = params['boundary'];
  // RFC 2046 §5.1.1: 1 to 70 characters, and it may not end with a space.
  if (boundary === undefined || boundary === '' || boundary.length > 70 || boundary.endsWith(' ') || /[\r\n]/.test(boundary)) {
    throw invalid('multipart_boundary', 'The multipart Content-Type needs a boundary parameter of 1 to 70 characters.', { header: 'Content-Type' });
  }
  return boundary;
}

/** The index just past the line break that starts at `i` (CRLF or a bare LF), or -1 when there is none. */
function lineBreakEnd(buf: Buffer, i: number): number {
  if (buf[i] === 0x0d && buf[i + 1] === 0x0a) return i + 2;
  if (buf[i] === 0x0a) return i + 1;
  return -1;
}

/**
 * Splits a multipart body into its parts (RFC 2046 §5.1.1). A delimiter is `--boundary` at the start of
 * the body or of a line; CRLF and bare LF line ends are both read (hand-written bodies from the docs use
 * LF). The close delimiter may end the body with no CRLF after it, as the JS client sends it (§7.3);
 * a preamble and an epilogue are ignored.
 */
export function parseMultipart(body: Buffer, boundary: string, limits: Partial<MultipartLimits> = {}): MultipartPart[] {
  const l: MultipartLimits = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  if (body.length > l.maxBytes) {
    throw new HubError('payload_too_large', `The batch body has ${body.length} bytes; at most ${l.maxBytes} are accepted.`, { reason: 'multipart_too_large', limit: l.maxBytes });
  }
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const findDelimiter = (from: number): number => {
    for (let i = body.indexOf(delimiter, from); i >= 0; i = body.indexOf(delimiter, i + 1)) {
      if (i === 0 || body[i - 1] === 0x0a) return i;
    }
    return -1;
  };
  let at = findDelimiter(0);
  if (at < 0) throw malformed(`the boundary '${boundary}' given in Content-Type does not occur in the body.`);
  const parts: MultipartPart[] = [];
  for (;;) {
    let cursor = at + delimiter.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return parts; // close delimiter: the rest is epilogue
    while (body[cursor] === 0x20 || body[cursor] === 0x09) cursor++; // transport padding
    const start = lineBreakEnd(body, cursor);
    if (start < 0) throw malformed('a boundary line must end with a line break.');
    const next = findDelimiter(start);
    if (next < 0) throw malformed(`the body ends without the closing boundary '--${boundary}--'.`);
    if (parts.length >= l.maxParts) throw invalid('multipart_too_many_parts', `The multipart body has more than ${l.maxParts} parts.`, { limit: l.maxParts });
    // The line break before a delimiter belongs to the delimiter, not to the part.
    let end = next;
    if (end > start && body[end - 1] === 0x0a) end--;
    if (end > start && body[end - 1] === 0x0d) end--;
    parts.push(readPart(body.subarray(start, Math.max(start, end)), l.maxHeaderBytes));
    at = next;
  }
}

function readPart(raw: Buffer, maxHeaderBytes: number): MultipartPart {
  // Headers end at the first empty line; a part that starts with an empty line has none.
  let headerEnd = -1;
  let bodyStart = 0;
  for (let i = 0; i < raw.length; ) {
    const eol = raw.indexOf(0x0a, i);
    const lineEnd = eol < 0 ? raw.length : eol;
    const blank = lineEnd === i || (lineEnd === i + 1 && raw[i] === 0x0d);
    if (blank) {
      headerEnd = i;
      bodyStart = eol < 0 ? raw.length : eol + 1;
      break;
    }
    if (eol < 0) break;
    i = eol + 1;
    if (i > maxHeaderBytes) break;
  }
  if (headerEnd < 0) {
    if (raw.length > maxHeaderBytes) throw invalid('multipart_header_too_large', `A multipart part's headers are longer than ${maxHeaderBytes} bytes.`, { limit: maxHeaderBytes });
    throw malformed('a part needs an empty line between its headers and its content.');
  }
  if (headerEnd > maxHeaderBytes) throw invalid('multipart_header_too_large', `A multipart part's headers are longer than ${maxHeaderBytes} bytes.`, { limit: maxHeaderBytes });
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of raw.subarray(0, headerEnd).toString('latin1').split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`the part header line '${line.slice(0, 80)}' has no name.`);
    // Names are case-insensitive: the JS client writes `Content-type` (§7.3).
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  const disposition = headers['content-disposition'];
  const name = disposition === undefined ? undefined : parseHeaderParameters(disposition).params['name']?.toLowerCase();
  return { headers, name, body: raw.subarray(bodyStart) };
}

/**
 * Reads the batch direct send body: the `notification` and `devices` parts (§7.3). A missing part is the
 * real service's 400 "Could not find a part of the multipart content supplied" [DOC]; more than
 * `maxDevices` handles, an empty list or a list that is not an array of strings/objects is a 400 too.
 */
export function parseBatchSendBody(contentType: string | undefined, body: Buffer, limits: Partial<MultipartLimits> = {}): BatchSendBody {
  const l: MultipartLimits = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  const parts = parseMultipart(body, multipartBoundary(contentType), l);
  const find = (name: 'notification' | 'devices'): MultipartPart => {
    const found = parts.filter((p) => p.name === name);
    if (found.length === 0) {
      throw invalid('multipart_part_missing', `${MISSING_PART_MESSAGE}: no part has Content-Disposition: inline; name=${name}.`, { part: name });
    }
    if (found.length > 1) throw invalid('multipart_part_repeated', `The multipart body has ${found.length} parts named '${name}'; one is expected.`, { part: name });
    return found[0]!;
  };
  const notification = find('notification');
  const devices = parseDeviceList(find('devices').body, l.maxDevices);
  return { notificationContentType: notification.headers['content-type'], notification: notification.body, devices };
}

/**
 * The devices part: a JSON array. The docs' examples write single-quoted pseudo-JSON (`['a','b']`) [DOC],
 * so when strict JSON fails the text is read again with single-quoted strings allowed.
 */
export function parseDeviceList(raw: Buffer, maxDevices: number = DEFAULT_MULTIPART_LIMITS.maxDevices): unknown[] {
  const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(raw).trim();
  if (text === '') throw invalid('devices_empty', `The 'devices' part is empty; it must be a JSON array of device handles.`, { part: 'devices' });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = JSON.parse(singleQuotesToJson(text));
    } catch {
      throw new HubError('malformed_body', `The 'devices' part is not a JSON array of device handles, e.g. ["handle1","handle2"].`, { reason: 'devices_not_json', part: 'devices' });
    }
  }
  if (!Array.isArray(value)) throw invalid('devices_not_array', `The 'devices' part must be a JSON array of device handles, e.g. ["handle1","handle2"].`, { part: 'devices' });
  if (value.length === 0) throw invalid('devices_empty', `The 'devices' part lists no device handles.`, { part: 'devices' });
  if (value.length > maxDevices) {
    throw invalid('too_many_devices', `The 'devices' part lists ${value.length} device handles; at most ${maxDevices} are allowed per batch send.`, { part: 'devices', count: value.length, limit: maxDevices });
  }
  return value;
}

/**
 * Rewrites single-quoted strings as JSON strings, leaving double-quoted ones alone: `['a','b\'c']` →
 * `["a","b'c"]`. Only used as a fallback after strict JSON failed.
 */
function singleQuotesToJson(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '"' && c !== "'") {
      out += c;
      continue;
    }
    let j = i + 1;
    let value = '';
    for (; j < text.length && text[j] !== c; j++) {
      if (text[j] === '\\' && j + 1 < text.length) {
        j++;
        // In a single-quoted string `\'` is a quote; other escapes keep their JSON meaning.
        value += c === "'" && text[j] === "'" ? "'" : `\\${text[j]!}`;
      } else value += c === "'" && text[j] === '"' ? '\\"' : text[j]!;
    }
    if (j >= text.length) throw new SyntaxError('unterminated string');
    out += `"${value}"`;
    i = j;
  }
  return out;
}
