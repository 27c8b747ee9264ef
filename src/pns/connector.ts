/**
 * The PnsConnector contract (house-style "Boundaries"): a connector sends one batch for one set of
 * credentials and answers one DeliveryOutcome per target, in the targets' order, as data. It never
 * retries or sleeps (dispatch/retry-policy owns that) and never throws for a single target's failure.
 */
import type { PnsCredentials, Platform } from '../hubs/credentials.ts';
import type { Clock } from '../shared/clock.ts';

/**
 * What dispatch does next with a target:
 * - delivered: the PNS accepted it;
 * - retry: try again later (honour retryAfterMs when given); nothing was lost, nothing is wrong with the handle;
 * - handle-expired: the handle is dead (uninstalled app, expired channel): drop the registration;
 * - rejected: this notification cannot be sent as it is (payload, headers, credentials); retrying will not help.
 */
export type OutcomeKind = 'delivered' | 'retry' | 'handle-expired' | 'rejected';

/**
 * Azure Notification Hubs' per-PNS outcome names (azure-nh-wire.md §9, "Outcome names [DOC]"), so a hub's
 * telemetry counts read like Azure's.
 */
export type AzureOutcome =
  | 'Success'
  | 'WrongToken'
  | 'ExpiredChannel'
  | 'BadChannel'
  | 'Throttled'
  | 'ChannelThrottled'
  | 'ChannelDisconnected'
  | 'Dropped'
  | 'InvalidCredentials'
  | 'InvalidNotificationSize'
  | 'PnsInterfaceError'
  | 'PnsServerError'
  | 'PnsUnavailable'
  | 'PnsUnreachable'
  | 'UnknownError';

export interface DeliveryOutcome {
  kind: OutcomeKind;
  azure: AzureOutcome;
  /** The PNS's own reason (APNs `reason`, FCM `errorCode`, WNS `X-WNS-Error-Description`...) or ours. */
  reason: string;
  /** HTTP status from the PNS; absent when no answer came (bad input, network failure). */
  status?: number;
  /** Only on retry: how long the PNS asked us to wait (Retry-After). */
  retryAfterMs?: number;
  /** The PNS's id for the message when it gave one (apns-id, FCM name, X-WNS-Msg-ID, Location). */
  pnsMessageId?: string;
  /** handle-expired: when the PNS says the handle became invalid (APNs 410 timestamp, ms). */
  expiredAt?: number;
  /**
   * What the PNS reported about this device beyond the outcome, under the PNS's own names (WNS:
   * `X-WNS-Status`, `X-WNS-DeviceConnectionStatus`, `X-WNS-Msg-ID`); kept in the per-device outcome.
   */
  pns?: Record<string, string>;
}

export interface PnsTarget {
  /** The device handle as registered: APNs hex token, FCM token, WNS channel URI, Web Push subscription JSON. */
  handle: string;
  /** The rendered notification body for this platform. */
  payload: string | Buffer;
  /** Platform headers from the send request (apns-*, X-WNS-*, TTL/Urgency/Topic). */
  headers?: Record<string, string>;
  /**
   * The notification's id, the same on every attempt: a connector puts it in its PNS's collapse field (APNs
   * `apns-collapse-id`, FCM `android.collapse_key`, Web Push `Topic`) unless the send set its own, so a batch delivered again after
   * a crash shows the device one notification, not two (issue 14 item 7).
   */
  collapseId?: string;
}

export interface PnsBatch<C extends PnsCredentials = PnsCredentials> {
  /** Undefined or of another platform: every target is rejected with InvalidCredentials, no network call. */
  credentials: C | undefined;
  targets: PnsTarget[];
}

/**
 * APNs Live Activity tokens (docs/platforms/apns.md): a registration tagged `apns:liveactivity` holds an
 * ActivityKit token (a running activity's update token or an app's push-to-start token), not a device token.
 * The render of an APNs registration says which in the header named here; the APNs connector reads it and
 * never sends it.
 */
export const LIVE_ACTIVITY_TAG = 'apns:liveactivity';
export const APNS_TOKEN_KIND_HEADER = 'x-herald-apns-token';

export interface PnsConnector<C extends PnsCredentials = PnsCredentials> {
  readonly platform: Platform;
  /** One outcome per target, same order; `outcomes.length === targets.length` always. */
  send(batch: PnsBatch<C>): Promise<DeliveryOutcome[]>;
  /** Ends connections and timers, so the process can exit. */
  close(): Promise<void>;
}

/** Options every connector takes; the composition root fills them. */
export interface ConnectorOptions {
  /** Extra CA (PEM) to trust, e.g. the sandbox dev CA in front of the emulators. */
  ca?: string;
  /** Time source for token lifetimes. */
  clock?: Clock;
  /** A request with no answer after this long is given up as `retry` (PnsUnreachable). Default 30 s. */
  requestTimeoutMs?: number;
}

export function outcome(kind: OutcomeKind, azure: AzureOutcome, reason: string, extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return { kind, azure, reason, ...extra };
}

export const delivered = (pnsMessageId?: string, status = 200): DeliveryOutcome =>
  pnsMessageId === undefined ? { kind: 'delivered', azure: 'Success', reason: 'Success', status } : { kind: 'delivered', azure: 'Success', reason: 'Success', status, pnsMessageId };

/** Every target of a batch gets the same outcome (missing credentials, a token endpoint that refused). */
export function allTargets(targets: readonly PnsTarget[], o: DeliveryOutcome): DeliveryOutcome[] {
  return targets.map(() => ({ ...o }));
}

/** `Retry-After` (seconds or HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Outcome for a request that got no answer (connection refused or dropped, GOAWAY, timeout). */
export function unreachable(reason: string): DeliveryOutcome {
  return outcome('retry', 'PnsUnreachable', reason);
}
