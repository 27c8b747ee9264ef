/**
 * What APNs refuses for sure, checked before any network call (pns-protocols.md §2.2, §2.6), and the
 * request headers of one push.
 */
import { APNS_TOKEN_KIND_HEADER, outcome, type DeliveryOutcome } from '../connector.ts';

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

/**
 * §2.3: apns-push-type → the suffix its apns-topic carries after the bundle id. mdm is absent: its topic is
 * the MDM certificate's UID, which the sender gives. `controls` is APNs's too (iOS 18 controls).
 */
export const PUSH_TYPE_TOPIC_SUFFIX: Readonly<Record<string, string>> = {
  alert: '',
  background: '',
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  liveactivity: '.push-type.liveactivity',
  location: '.location-query',
  pushtotalk: '.voip-ptt',
  widgets: '.push-type.widgets',
  controls: '.push-type.controls',
};
export const PUSH_TYPES: readonly string[] = [...Object.keys(PUSH_TYPE_TOPIC_SUFFIX), 'mdm'];

/**
 * Priorities a push type takes (Apple, "Sending notification requests to APNs"): the first is what Herald
 * sends when the sender gives none. Background "must" be 5 (10 is an error); PushToTalk is 10.
 */
const PRIORITIES: Readonly<Record<string, readonly string[]>> = {
  background: ['5'],
  pushtotalk: ['10'],
  liveactivity: ['10', '5'],
  widgets: ['10', '5'],
  controls: ['10', '5'],
};

/** §2.2: apns-collapse-id is at most 64 bytes. */
export const MAX_COLLAPSE_ID_BYTES = 64;

/**
 * The header a render of a registration sets to say what kind of APNs token it holds (docs/platforms/apns.md,
 * "Live Activity tokens"): `liveactivity` for one tagged `apns:liveactivity`, `device` otherwise. Absent on
 * direct sends. Never sent to APNs.
 */
export const TOKEN_KIND_HEADER = APNS_TOKEN_KIND_HEADER;

/** The push type a push goes with: the sender's, else liveactivity for a Live Activity token, else alert. */
export function pushTypeOf(headers: Record<string, string> | undefined): string {
  const given = headers?.['apns-push-type'];
  if (given !== undefined) return given;
  return headers?.[TOKEN_KIND_HEADER] === 'liveactivity' ? 'liveactivity' : 'alert';
}

/** The problem APNs would answer with (or that would misuse a token), or undefined. */
export function payloadProblem(payload: Buffer, headers: Record<string, string> | undefined): DeliveryOutcome | undefined {
  if (payload.length === 0) return outcome('rejected', 'PnsInterfaceError', 'PayloadEmpty');
  const pushType = pushTypeOf(headers);
  if (!PUSH_TYPES.includes(pushType)) return outcome('rejected', 'PnsInterfaceError', `InvalidPushType: '${pushType}' is not an APNs push type`);
  const allowed = PRIORITIES[pushType];
  const priority = headers?.['apns-priority'];
  if (allowed && priority !== undefined && !allowed.includes(priority)) {
    return outcome('rejected', 'PnsInterfaceError', `BadPriority: a ${pushType} push goes at priority ${allowed.join(' or ')}, not ${priority}`);
  }
  // A Live Activity token takes Live Activity pushes only, and a device token none: APNs would answer
  // DeviceTokenNotForTopic, which reads as a dead token and would remove a registration that is fine.
  const kind = headers?.[TOKEN_KIND_HEADER];
  if (kind === 'liveactivity' && pushType !== 'liveactivity') {
    return outcome('rejected', 'PnsInterfaceError', `NotForLiveActivityToken: a ${pushType} push cannot go to a Live Activity token (tag apns:liveactivity)`);
  }
  if (kind === 'device' && pushType === 'liveactivity') {
    return outcome('rejected', 'PnsInterfaceError', 'NotALiveActivityToken: a liveactivity push goes to registrations tagged apns:liveactivity only');
  }
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
  bundleId: string | undefined,
  given: Record<string, string> | undefined,
  collapseId?: string,
): Record<string, string> {
  const h: Record<string, string> = { ':method': 'POST', ':path': `/3/device/${token}` };
  if (authorization) h.authorization = authorization;
  if (given) {
    for (const name in given) {
      const lower = name.toLowerCase();
      if (PASSED.includes(lower)) h[lower] = given[name]!;
    }
  }
  // Required on watchOS, recommended elsewhere (§2.2); alert is what a hub sends unless told otherwise.
  const pushType = pushTypeOf(given);
  h['apns-push-type'] = pushType;
  // §2.3: the topic is the bundle id plus the push type's suffix (token auth; a certificate's topic is its own).
  const suffix = PUSH_TYPE_TOPIC_SUFFIX[pushType];
  if (h['apns-topic'] === undefined && bundleId !== undefined && suffix !== undefined) h['apns-topic'] = bundleId + suffix;
  if (h['apns-priority'] === undefined && PRIORITIES[pushType]) h['apns-priority'] = PRIORITIES[pushType][0]!;
  // Issue 14 item 7: the same notification delivered twice (a batch redelivered after a crash) shows once.
  if (h['apns-collapse-id'] === undefined && collapseId !== undefined && Buffer.byteLength(collapseId) <= MAX_COLLAPSE_ID_BYTES) h['apns-collapse-id'] = collapseId;
  return h;
}
