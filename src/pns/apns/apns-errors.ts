/**
 * APNs reason → outcome (pns-protocols.md §2.7).
 * Vendor doc: https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 */
import { outcome, retryAfterMs, type AzureOutcome, type DeliveryOutcome, type OutcomeKind } from '../connector.ts';

type Rule = readonly [OutcomeKind, AzureOutcome];

export const APNS_REASON_OUTCOMES: Readonly<Record<string, Rule>> = {
  // 400: the request is wrong; Apple: never retry BadDeviceToken / DeviceTokenNotForTopic.
  BadCollapseId: ['rejected', 'PnsInterfaceError'],
  BadDeviceToken: ['handle-expired', 'WrongToken'], // malformed, or a token of the other environment
  BadExpirationDate: ['rejected', 'PnsInterfaceError'],
  BadMessageId: ['rejected', 'PnsInterfaceError'],
  BadPriority: ['rejected', 'PnsInterfaceError'], // also background push not at priority 5
  BadTopic: ['rejected', 'PnsInterfaceError'],
  BadPayload: ['rejected', 'PnsInterfaceError'], // Herald's emulator: a payload its push type cannot use
  DeviceTokenNotForTopic: ['handle-expired', 'WrongToken'],
  DuplicateHeaders: ['rejected', 'PnsInterfaceError'],
  IdleTimeout: ['retry', 'PnsUnavailable'],
  InvalidPushType: ['rejected', 'PnsInterfaceError'],
  MissingDeviceToken: ['rejected', 'WrongToken'],
  MissingTopic: ['rejected', 'PnsInterfaceError'],
  PayloadEmpty: ['rejected', 'PnsInterfaceError'],
  TopicDisallowed: ['rejected', 'InvalidCredentials'],
  // 403: credentials. ExpiredProviderToken is ours to fix by minting a new token: retry after renewing.
  BadCertificate: ['rejected', 'InvalidCredentials'],
  BadCertificateEnvironment: ['rejected', 'InvalidCredentials'],
  ExpiredProviderToken: ['retry', 'InvalidCredentials'],
  Forbidden: ['rejected', 'InvalidCredentials'],
  InvalidProviderToken: ['rejected', 'InvalidCredentials'],
  MissingProviderToken: ['rejected', 'InvalidCredentials'],
  UnrelatedKeyIdInToken: ['retry', 'InvalidCredentials'], // open a new connection (§2.4)
  BadEnvironmentKeyIdInToken: ['rejected', 'InvalidCredentials'],
  BadEnvironmentKeyInToken: ['rejected', 'InvalidCredentials'], // the other spelling Apple's text has used
  BadPath: ['rejected', 'PnsInterfaceError'],
  MethodNotAllowed: ['rejected', 'PnsInterfaceError'],
  // 410 (+ timestamp in ms): the app is gone from the device.
  ExpiredToken: ['handle-expired', 'ExpiredChannel'],
  Unregistered: ['handle-expired', 'ExpiredChannel'],
  PayloadTooLarge: ['rejected', 'InvalidNotificationSize'],
  // 429: TooManyProviderTokenUpdates means our token cache misbehaved; the push itself may go later.
  TooManyProviderTokenUpdates: ['retry', 'Throttled'],
  TooManyRequests: ['retry', 'Throttled'],
  // 5xx: Apple: retry with back-off.
  InternalServerError: ['retry', 'PnsServerError'],
  ServiceUnavailable: ['retry', 'PnsUnavailable'],
  Shutdown: ['retry', 'PnsUnavailable'],
};

/** When the reason is unknown, the status decides. */
function byStatus(status: number): Rule {
  if (status === 410) return ['handle-expired', 'ExpiredChannel'];
  if (status === 413) return ['rejected', 'InvalidNotificationSize'];
  if (status === 429) return ['retry', 'Throttled'];
  if (status === 403) return ['rejected', 'InvalidCredentials'];
  if (status === 503) return ['retry', 'PnsUnavailable'];
  if (status >= 500) return ['retry', 'PnsServerError'];
  return ['rejected', 'PnsInterfaceError'];
}

/** The outcome of an APNs error answer: `{"reason": ..., "timestamp"?: ms}` (§2.7). */
export function apnsErrorOutcome(status: number, body: Buffer, headers: Record<string, unknown>, nowMs: number): DeliveryOutcome {
  let reason = `HTTP ${status}`;
  let timestamp: number | undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { reason?: unknown; timestamp?: unknown };
    if (typeof parsed.reason === 'string') reason = parsed.reason;
    if (typeof parsed.timestamp === 'number') timestamp = parsed.timestamp;
  } catch {
    // Not JSON: the status alone decides.
  }
  const [kind, azure] = APNS_REASON_OUTCOMES[reason] ?? byStatus(status);
  const extra: Partial<DeliveryOutcome> = { status };
  const apnsId = headers['apns-id'];
  if (typeof apnsId === 'string') extra.pnsMessageId = apnsId;
  if (kind === 'retry') {
    const after = retryAfterMs(headers['retry-after'] as string | undefined, nowMs);
    if (after !== undefined) extra.retryAfterMs = after;
  }
  if (kind === 'handle-expired' && timestamp !== undefined) extra.expiredAt = timestamp;
  return outcome(kind, azure, reason, extra);
}
