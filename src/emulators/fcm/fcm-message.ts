/**
 * FCM v1 message validation (pns-protocols.md §3.3, §3.5, §3.6): field names in snake_case or lowerCamelCase
 * (proto3 JSON), exactly one target, string-only data, size limits, topic conditions.
 */
import type { FieldViolation } from './fcm-errors.ts';

export type Target = { kind: 'token' | 'topic' | 'condition' | 'fid'; value: string };

export type MessageCheck =
  | { ok: true; target: Target; message: Record<string, unknown> }
  | { ok: false; message: string; violations?: FieldViolation[]; unknownField?: boolean };

/** §3.5: 4096 bytes for most messages, 2048 for messages to topics. */
const MAX_PAYLOAD = 4096;
const MAX_TOPIC_PAYLOAD = 2048;
/** §3.3: android.ttl at most 28 days. */
const MAX_TTL_S = 2_419_200;
const TOPIC_NAME = /^[a-zA-Z0-9\-_.~%]+$/;
/** Data keys FCM reserves (ErrorCode doc: "reserved data key"). */
const RESERVED_DATA_KEY = /^(from|message_type|collapse_key|google|gcm)/i;
/** A Firebase installation id: 22 base64url characters whose first 4 bits are 0111 (RandomFidGenerator). */
export const FID_SHAPE = /^[cdef][A-Za-z0-9_-]{21}$/;
/** AndroidConfig's bool fields (FCM v1 reference); proto3 JSON takes only true and false for them. */
const ANDROID_BOOLS = ['direct_boot_ok', 'bandwidth_constrained_ok', 'restricted_satellite_ok'];

const FIELDS: Record<string, readonly string[]> = {
  message: ['name', 'token', 'topic', 'condition', 'data', 'notification', 'android', 'apns', 'webpush', 'fcm_options', 'fid'],
  notification: ['title', 'body', 'image'],
  android: ['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data', 'notification', 'fcm_options', 'direct_boot_ok', 'bandwidth_constrained_ok', 'restricted_satellite_ok'],
  apns: ['headers', 'payload', 'fcm_options', 'live_activity_token'],
  webpush: ['headers', 'data', 'notification', 'fcm_options'],
  fcm_options: ['analytics_label'],
};

/** snake_case spelling of a proto3 JSON name (`collapseKey` → `collapse_key`). */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Invalid extends Error {
  constructor(
    message: string,
    readonly violations?: FieldViolation[],
    readonly unknownField = false,
  ) {
    super(message);
  }
}

/** Copy `obj` with snake_case keys, refusing fields the message type does not have. */
function normalise(obj: Record<string, unknown>, type: string, path: string): Record<string, unknown> {
  const allowed = FIELDS[type];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const name = snake(k);
    if (allowed && !allowed.includes(name)) {
      throw new Invalid(`Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.`, [
        { field: path, description: `Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.` },
      ], true);
    }
    out[name] = v;
  }
  return out;
}

function stringMap(value: unknown, path: string): Record<string, string> {
  if (!isObject(value)) throw new Invalid(`Invalid value at '${path}': must be a map of strings`, [{ field: path, description: 'must be a map of strings' }]);
  let i = 0;
  for (const v of Object.values(value)) {
    // The proto wording for a non-string map value (§3.3).
    if (typeof v !== 'string')
      throw new Invalid(`Invalid value at '${path}[${i}].value' (TYPE_STRING), ${JSON.stringify(v)}`, [
        { field: `${path}[${i}].value`, description: `Invalid value at '${path}[${i}].value' (TYPE_STRING), ${JSON.stringify(v)}` },
      ]);
    i++;
  }
  return value as Record<string, string>;
}

function violation(field: string, description: string): Invalid {
  return new Invalid(description, [{ field, description }]);
}

