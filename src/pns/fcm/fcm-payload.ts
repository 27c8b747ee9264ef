/**
 * The FCM v1 request body for one target (pns-protocols.md §3.2-3.5): the hub's rendered message with the
 * device token put in, and the checks FCM would fail, done before any network call.
 */
import { outcome, type DeliveryOutcome } from '../connector.ts';

/** §3.5: "4096 bytes for most messages". */
export const MAX_MESSAGE_BYTES = 4096;
/** Registration tokens: `<instance id>:APA91b<...>` today; bounds only catch garbage. */
const TOKEN = /^[A-Za-z0-9_:-]{20,4096}$/;
/** A Firebase installation id: 22 base64url characters, the first 4 bits 0111 (so c-f), as the SDK mints it. */
const FID = /^[cdef][A-Za-z0-9_-]{21}$/;
/** How a FID handle is written, to tell it from a registration token (docs/platforms/fcm.md). */
export const FID_PREFIX = 'fid:';
/** The target fields of an FCM v1 message: the hub sets one of them itself, so a payload must set none. */
const TARGET_FIELDS = ['token', 'topic', 'condition', 'fid'];
const ANDROID_BOOLEANS = ['direct_boot_ok', 'directBootOk', 'bandwidth_constrained_ok', 'bandwidthConstrainedOk', 'restricted_satellite_ok', 'restrictedSatelliteOk'];

export type FcmTarget = { field: 'token' | 'fid'; value: string };

/** The message field and value a handle is sent as; undefined when it is neither a token nor `fid:<FID>`. */
export function fcmTarget(handle: string): FcmTarget | undefined {
  if (handle.startsWith(FID_PREFIX)) {
    const fid = handle.slice(FID_PREFIX.length);
    return FID.test(fid) ? { field: 'fid', value: fid } : undefined;
  }
  return TOKEN.test(handle) && !FID.test(handle) ? { field: 'token', value: handle } : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The payload is the Azure FcmV1 native body, `{"message": {...}}` (or the bare message); the body sent is
 * `{"message": {..., "token": handle}}` (or `"fid"`). `collapseKey` (the notification id) becomes
 * `android.collapse_key` unless the message has its own, so a batch sent twice collapses on the device.
 */
export function sendBody(payload: string | Buffer, target: FcmTarget, collapseKey?: string): string | DeliveryOutcome {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) return outcome('rejected', 'InvalidNotificationSize', `message larger than ${MAX_MESSAGE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return outcome('rejected', 'PnsInterfaceError', 'the payload is not JSON');
  }
  if (!isObject(parsed)) return outcome('rejected', 'PnsInterfaceError', 'the payload must be a JSON object');
  const message = (isObject(parsed.message) ? parsed.message : parsed) as Record<string, unknown>;
  // Checked at the edge too; here for rendered templates stored before the rule.
  const own = TARGET_FIELDS.find((f) => f in message);
  if (own) return outcome('rejected', 'PnsInterfaceError', `the FCM message sets its own '${own}': Herald addresses each device itself`);
  let android = message.android;
  if (android !== undefined && !isObject(android)) return outcome('rejected', 'PnsInterfaceError', 'message.android must be an object');
  const notBoolean = ANDROID_BOOLEANS.find((f) => isObject(android) && android[f] !== undefined && typeof android[f] !== 'boolean');
  if (notBoolean) return outcome('rejected', 'PnsInterfaceError', `message.android.${notBoolean} must be true or false`);
  if (collapseKey !== undefined && !(isObject(android) && (android.collapse_key !== undefined || android.collapseKey !== undefined))) {
    android = { ...(android as Record<string, unknown> | undefined), collapse_key: collapseKey };
  }
  return JSON.stringify({ message: { ...message, ...(android === undefined ? {} : { android }), [target.field]: target.value } });
}
