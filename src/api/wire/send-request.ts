/**
 * A send request as received on `POST /{hub}/messages[/$batch]` and `POST /{hub}/schedulednotifications`
 * (wire spec §7, §8), validated into the pipeline's typed SendRequest (dispatch/send-model.ts): format,
 * target, test flag, schedule time, platform headers and payload. Pure: plain header map (lower-case names), query and body in; a value or a
 * HubError with a stable code and `details.reason` out.
 *
 * Per-platform payload size limits (APNs 4 KB, FCM 4 KB, WNS raw 5 KB, §14) are NOT checked here: they
 * differ per PNS and a template send's size is only known after rendering, so the connectors report
 * them as `InvalidNotificationSize`. Only the request size (64 KB → 413, §7.4) is bounded here.
 */
import { parseBatchSendBody, type MultipartLimits } from './multipart.ts';
import { parseXml } from './atom.ts';
import { eligibleKinds, FORMAT_PLATFORM, MAX_TEMPLATE_PROPERTIES, SEND_FORMATS, type NativeSendFormat, type SendFormat, type SendPayload, type SendRequest, type SendTarget } from '../../dispatch/send-model.ts';
import type { PnsHandle } from '../../registry/model.ts';
import { apnsExpirationSeconds } from '../../registry/apns-expiry.ts';
import { declarativePushProblem, fcmMessageProblem } from '../../registry/native-payloads.ts';
import { PLATFORM_HEADER_RULES, validateHandle, type HeaderCheck } from '../../registry/validation.ts';
import { admMessageProblem } from '../../pns/adm/adm-payload.ts';
import { HubError } from '../../shared/errors.ts';
import { parseTagExpression, type TagExpressionLimits } from '../../tags/index.ts';
import { MAX_PROPERTY_NAME_LENGTH } from '../../templates/index.ts';

/** Request size bound (§7.4, §14: 64 KB → 413); the HTTP layer enforces it too. */
export const MAX_SEND_BODY_BYTES = 64 * 1024;
const MAX_HEADER_VALUE = 4096;

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface SendRequestInput {
  readonly headers: Headers;
  readonly query: URLSearchParams;
  readonly body: Buffer;
  /** The path was `/messages/$batch`. */
  readonly batch: boolean;
  /** The path was `/schedulednotifications`. */
  readonly scheduled: boolean;
  readonly tagLimits?: Partial<TagExpressionLimits>;
  readonly maxBodyBytes?: number;
  readonly multipartLimits?: Partial<MultipartLimits>;
}

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

/** One value of a header; a control header given twice is ambiguous and refused. */
function single(headers: Headers, name: string, display: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) {
    if (v.length > 1) throw invalid('header_repeated', `Header ${display} is given ${v.length} times; give it once.`, { header: display });
    return v[0];
  }
  return v;
}

/** Format names are case-insensitive (§16: `fcmV1`); .NET's `fcm` means FCM legacy, i.e. `gcm` (§7.1). */
export function parseSendFormat(value: string | undefined): SendFormat {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '') {
    throw invalid('missing_header', `Header ServiceBusNotification-Format is required: one of ${SEND_FORMATS.join(', ')}.`, { header: 'ServiceBusNotification-Format' });
  }
  if (v === 'fcm') return 'gcm';
  if ((SEND_FORMATS as readonly string[]).includes(v)) return v as SendFormat;
  throw invalid('unknown_format', `ServiceBusNotification-Format '${v.slice(0, 40)}' is not supported; use one of ${SEND_FORMATS.join(', ')}.`, { header: 'ServiceBusNotification-Format' });
}

/**
 * `ServiceBusNotification-ScheduleTime`: JS sends `Date.toISOString()` (with `Z`), .NET `yyyy-MM-ddTHH:mm:ss`
 * with no offset, meaning UTC (§8.1). An explicit offset is honoured; fractions up to 7 digits (.NET ticks).
 */
