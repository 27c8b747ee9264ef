/**
 * Rules for native payloads that are checked at the edge, before anything is stored or queued: an FCM v1
 * message (the hub addresses each device itself, so the message must not name a target; the AndroidConfig
 * flags are booleans) and a Declarative Web Push message (`"web_push": 8030`). Pure: a problem description
 * out, the caller turns it into its own error. The connectors check the rendered result again.
 */

/** What is wrong with a payload: a stable `code`, the field, and a sentence a person can act on. */
export interface PayloadProblem {
  /** `target` for an FCM message that names its own target; `invalid` for everything else. */
  kind: 'target' | 'invalid';
  field: string;
  message: string;
}

/** FCM v1 `Message` target oneof (token, topic, condition) and `fid`, the Firebase installation id. */
export const FCM_TARGET_FIELDS = ['token', 'topic', 'condition', 'fid'] as const;

/** AndroidConfig booleans (FCM v1 reference, AndroidConfig): both spellings of proto3 JSON. */
const ANDROID_BOOLEANS: ReadonlyArray<readonly [string, string]> = [
  ['direct_boot_ok', 'directBootOk'],
  ['bandwidth_constrained_ok', 'bandwidthConstrainedOk'],
  ['restricted_satellite_ok', 'restrictedSatelliteOk'],
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An FCM v1 message's problem, or undefined. A message that carries `token`, `topic`, `condition` or `fid`
 * would reach devices the send did not select (Azure users report a stray `topic` broadcasting), so it is
 * refused rather than overwritten.
 */
export function fcmMessageProblem(message: Record<string, unknown>): PayloadProblem | undefined {
  for (const key of FCM_TARGET_FIELDS) {
    if (key in message) {
      return { kind: 'target', field: `message.${key}`, message: `The FCM message sets '${key}'; remove it: Herald addresses each device itself (by its registration token or installation id).` };
    }
  }
  const android = message['android'];
  if (android !== undefined && isObject(android)) {
    for (const [snake, camel] of ANDROID_BOOLEANS) {
      for (const name of [snake, camel]) {
        const v = android[name];
        if (v !== undefined && typeof v !== 'boolean') {
          return { kind: 'invalid', field: `message.android.${name}`, message: `message.android.${name} must be true or false, not ${JSON.stringify(v).slice(0, 40)}.` };
        }
      }
    }
  }
  const apns = message['apns'];
  if (apns !== undefined && isObject(apns)) {
    for (const name of ['live_activity_token', 'liveActivityToken']) {
      const v = apns[name];
      // The APNs push-to-start or update token of a Live Activity, as hex (APNs tokens are hex).
      if (v !== undefined && (typeof v !== 'string' || !/^[0-9a-fA-F]{8,400}$/.test(v) || v.length % 2 !== 0)) {
        return { kind: 'invalid', field: `message.apns.${name}`, message: `message.apns.${name} must be the Live Activity's APNs token in hexadecimal.` };
      }
    }
  }
  return undefined;
}

/** The Declarative Web Push marker (WebKit explainer, Push API "declarative push message"). */
export const DECLARATIVE_WEB_PUSH = 8030;
const DIRS = new Set(['auto', 'ltr', 'rtl']);
const STRING_MEMBERS = ['body', 'lang', 'tag', 'icon', 'image', 'badge'];
const BOOLEAN_MEMBERS = ['silent', 'renotify', 'requireInteraction'];

function urlProblem(value: unknown, field: string): PayloadProblem | undefined {
  if (typeof value !== 'string' || value === '') return { kind: 'invalid', field, message: `${field} is required and must be a URL string.` };
  let url: URL;
  try {
    // Relative to the subscription's scope on the device; a placeholder base checks only the form here.
    url = new URL(value, 'https://scope.invalid/');
  } catch {
    return { kind: 'invalid', field, message: `${field} '${value.slice(0, 60)}' is not a URL.` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { kind: 'invalid', field, message: `${field} must be an http or https URL (a page of the site), not ${url.protocol}.` };
  return undefined;
}

/**
 * A Web Push payload's problem, or undefined. Only a JSON object with a `web_push` member is a declarative
 * message; any other payload is the service worker's business. Members as the WebKit explainer and the
 * Push API draft give them: `web_push` 8030, `notification` with `title` and `navigate` required, `dir`
 * auto/ltr/rtl, string and boolean members, `actions` with `action`, `title` and `navigate`, `app_badge` a
 * non-negative integer (a string of digits is accepted too, as WebKit's own examples send it), `mutable`.
 */
export function declarativePushProblem(value: unknown): PayloadProblem | undefined {
  if (!isObject(value) || !('web_push' in value)) return undefined;
  const bad = (field: string, message: string): PayloadProblem => ({ kind: 'invalid', field, message });
  if (value['web_push'] !== DECLARATIVE_WEB_PUSH) return bad('web_push', `web_push must be the number ${DECLARATIVE_WEB_PUSH} for a Declarative Web Push message, not ${JSON.stringify(value['web_push']).slice(0, 40)}.`);
  const n = value['notification'];
  if (!isObject(n)) return bad('notification', 'A Declarative Web Push message needs a notification object with title and navigate.');
  if (typeof n['title'] !== 'string' || n['title'] === '') return bad('notification.title', 'notification.title is required and must be a non-empty string.');
  const nav = urlProblem(n['navigate'], 'notification.navigate');
  if (nav) return nav;
  if (n['dir'] !== undefined && !DIRS.has(n['dir'] as string)) return bad('notification.dir', 'notification.dir must be auto, ltr or rtl.');
  for (const m of STRING_MEMBERS) if (n[m] !== undefined && typeof n[m] !== 'string') return bad(`notification.${m}`, `notification.${m} must be a string.`);
  for (const m of BOOLEAN_MEMBERS) if (n[m] !== undefined && typeof n[m] !== 'boolean') return bad(`notification.${m}`, `notification.${m} must be true or false.`);
  if (n['timestamp'] !== undefined && !(Number.isSafeInteger(n['timestamp']) && (n['timestamp'] as number) >= 0)) return bad('notification.timestamp', 'notification.timestamp must be milliseconds since 1970 (a non-negative integer).');
  if (n['vibrate'] !== undefined && !(Array.isArray(n['vibrate']) && n['vibrate'].every((x) => Number.isSafeInteger(x) && x >= 0))) return bad('notification.vibrate', 'notification.vibrate must be a list of milliseconds.');
  if (n['actions'] !== undefined) {
    if (!Array.isArray(n['actions'])) return bad('notification.actions', 'notification.actions must be a list of {action, title, navigate}.');
    for (const [i, a] of n['actions'].entries()) {
      const f = `notification.actions[${i}]`;
      if (!isObject(a) || typeof a['action'] !== 'string' || a['action'] === '' || typeof a['title'] !== 'string' || a['title'] === '') return bad(f, `${f} needs an action name and a title (strings).`);
      const p = urlProblem(a['navigate'], `${f}.navigate`);
      if (p) return p;
    }
  }
  for (const [where, holder] of [['', value], ['notification.', n]] as const) {
    const badge = holder['app_badge'];
    if (badge !== undefined && !((Number.isSafeInteger(badge) && (badge as number) >= 0) || (typeof badge === 'string' && /^\d{1,18}$/.test(badge)))) {
      return bad(`${where}app_badge`, `${where}app_badge must be a non-negative integer.`);
    }
    if (holder['mutable'] !== undefined && typeof holder['mutable'] !== 'boolean') return bad(`${where}mutable`, `${where}mutable must be true or false.`);
  }
  return undefined;
}
