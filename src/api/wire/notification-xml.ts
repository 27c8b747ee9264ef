/**
 * The two XML answers about a notification: `NotificationOutcome` for a test send (wire spec §7.5) and
 * `NotificationDetails` for `GET /{hub}/messages/{id}` (§9). Both are read by the official JS client's
 * own parsers (checked in the tests) and laid out in the .NET DataContract element order.
 */
import type { PlatformName, RegistrationKind } from '../../registry/model.ts';
import { HubError } from '../../shared/errors.ts';
import { MAX_TEST_SEND_RESULTS } from '../../dispatch/send-model.ts';
import { escapeXml, isoTime, SERVICEBUS_NS, XSI_NS } from './atom.ts';


const ROOT_ATTRS = `xmlns="${SERVICEBUS_NS}" xmlns:i="${XSI_NS}"`;

/** The `ApplicationPlatform` / format name of a PNS (§7.1 format names; MPNS is `windowsphone`). */
export const APPLICATION_PLATFORM: Readonly<Record<PlatformName, string>> = {
  apns: 'apple', wns: 'windows', gcm: 'gcm', fcmv1: 'fcmv1', browser: 'browser', adm: 'adm', baidu: 'baidu', xiaomi: 'xiaomi', mpns: 'windowsphone',
};

/**
 * The `TargetPlatforms` name of a registration kind (§9 [DOC]: `apple`, `appletemplate`, `windowsphone`, …).
 * `fcmv1`, `browser`, `xiaomi` and their template forms follow the same pattern (UNCONFIRMED).
 */
export function targetPlatformName(kind: RegistrationKind): string {
  const template = kind.endsWith('Template');
  const base = template ? kind.slice(0, -'Template'.length) : kind;
  const name = base === 'Mpns' ? 'windowsphone' : base.toLowerCase();
  return template ? `${name}template` : name;
}

/** escapeXml also replaces what XML 1.0 cannot carry at all (§2.2 Char), so the document stays well-formed. */
function text(value: string): string {
  return escapeXml(value);
}

function count(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new HubError('internal', `${what} must be a non-negative integer, got ${value}.`);
  return String(value);
}

export interface RegistrationResultView {
  /** e.g. `apple` (see APPLICATION_PLATFORM). */
  applicationPlatform: string;
  pnsHandle: string;
  registrationId: string;
  /** Free text (§7.5, UNCONFIRMED wording): Herald writes the Azure outcome name, e.g. `Success`, `WrongToken`. */
  outcome: string;
}

export interface NotificationOutcomeView {
  success: number;
  failure: number;
  results: readonly RegistrationResultView[];
}

/**
 * `NotificationOutcome` (§7.5). `Results` is always present (`<Results/>` when empty: the JS client crashes
 * without it); every result has all four children in the .NET order, empty ones as empty elements (the JS
 * client's getString throws on a missing one). Results beyond the first 10 are not shown.
 */
export function renderNotificationOutcome(view: NotificationOutcomeView): string {
  const results = view.results.slice(0, MAX_TEST_SEND_RESULTS).map((r) =>
    '<RegistrationResult>' +
    `<ApplicationPlatform>${text(r.applicationPlatform)}</ApplicationPlatform>` +
    `<PnsHandle>${text(r.pnsHandle)}</PnsHandle>` +
    `<RegistrationId>${text(r.registrationId)}</RegistrationId>` +
    `<Outcome>${text(r.outcome)}</Outcome>` +
    '</RegistrationResult>');
  return `<?xml version="1.0" encoding="utf-8"?><NotificationOutcome ${ROOT_ATTRS}>` +
    `<Success>${count(view.success, 'Success')}</Success><Failure>${count(view.failure, 'Failure')}</Failure>` +
    (results.length === 0 ? '<Results/>' : `<Results>${results.join('')}</Results>`) +
    '</NotificationOutcome>';
}

/**
 * §9 State values. `Scheduled` and `Canceled` are left out on purpose: the .NET enum lacks them, so a
 * pending scheduled notification reads `Enqueued` and a cancelled one `Cancelled`.
 */