export function parseScheduleTime(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?([Zz]|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  const bad = (): HubError => invalid('invalid_schedule_time',
    `ServiceBusNotification-ScheduleTime '${value.slice(0, 40)}' is not a date and time such as 2030-01-01T10:00:00Z (no offset means UTC).`,
    { header: 'ServiceBusNotification-ScheduleTime' });
  if (m === null) throw bad();
  const [y, mo, d, h, mi, s = '0', frac = '0', zone = 'Z'] = m.slice(1);
  const ms = Math.floor(Number(`0.${frac}`) * 1000);
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(local);
  // Date.UTC rolls 2030-02-30 over into March; a date that does not round-trip does not exist.
  if (Number.isNaN(local) || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || Number(s) > 59 || Number(mi) > 59) throw bad();
  if (zone.toUpperCase() === 'Z') return local;
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
  return z[1] === '+' ? local - offset : local + offset;
}

/** Which request headers each native format forwards to its PNS (§7.1). */
const PASSTHROUGH: Readonly<Record<NativeSendFormat, (name: string) => boolean>> = {
  apple: (n) => n.startsWith('apns-') || n === 'x-apns-priority' || n === 'servicebusnotification-apns-expiry',
  windows: (n) => n.startsWith('x-wns-'),
  windowsphone: (n) => n === 'x-windowsphone-target' || n === 'x-notificationclass',
  // RFC 8030 §5.2-5.4: a Web Push send's TTL, Urgency and Topic go to the push service (issue 14).
  browser: (n) => n === 'ttl' || n === 'urgency' || n === 'topic',
  gcm: () => false, fcmv1: () => false, adm: () => false, baidu: () => false, xiaomi: () => false,
};

/** Values checked at the edge so a typo is a 400 now rather than a PNS rejection later. */
const HEADER_RULES: Readonly<Record<string, readonly [HeaderCheck, string]>> = {
  ...PLATFORM_HEADER_RULES,
  'x-apns-priority': [/^(10|5|1)$/, '10, 5 or 1'],
};

function platformHeaders(headers: Headers, format: SendFormat): Record<string, string> {
  const out: Record<string, string> = {};
  // A template send carries no platform of its own: keep every recognised header and let the renderer
  // merge it under the template's own headers (which win). UNCONFIRMED what Azure does with them.
  const keep = format === 'template' ? (n: string) => Object.values(PASSTHROUGH).some((p) => p(n)) : PASSTHROUGH[format];
  for (const name of Object.keys(headers)) {
    if (!keep(name)) continue;
    if (name === 'apns-channel-id') {
      // A channel broadcast has no registrations to reach; sent to devices the header would be dropped.
      throw invalid('channel_send_not_here', 'apns-channel-id names an APNs broadcast channel: send to it with POST /_admin/v1/hubs/{hub}/apns/channels/{channelId}/broadcasts (docs/platforms/apns.md), not to registrations.', { header: name });
    }
    const value = single(headers, name, name);
    if (value === undefined) continue;
    if (value.length > MAX_HEADER_VALUE) throw invalid('invalid_header', `Header ${name} is longer than ${MAX_HEADER_VALUE} characters.`, { header: name });
    const rule = HEADER_RULES[name];
    if (rule !== undefined && !rule[0].test(value.trim())) {
      throw invalid('invalid_header', `Header ${name} is '${value.slice(0, 60)}'; it must be ${rule[1]}.`, { header: name });
    }
    out[name] = value.trim();
  }
  return legacyApnsHeaders(out);
}

/**
 * §7.1: .NET and azure-sb send the priority as `X-Apns-Priority` and the expiry as
 * `ServiceBusNotification-Apns-Expiry` (a date, as .NET or JS writes it). They become the APNs headers; an
 * `apns-*` header given as well wins, being the newer and more specific of the two.
 */
function legacyApnsHeaders(out: Record<string, string>): Record<string, string> {
  const priority = out['x-apns-priority'];
  if (priority !== undefined) {
    delete out['x-apns-priority'];
    out['apns-priority'] ??= priority;
  }
  const expiry = out['servicebusnotification-apns-expiry'];
  if (expiry !== undefined) {
    delete out['servicebusnotification-apns-expiry'];
    const seconds = apnsExpirationSeconds(expiry);
    if (seconds === undefined) {
      throw invalid('invalid_header', `Header ServiceBusNotification-Apns-Expiry is '${expiry.slice(0, 60)}'; it must be a date such as 2030-01-01T00:00:00Z, seconds since 1970, or 0.`,
        { header: 'servicebusnotification-apns-expiry' });
    }
    out['apns-expiration'] ??= String(seconds);
  }
  return out;
}

function utf8(body: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body); // strips a BOM
  } catch {
    throw new HubError('malformed_body', `The ${what} body is not valid UTF-8.`, { reason: 'invalid_utf8' });
  }
}

