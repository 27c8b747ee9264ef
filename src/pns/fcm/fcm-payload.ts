/**
 * The FCM v1 request body for one target (pns-protocols.md §3.2-3.5): the hub's rendered message with the
 * device token put in, and the checks FCM would fail, done before any network call.
 */
import { outcome, type DeliveryOutcome } from '../connector.ts';

/** §3.5: "4096 bytes for most messages". */
export const MAX_MESSAGE_BYTES = 4096;
/** Registration tokens: `<instance id>:APA91b<...>` today; bounds only catch garbage. */
const TOKEN = /^[A-Za-z0-9_:-]{20,4096}$/;

export function validToken(handle: string): boolean {
  return TOKEN.test(handle);
}

/**
 * The payload is the Azure FcmV1 native body, `{"message": {...}}` (or the bare message); the body sent is
 * `{"message": {..., "token": handle}}`.
 */
export function sendBody(payload: string | Buffer, token: string): string | DeliveryOutcome {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) return outcome('rejected', 'InvalidNotificationSize', `message larger than ${MAX_MESSAGE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return outcome('rejected', 'PnsInterfaceError', 'the payload is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return outcome('rejected', 'PnsInterfaceError', 'the payload must be a JSON object');
  const obj = parsed as Record<string, unknown>;
  const message = (typeof obj.message === 'object' && obj.message !== null ? obj.message : obj) as Record<string, unknown>;
  if ('topic' in message || 'condition' in message) return outcome('rejected', 'PnsInterfaceError', 'a device send must not name a topic or condition');
  return JSON.stringify({ message: { ...message, token } });
}