export type NotificationState = 'Enqueued' | 'Processing' | 'Completed' | 'Abandoned' | 'NoTargetFound' | 'Unknown' | 'Cancelled';

/** Outcome name (§9 [DOC], e.g. `Success`, `WrongToken`) → how many targets had it. */
export type OutcomeCounts = Readonly<Record<string, number>>;

export interface NotificationDetailsView {
  notificationId: string;
  /** §9: `sb://{ns}/{hub}/messages/{id}?api-version=2020-06`; the JS client returns it as given. */
  location: string;
  state: NotificationState;
  enqueueTime: number;
  startTime?: number;
  endTime?: number;
  /** The payload as received; written XML-escaped. */
  body: string;
  /** The tag expression, when there was one (read by .NET only). */
  tags?: string;
  /** e.g. `apple`, `fcmv1template` (see targetPlatformName); omitted when empty. */
  targetPlatforms: readonly string[];
  /** Per PNS; a PNS with no counts (or only zeros) gets no element. */
  outcomeCounts: Readonly<Partial<Record<PlatformName, OutcomeCounts>>>;
  pnsErrorDetailsUri?: string;
}

/**
 * The counts elements in .NET DataContract order (§9): Apns, Mpns, Wns, Gcm, Adm, then PnsErrorDetailsUri,
 * then Fcm (never written: the JS client reads `GcmOutcomeCounts` as FCM legacy), FcmV1. Baidu, Browser and
 * Xiaomi have no .NET member; the class is IExtensibleDataObject, so they go last where they disturb no
 * known member. JS reads all but Mpns.
 */
const COUNTS_BEFORE_URI: readonly [PlatformName, string][] = [['apns', 'ApnsOutcomeCounts'], ['mpns', 'MpnsOutcomeCounts'], ['wns', 'WnsOutcomeCounts'], ['gcm', 'GcmOutcomeCounts'], ['adm', 'AdmOutcomeCounts']];
const COUNTS_AFTER_URI: readonly [PlatformName, string][] = [['fcmv1', 'FcmV1OutcomeCounts'], ['baidu', 'BaiduOutcomeCounts'], ['browser', 'BrowserOutcomeCounts'], ['xiaomi', 'XiaomiOutcomeCounts']];

/**
 * One `*OutcomeCounts` element, or nothing: an empty one crashes the JS client (§9, verified). Zero counts
 * are dropped; `Success` comes first, the rest by name, so the output is stable.
 */
function countsElement(element: string, counts: OutcomeCounts | undefined): string {
  if (counts === undefined) return '';
  const names = Object.keys(counts).filter((n) => counts[n] !== 0).sort((a, b) => (a === 'Success' ? -1 : b === 'Success' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) return '';
  const outcomes = names.map((n) => `<Outcome><Name>${text(n)}</Name><Count>${count(counts[n]!, `${element} ${n}`)}</Count></Outcome>`);
  return `<${element}>${outcomes.join('')}</${element}>`;
}

function optional(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : `<${name}>${text(value)}</${name}>`;
}

/** `NotificationDetails` (§9) in the .NET element order. */
export function renderNotificationDetails(view: NotificationDetailsView): string {
  const c = view.outcomeCounts;
  return `<?xml version="1.0" encoding="utf-8"?><NotificationDetails ${ROOT_ATTRS}>` +
    `<NotificationId>${text(view.notificationId)}</NotificationId>` +
    optional('Location', view.location) +
    `<State>${view.state}</State>` +
    `<EnqueueTime>${isoTime(view.enqueueTime)}</EnqueueTime>` +
    optional('StartTime', view.startTime === undefined ? undefined : isoTime(view.startTime)) +
    optional('EndTime', view.endTime === undefined ? undefined : isoTime(view.endTime)) +
    optional('NotificationBody', view.body) +
    optional('Tags', view.tags) +
    optional('TargetPlatforms', view.targetPlatforms.join(',')) +
    COUNTS_BEFORE_URI.map(([p, el]) => countsElement(el, c[p])).join('') +
    optional('PnsErrorDetailsUri', view.pnsErrorDetailsUri) +
    COUNTS_AFTER_URI.map(([p, el]) => countsElement(el, c[p])).join('') +
    '</NotificationDetails>';
}