function parseJson(text: string, format: SendFormat): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new HubError('malformed_body', `The ${format} notification body is not valid JSON: ${why}`, { reason: 'invalid_json', format });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The payload rules of §7.2 per format; `wnsType` is the (possibly inferred) X-WNS-Type. */
function parsePayload(format: SendFormat, body: Buffer, headers: Record<string, string>): SendPayload {
  if (body.length === 0) throw invalid('empty_body', `The ${format} notification body is empty.`);
  switch (format) {
    case 'windows': {
      const type = headers['x-wns-type']?.toLowerCase();
      if (type === 'wns/raw') return { kind: 'raw', bytes: body }; // any bytes [DOC], ≤5 KB checked by the connector
      const text = utf8(body, 'windows');
      const root = parseXml(text, { maxBytes: body.length }).localName;
      if (type === undefined) {
        // .NET infers the type from the root element when the header is absent; JS always sets it (§7.1).
        if (!['toast', 'tile', 'badge'].includes(root)) {
          throw invalid('missing_header', `Header X-WNS-Type is required (wns/toast, wns/tile, wns/badge or wns/raw); the body's root <${root}> does not name a type.`, { header: 'X-WNS-Type' });
        }
        headers['x-wns-type'] = `wns/${root}`;
      } else if (type !== `wns/${root}`) {
        throw invalid('wns_type_mismatch', `X-WNS-Type is ${type} but the body's root element is <${root}>; a ${type} body has the root <${type.slice(4)}>.`, { header: 'X-WNS-Type' });
      }
      return { kind: 'xml', text, root };
    }
    case 'windowsphone': {
      // MPNS: toast and tile ("token") are XML; a notification with no target is raw.
      if (headers['x-windowsphone-target'] === undefined) return { kind: 'raw', bytes: body };
      const text = utf8(body, 'windowsphone');
      return { kind: 'xml', text, root: parseXml(text, { maxBytes: body.length }).localName };
    }
    case 'template':
      return parseTemplateProperties(utf8(body, 'template'));
    default: {
      const text = utf8(body, format);
      const value = parseJson(text, format);
      // Web Push carries any JSON to the service worker; every other PNS wants a JSON object.
      if (format !== 'browser' && !isObject(value)) {
        throw invalid('invalid_payload', `The ${format} notification body must be a JSON object.`, { format });
      }
      if (format === 'fcmv1') checkFcmV1(value as Record<string, unknown>);
      if (format === 'browser') checkBrowser(value);
      if (format === 'adm') checkAdm(value);
      return { kind: 'json', text, value };
    }
  }
}

/** ADM takes `{"data":{…string values},"consolidationKey"?,"expiresAfter"?,"md5"?}` (docs/platforms/adm.md). */
function checkAdm(value: unknown): void {
  const problem = admMessageProblem(value);
  if (problem) throw invalid('invalid_payload', `The adm notification body is not an ADM message: ${problem.message}.`, { format: 'adm', admReason: problem.reason });
}

/** §7.2: FCM v1 takes the envelope `{"message":{…}}`; the hub fills in the target. */
function checkFcmV1(value: Record<string, unknown>): void {
  const message = value['message'];
  if (!isObject(message)) {
    throw invalid('invalid_payload', 'The fcmv1 notification body must be {"message":{…}} (the FCM v1 envelope), e.g. {"message":{"notification":{"title":"Hi"}}}.', { format: 'fcmv1' });
  }
  // Issue 14: a token, topic, condition or fid of the caller's would reach devices outside the send's
  // target (Azure users report a stray topic broadcasting), so each is refused with a code of its own.
  const problem = fcmMessageProblem(message);
  if (problem?.kind === 'target') throw new HubError('fcm_target_in_payload', problem.message, { reason: 'fcm_target_in_payload', format: 'fcmv1', field: problem.field });
  if (problem) throw invalid('invalid_payload', problem.message, { format: 'fcmv1', field: problem.field });
}

/** A Declarative Web Push body (`"web_push": 8030`) must be one the browser can show (issue 14). */
function checkBrowser(value: unknown): void {
  const problem = declarativePushProblem(value);
  if (problem) throw invalid('invalid_declarative_push', `Declarative Web Push: ${problem.message}`, { format: 'browser', field: problem.field });
}

