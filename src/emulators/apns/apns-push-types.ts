/**
 * The rules each APNs push type adds beyond the topic suffix (pns-protocols.md §2.2, §2.3, §2.6; Apple,
 * "Sending notification requests to APNs", "Starting and updating Live Activities with ActivityKit push
 * notifications", "Pushing background updates", PushToTalk "Receiving audio push notifications").
 *
 * Apple documents which auth, priorities and payload keys each type needs, but not the reason APNs answers
 * when a payload lacks one (a device would drop such a push). The emulator is stricter than APNs there on
 * purpose and answers 400 `BadPayload` naming the field, so that a test sees the mistake (docs/emulators.md).
 */

/** Who may receive a push: a device token, a Live Activity's update token, or an app's push-to-start token. */
export type ApnsTokenKind = 'device' | 'liveactivity' | 'pushtostart';
export const TOKEN_KINDS: readonly ApnsTokenKind[] = ['device', 'liveactivity', 'pushtostart'];

/** Push types a certificate connection cannot send (§2.5; WWDC23 10185: Live Activities are token-only). */
export const TOKEN_AUTH_ONLY = new Set(['location', 'liveactivity', 'widgets', 'controls']);
/** MDM pushes go with the MDM push certificate only. */
export const CERTIFICATE_ONLY = new Set(['mdm']);

/**
 * Priorities each push type accepts (absent: APNs's default 10). Background: "must be 5" (§2.2). PushToTalk:
 * 10, delivered at once. Live Activities, widgets and controls: 5 (budget-free) or 10 (immediate).
 */
export const PRIORITIES: Readonly<Record<string, readonly string[]>> = {
  background: ['5'],
  pushtotalk: ['10'],
  liveactivity: ['5', '10'],
  widgets: ['5', '10'],
  controls: ['5', '10'],
};

const LIVE_ACTIVITY_EVENTS = ['start', 'update', 'end'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isSeconds = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * What is missing or wrong in a push's payload for its push type and token kind, or undefined. `body` is
 * the parsed JSON (undefined when it did not parse).
 */
export function payloadProblem(pushType: string, body: unknown, tokenKind: ApnsTokenKind): string | undefined {
  if (pushType === 'liveactivity') return liveActivityProblem(body, tokenKind);
  if (pushType !== 'widgets' && pushType !== 'mdm') return undefined;
  if (!isObject(body)) return `a ${pushType} push's payload must be a JSON object`;
  if (pushType === 'widgets' && (!isObject(body.aps) || body.aps['content-changed'] !== true)) return 'a widgets push is {"aps":{"content-changed":true}}';
  if (pushType === 'mdm' && (typeof body.mdm !== 'string' || body.mdm === '')) return 'an mdm push carries {"mdm":"<PushMagic>"}';
  return undefined;
}

/** Live Activity payload keys (ActivityKit push notifications): event, timestamp, content-state, dates. */
function liveActivityProblem(body: unknown, tokenKind: ApnsTokenKind): string | undefined {
  if (!isObject(body) || !isObject(body.aps)) return 'a liveactivity push needs an "aps" object';
  const aps = body.aps;
  const event = aps.event;
  if (typeof event !== 'string' || !LIVE_ACTIVITY_EVENTS.includes(event)) return 'aps.event must be start, update or end';
  if (!isSeconds(aps.timestamp)) return 'aps.timestamp must be the time of the update in seconds since 1970';
  for (const key of ['stale-date', 'dismissal-date']) {
    if (aps[key] !== undefined && !isSeconds(aps[key])) return `aps.${key} must be seconds since 1970`;
  }
  if ((event === 'start' || event === 'update') && !isObject(aps['content-state'])) return `aps.content-state (an object) is required for ${event}`;
  if (event === 'start') {
    if (typeof aps['attributes-type'] !== 'string' || aps['attributes-type'] === '') return 'aps.attributes-type is required to start a Live Activity';
    if (!isObject(aps.attributes)) return 'aps.attributes (an object) is required to start a Live Activity';
    // A push-to-start token starts activities; an activity's own token updates and ends it.
    if (tokenKind !== 'pushtostart') return 'start goes to a push-to-start token; this token belongs to a running Live Activity';
  } else if (tokenKind === 'pushtostart') {
    return `${event} goes to the Live Activity's own push token; a push-to-start token only starts activities`;
  }
  return undefined;
}

/** The token kinds a push type may reach: Live Activity tokens take liveactivity pushes only, and the reverse. */
export function tokenFitsPushType(tokenKind: ApnsTokenKind, pushType: string): boolean {
  return (tokenKind === 'device') === (pushType !== 'liveactivity');
}