function checkAndroid(raw: unknown): void {
  if (!isObject(raw)) throw violation('message.android', 'android must be an object');
  const android = normalise(raw, 'android', 'message.android');
  if (android.data !== undefined) stringMap(android.data, 'message.android.data');
  for (const name of ANDROID_BOOLS) {
    const v = android[name];
    if (v !== undefined && typeof v !== 'boolean') throw violation(`message.android.${name}`, `Invalid value at 'message.android.${name}' (TYPE_BOOL), ${JSON.stringify(v)}`);
  }
  if (android.priority !== undefined && !/^(normal|high)$/i.test(String(android.priority)))
    throw violation('message.android.priority', `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "${String(android.priority)}"`);
  if (android.ttl !== undefined) {
    const m = typeof android.ttl === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(android.ttl) : null;
    if (!m) throw violation('message.android.ttl', `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), "${String(android.ttl)}"`);
    if (Number(m[1]) > MAX_TTL_S) throw violation('message.android.ttl', 'The TTL must be at most 2419200 seconds (28 days)');
  }
  if (isObject(android.notification) && android.notification.color !== undefined && !/^#[0-9a-fA-F]{6}$/.test(String(android.notification.color)))
    throw violation('message.android.notification.color', 'color must be in the form #RRGGBB');
}

/** §3.6 grammar: `expr := term (('&&'|'||') term)*; term := '!'? ('(' expr ')' | QUOTED 'in' 'topics')`. */
export function conditionTopics(condition: string): string[] | undefined {
  const tokens = condition.match(/'[^']*'|&&|\|\||!|\(|\)|[A-Za-z]+|\S/g) ?? [];
  const topics: string[] = [];
  let i = 0;
  const term = (): boolean => {
    if (tokens[i] === '!') i++;
    if (tokens[i] === '(') {
      i++;
      if (!expr() || tokens[i] !== ')') return false;
      i++;
      return true;
    }
    const quoted = tokens[i];
    if (!quoted || !/^'[^']+'$/.test(quoted) || tokens[i + 1] !== 'in' || tokens[i + 2] !== 'topics') return false;
    const name = quoted.slice(1, -1);
    if (!TOPIC_NAME.test(name)) return false;
    topics.push(name);
    i += 3;
    return true;
  };
  const expr = (): boolean => {
    if (!term()) return false;
    while (tokens[i] === '&&' || tokens[i] === '||') {
      i++;
      if (!term()) return false;
    }
    return true;
  };
  return expr() && i === tokens.length ? topics : undefined;
}

/** Bytes FCM counts against the limit: the message without its target, as sent. */
function payloadBytes(message: Record<string, unknown>): number {
  const { token: _t, topic: _p, condition: _c, fid: _f, ...rest } = message;
  return Buffer.byteLength(JSON.stringify(rest));
}

export function checkMessage(raw: unknown): MessageCheck {
  try {
    if (!isObject(raw)) throw violation('message', 'Request contains an invalid argument: message is required');
    const message = normalise(raw, 'message', 'message');
    const targets = (['token', 'topic', 'condition', 'fid'] as const).filter((t) => message[t] !== undefined);
    if (targets.length === 0) throw violation('message', 'Recipient of the message is not set.');
    if (targets.length > 1) throw violation('message', `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${targets[1]}'`);
    const kind = targets[0]!;
    const value = message[kind];
    if (typeof value !== 'string' || value === '') throw violation(`message.${kind}`, `${kind} must be a non-empty string`);
    if (kind === 'fid' && !FID_SHAPE.test(value)) throw violation('message.fid', 'The FID is not a valid Firebase installation ID');
    if (kind === 'topic' && !TOPIC_NAME.test(value)) throw violation('message.topic', 'Invalid topic name; use [a-zA-Z0-9-_.~%]+ without "/topics/"');
    if (kind === 'condition') {
      const topics = conditionTopics(value);
      if (!topics) throw violation('message.condition', 'Invalid condition expression provided.');
      if (topics.length > 5) throw violation('message.condition', 'Invalid condition expression: at most 5 topics');
    }
    if (message.data !== undefined) {
      const data = stringMap(message.data, 'message.data');
      const reserved = Object.keys(data).find((k) => RESERVED_DATA_KEY.test(k));
      if (reserved !== undefined) throw violation('message.data', `Invalid data payload key: ${reserved}`);
    }
    if (message.notification !== undefined) {
      if (!isObject(message.notification)) throw violation('message.notification', 'notification must be an object');
      normalise(message.notification, 'notification', 'message.notification');
    }
    if (message.android !== undefined) checkAndroid(message.android);
    for (const part of ['apns', 'webpush'] as const) {
      if (message[part] === undefined) continue;
      if (!isObject(message[part])) throw violation(`message.${part}`, `${part} must be an object`);
      const p = normalise(message[part], part, `message.${part}`);
      if (p.headers !== undefined) stringMap(p.headers, `message.${part}.headers`);
      if (part === 'webpush' && p.data !== undefined) stringMap(p.data, 'message.webpush.data');
      // The Live Activity's APNs token (push or push-to-start): hex, like every APNs device token.
      if (part === 'apns' && p.live_activity_token !== undefined) {
        const t = p.live_activity_token;
        if (typeof t !== 'string') throw violation('message.apns.live_activity_token', `Invalid value at 'message.apns.live_activity_token' (TYPE_STRING), ${JSON.stringify(t)}`);
        if (!/^[0-9a-fA-F]{8,400}$/.test(t) || t.length % 2 !== 0) throw violation('message.apns.live_activity_token', 'Invalid live activity token: it must be the APNs token in hexadecimal');
      }
    }
    const limit = kind === 'topic' ? MAX_TOPIC_PAYLOAD : MAX_PAYLOAD;
    if (payloadBytes(message) > limit) throw violation('message', `Message is too big; the limit is ${limit} bytes`);
    return { ok: true, target: { kind, value }, message };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, message: err.message, violations: err.violations, unknownField: err.unknownField };
    throw err;
  }
}