/**
 * §7.2/§13.2: a flat JSON object of string properties. Numbers and booleans are accepted and converted to
 * their JSON text (`3` → "3", `true` → "true"): the JS and .NET types say strings, but an untyped caller that
 * sends `{"count":3}` means "3". Null, objects and arrays have no string form and are refused.
 */
function parseTemplateProperties(text: string): SendPayload {
  const value = parseJson(text, 'template');
  if (!isObject(value)) throw invalid('invalid_payload', 'The template notification body must be a JSON object of properties, e.g. {"message":"hello"}.', { format: 'template' });
  const entries = Object.entries(value);
  if (entries.length > MAX_TEMPLATE_PROPERTIES) {
    throw invalid('invalid_payload', `The template notification has ${entries.length} properties; at most ${MAX_TEMPLATE_PROPERTIES} are allowed.`, { format: 'template', limit: MAX_TEMPLATE_PROPERTIES });
  }
  const properties: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, v] of entries) {
    if (key === '' || key.length > MAX_PROPERTY_NAME_LENGTH) {
      throw invalid('invalid_payload', `Template property names must be 1 to ${MAX_PROPERTY_NAME_LENGTH} characters; '${key.slice(0, 40)}' is not.`, { format: 'template', field: key.slice(0, 130) });
    }
    if (typeof v === 'string') properties[key] = v;
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') properties[key] = JSON.stringify(v);
    else {
      const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
      throw invalid('invalid_payload', `Template property '${key.slice(0, 120)}' is ${kind}; template properties must be strings (a flat JSON object).`, { format: 'template', field: key.slice(0, 130) });
    }
  }
  return { kind: 'template', text, properties };
}

/** Validates direct-send handles with the registry's rules; duplicates are sent once. */
function directHandles(format: SendFormat, raw: readonly { value: unknown; p256dh?: unknown; auth?: unknown; field: string }[]): PnsHandle[] {
  if (format === 'template') throw invalid('direct_template', 'A direct send needs a native format: a template has no registration to render it with.', { header: 'ServiceBusNotification-Format' });
  const platform = FORMAT_PLATFORM[format];
  // validateHandle needs a BaiduUserId that no send header carries. UNCONFIRMED whether Azure allows it.
  if (platform === 'baidu') throw invalid('direct_not_supported', 'Direct send is not supported for baidu: a Baidu target needs a user id as well as a channel id; register the device instead.');
  const seen = new Set<string>();
  const out: PnsHandle[] = [];
  for (const r of raw) {
    const handle = validateHandle(platform, { value: r.value, p256dh: r.p256dh, auth: r.auth }, r.field);
    if (seen.has(handle.value)) continue;
    seen.add(handle.value);
    out.push(handle);
  }
  return out;
}

/** A devices-list entry: a handle string, or for browser a subscription `{endpoint, p256dh, auth}` / `{endpoint, keys}`. */
function deviceEntry(format: SendFormat, d: unknown, i: number): { value: unknown; p256dh?: unknown; auth?: unknown; field: string } {
  const field = `devices[${i}]`;
  if (format !== 'browser') {
    if (typeof d !== 'string') throw invalid('invalid_handle', `${field} must be a device handle string.`, { field });
    return { value: d, field };
  }
  // UNCONFIRMED: the JS client types batch handles as strings only; a browser target needs its keys too.
  if (!isObject(d)) throw invalid('invalid_handle', `${field} must be a Web Push subscription {"endpoint":…,"p256dh":…,"auth":…}.`, { field });
  const keys = isObject(d['keys']) ? d['keys'] : d;
  return { value: d['endpoint'], p256dh: keys['p256dh'], auth: keys['auth'], field };
}

/** §7.1: absent, empty or the JS client's literal "undefined" (broadcast test send) all mean "no tags". */
function noTags(raw: string | undefined): boolean {
  const text = raw?.trim();
  return text === undefined || text === '' || text === 'undefined';
}

function tagTarget(raw: string | undefined, limits: Partial<TagExpressionLimits> | undefined): SendTarget {
  if (raw === undefined || noTags(raw)) return { kind: 'broadcast' };
  const text = raw.trim();
  return { kind: 'tags', expression: text, parsed: parseTagExpression(text, limits) };
}

