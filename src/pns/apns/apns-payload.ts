/**
 * What APNs refuses for sure, checked before any network call (pns-protocols.md §2.2, §2.6), and the
 * request headers of one push.
 */
import { outcome, type DeliveryOutcome } from '../connector.ts';

/** §2.6: 4096 bytes; VoIP pushes 5120. */
export const MAX_PAYLOAD = 4096;
export const MAX_VOIP_PAYLOAD = 5120;
/** Apple: "don't make assumptions about device token size"; today 32 bytes. Bounds only catch garbage. */
const TOKEN = /^(?:[0-9a-f]{2}){8,200}$/;
const STRIP = /[\s<>]/g;

/** The hex token of a handle: registrations sometimes keep Apple's `<aabb ccdd>` description form. */
export function deviceToken(handle: string): string | undefined {
  const token = handle.replace(STRIP, '').toLowerCase();
  return TOKEN.test(token) ? token : undefined;
}

/** Headers a caller may set (§2.2); anything else is not sent to APNs. */
const PASSED = ['apns-push-type', 'apns-id', 'apns-expiration', 'apns-priority', 'apns-topic', 'apns-collapse-id'];

/** The payload problem APNs would answer with, or undefined. */
export function payloadProblem(payload: Buffer, headers: Record<string, string> | undefined): DeliveryOutcome | undefined {
  if (payload.length === 0) return outcome('rejected', 'PnsInterfaceError', 'PayloadEmpty');
  const pushType = headers?.['apns-push-type'] ?? headers?.['Apns-Push-Type'];
  const limit = pushType === 'voip' ? MAX_VOIP_PAYLOAD : MAX_PAYLOAD;
  if (payload.length > limit) return outcome('rejected', 'InvalidNotificationSize', `PayloadTooLarge: ${payload.length} bytes > ${limit}`);
  return undefined;
}

/**
 * Request headers. Apple asks for `:path` and `authorization` as literals without indexing, so they do not
 * churn its small HPACK table (§2.2); src/pns/h2/hpack.ts never indexes either.
 */
export function requestHeaders(
  token: string,
  authorization: string | undefined,
  defaultTopic: string | undefined,
  given: Record<string, string> | undefined,
): Record<string, string> {
  const h: Record<string, string> = { ':method': 'POST', ':path': `/3/device/${token}` };
  if (authorization) h.authorization = authorization;
  if (given) {
    for (const name in given) {
      const lower = name.toLowerCase();
      if (PASSED.includes(lower)) h[lower] = given[name]!;
    }
  }
  if (h['apns-topic'] === undefined && defaultTopic !== undefined) h['apns-topic'] = defaultTopic;
  // Required on watchOS, recommended elsewhere (§2.2); alert is what a hub sends unless told otherwise.
  if (h['apns-push-type'] === undefined) h['apns-push-type'] = 'alert';
  return h;
}
