/**
 * One ADM message (Amazon, "Send a Message", Request format): the body Herald sends for a device is the
 * native ADM body of the send, `{"data"?:{…},"notification"?:{…},"priority"?,"consolidationKey"?,
 * "expiresAfter"?,"md5"?}` (the fields of the official client's AdmNativeMessage), checked as ADM checks it
 * and completed with the `md5` of `data` that ADM's client library verifies on the device.
 * Vendor doc: https://developer.amazon.com/docs/adm/send-message.html
 */
import { createHash } from 'node:crypto';

/** "You can send messages with a payload of up to 6KB in size." Herald counts the whole JSON body. */
export const ADM_MAX_BODY_BYTES = 6 * 1024;
/** consolidationKey: at most 64 characters. */
export const ADM_MAX_CONSOLIDATION_KEY = 64;
/** expiresAfter: seconds, 1 to 2,678,400 (31 days); ADM's default is 604,800 (one week). */
export const ADM_MAX_EXPIRES_AFTER = 2_678_400;

const FIELDS = new Set(['data', 'notification', 'priority', 'consolidationKey', 'expiresAfter', 'md5']);

export interface AdmMessage {
  data?: Record<string, string>;
  notification?: Record<string, unknown>;
  priority?: 'normal' | 'high';
  consolidationKey?: string;
  expiresAfter?: number;
  md5?: string;
}

/** What is wrong with a parsed ADM body, as a person can fix it (with ADM's own reason); undefined when fine. */
export function admMessageProblem(value: unknown): { reason: 'InvalidData' | 'InvalidConsolidationKey' | 'InvalidExpiration' | 'InvalidChecksum'; message: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'InvalidData', message: 'the ADM body must be a JSON object such as {"data":{"message":"hi"}}' };
  const body = value as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) return { reason: 'InvalidData', message: `the ADM body has an unknown field '${key.slice(0, 40)}'; ADM takes data, notification, priority, consolidationKey, expiresAfter and md5` };
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const { data, notification } = body;
  if (data === undefined && notification === undefined) return { reason: 'InvalidData', message: 'the ADM body needs "data" (an object of string values), "notification" (title, body...) or both' };
  if (data !== undefined) {
    if (!isObject(data)) return { reason: 'InvalidData', message: '"data" must be a JSON object of string values' };
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') return { reason: 'InvalidData', message: `data.${k.slice(0, 40)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}; ADM data values are strings` };
    }
  }
  if (notification !== undefined && !isObject(notification)) return { reason: 'InvalidData', message: '"notification" must be a JSON object (title, body, icon...)' };
  if (body.priority !== undefined && body.priority !== 'normal' && body.priority !== 'high') return { reason: 'InvalidData', message: 'priority must be "normal" or "high"' };
  const key = body.consolidationKey;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > ADM_MAX_CONSOLIDATION_KEY)) {
    return { reason: 'InvalidConsolidationKey', message: `consolidationKey must be a string of 1 to ${ADM_MAX_CONSOLIDATION_KEY} characters` };
  }
  const expires = body.expiresAfter;
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 1 || expires > ADM_MAX_EXPIRES_AFTER)) {
    return { reason: 'InvalidExpiration', message: `expiresAfter must be a whole number of seconds from 1 to ${ADM_MAX_EXPIRES_AFTER} (31 days)` };
  }
  const md5 = body.md5;
  if (md5 !== undefined && (typeof md5 !== 'string' || md5 !== admChecksum((data ?? {}) as Record<string, string>))) {
    return { reason: 'InvalidChecksum', message: 'md5 is not the checksum of data (ADM: base64 MD5 of the pairs sorted by key, "k1:v1,k2:v2")' };
  }
  return undefined;
}

/**
 * ADM's checksum of `data`: the pairs sorted by key (UTF-8 code units), written `key1:value1,key2:value2`
 * without spaces, MD5 of its UTF-8 bytes, base64.
 */
export function admChecksum(data: Readonly<Record<string, string>>): string {
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  const keys = Object.keys(data).sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
  return createHash('md5').update(keys.map((k) => `${k}:${data[k]}`).join(','), 'utf8').digest('base64');
}

/** The body to send: the send's message with its md5 filled in; or why it cannot be sent. */
export function admRequestBody(payload: string | Buffer): { ok: true; body: string } | { ok: false; message: string; tooLarge?: boolean } {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the ADM body is not JSON' };
  }
  const problem = admMessageProblem(value);
  if (problem) return { ok: false, message: `${problem.reason}: ${problem.message}` };
  const message = value as AdmMessage;
  // The md5 covers `data`; a notification-only message has none to check.
  const body = JSON.stringify(message.data === undefined ? message : { ...message, md5: message.md5 ?? admChecksum(message.data) });
  if (Buffer.byteLength(body) > ADM_MAX_BODY_BYTES) return { ok: false, message: `the ADM message is ${Buffer.byteLength(body)} bytes; ADM takes at most ${ADM_MAX_BODY_BYTES}`, tooLarge: true };
  return { ok: true, body };
}