/** Validates a send (§7) or schedule (§8) request. Every refusal is a HubError a person can act on. */
export function parseSendRequest(input: SendRequestInput): SendRequest {
  const { headers, query, batch, scheduled } = input;
  const maxBody = input.maxBodyBytes ?? MAX_SEND_BODY_BYTES;
  if (input.body.length > maxBody) {
    throw new HubError('payload_too_large', `The request body has ${input.body.length} bytes; at most ${maxBody} are accepted.`, { reason: 'body_too_large', limit: maxBody });
  }
  const format = parseSendFormat(single(headers, 'servicebusnotification-format', 'ServiceBusNotification-Format'));
  const deviceHandle = single(headers, 'servicebusnotification-devicehandle', 'ServiceBusNotification-DeviceHandle');
  const tags = single(headers, 'servicebusnotification-tags', 'ServiceBusNotification-Tags');
  const scheduleTime = single(headers, 'servicebusnotification-scheduletime', 'ServiceBusNotification-ScheduleTime');
  const direct = batch || query.has('direct'); // flags are presence-only (§3.1)

  let scheduledAtMs: number | undefined;
  if (scheduled) {
    if (direct) throw invalid('direct_not_schedulable', 'Scheduled notifications cannot be direct sends (§8.1); send them to tags or broadcast.');
    if (query.has('test')) throw invalid('test_not_schedulable', 'Scheduled notifications cannot be test sends; remove the test flag.');
    if (scheduleTime === undefined || scheduleTime.trim() === '') {
      throw invalid('missing_header', 'Header ServiceBusNotification-ScheduleTime is required for a scheduled notification, e.g. 2030-01-01T10:00:00Z.', { header: 'ServiceBusNotification-ScheduleTime' });
    }
    scheduledAtMs = parseScheduleTime(scheduleTime);
  } else if (scheduleTime !== undefined) {
    throw invalid('schedule_time_not_allowed', 'ServiceBusNotification-ScheduleTime is only read by POST /{hub}/schedulednotifications; this endpoint sends now.', { header: 'ServiceBusNotification-ScheduleTime' });
  }

  let body = input.body;
  let contentType = single(headers, 'content-type', 'Content-Type');
  let target: SendTarget;
  if (batch) {
    if (deviceHandle !== undefined) throw invalid('direct_handle_conflict', 'A batch send takes its handles from the devices part; remove ServiceBusNotification-DeviceHandle.', { header: 'ServiceBusNotification-DeviceHandle' });
    const parsed = parseBatchSendBody(contentType, body, { maxBytes: maxBody, ...input.multipartLimits });
    body = parsed.notification;
    contentType = parsed.notificationContentType;
    target = { kind: 'direct', batch: true, handles: directHandles(format, parsed.devices.map((d, i) => deviceEntry(format, d, i))) };
  } else if (direct) {
    if (deviceHandle === undefined || deviceHandle.trim() === '') {
      throw invalid('missing_header', 'A direct send (?direct) needs header ServiceBusNotification-DeviceHandle with the PNS handle.', { header: 'ServiceBusNotification-DeviceHandle' });
    }
    const p256dh = single(headers, 'p256dh', 'P256DH');
    const auth = single(headers, 'auth', 'Auth');
    target = { kind: 'direct', batch: false, handles: directHandles(format, [{ value: deviceHandle.trim(), p256dh, auth, field: 'ServiceBusNotification-DeviceHandle' }]) };
  } else {
    if (deviceHandle !== undefined) {
      // Without ?direct the real service would ignore the handle and broadcast; refusing is the safe reading.
      throw invalid('direct_flag_missing', 'ServiceBusNotification-DeviceHandle is only read by direct sends: add ?direct=true to the URL.', { header: 'ServiceBusNotification-DeviceHandle' });
    }
    target = tagTarget(tags, input.tagLimits);
  }
  if (direct && !noTags(tags)) {
    throw invalid('direct_tags_conflict', 'A direct send goes to the given handles; remove ServiceBusNotification-Tags.', { header: 'ServiceBusNotification-Tags' });
  }

  const passthrough = platformHeaders(headers, format);
  const payload = parsePayload(format, body, passthrough);
  return {
    format,
    platform: format === 'template' ? undefined : FORMAT_PLATFORM[format],
    target,
    // §7.5: test applies to tag and broadcast sends. The JS client sends test=true&direct=true when both
    // options are given and then ignores the body, so a direct test send is an ordinary direct send.
    test: !direct && query.has('test'),
    scheduledAtMs,
    platformHeaders: passthrough,
    contentType,
    payload,
    body,
    eligibleKinds: direct ? [] : eligibleKinds(format),
  };
}
