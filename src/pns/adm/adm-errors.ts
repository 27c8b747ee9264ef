/**
 * ADM answers → outcome (Amazon, "Send a Message", Response format). Error bodies are `{"reason":"…"}`; the
 * reason decides when Herald knows it, else the status.
 * Vendor doc: https://developer.amazon.com/docs/adm/send-message.html
 *
 * Amazon's older table lists `Unregistered` under 400 and throttling as 429 `MaxRateExceeded`; the current
 * one answers 410 for an unregistered app instance and 429 with Retry-After. Both are read the same way.
 */
import { outcome, retryAfterMs, type AzureOutcome, type DeliveryOutcome, type OutcomeKind } from '../connector.ts';

type Rule = readonly [OutcomeKind, AzureOutcome];

export const ADM_REASON_OUTCOMES: Readonly<Record<string, Rule>> = {
  // "The registration ID is not valid": malformed, or of another app. Drop it, as Amazon's sample does.
  InvalidRegistrationId: ['handle-expired', 'WrongToken'],
  // "The app instance is no longer registered" (uninstalled, or it unregistered): drop it.
  Unregistered: ['handle-expired', 'ExpiredChannel'],
  // The message itself: retrying the same body will not help.
  InvalidData: ['rejected', 'PnsInterfaceError'],
  InvalidConsolidationKey: ['rejected', 'PnsInterfaceError'],
  InvalidExpiration: ['rejected', 'PnsInterfaceError'],
  InvalidChecksum: ['rejected', 'PnsInterfaceError'],
  InvalidType: ['rejected', 'PnsInterfaceError'], // X-Amzn-Type-Version / X-Amzn-Accept-Type
  MessageTooLarge: ['rejected', 'InvalidNotificationSize'],
  // The access token: the connector renews it once on a 401; a 401 that reaches this table came back with a fresh one.
  AccessTokenExpired: ['rejected', 'InvalidCredentials'],
  Unauthorized: ['rejected', 'InvalidCredentials'],
  Forbidden: ['rejected', 'InvalidCredentials'],
  MaxRateExceeded: ['retry', 'Throttled'],
  TooManyRequests: ['retry', 'Throttled'],
};

export const ADM_STATUS_OUTCOMES: Readonly<Record<number, Rule>> = {
  400: ['rejected', 'PnsInterfaceError'],
  401: ['rejected', 'InvalidCredentials'],
  403: ['rejected', 'InvalidCredentials'], // the security profile may not use ADM: every device would fail alike
  410: ['handle-expired', 'ExpiredChannel'],
  413: ['rejected', 'InvalidNotificationSize'],
  429: ['retry', 'Throttled'], // honour Retry-After
  500: ['retry', 'PnsServerError'],
  503: ['retry', 'PnsUnavailable'], // may carry Retry-After
};

/** The outcome of an ADM error answer (any status but 200). */
export function admErrorOutcome(status: number, body: string, headers: Record<string, unknown>, nowMs: number): DeliveryOutcome {
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(body) as { reason?: unknown };
    if (typeof parsed.reason === 'string' && parsed.reason !== '') reason = parsed.reason.slice(0, 100);
  } catch {
    // Not ADM's JSON (a proxy's page): the status decides.
  }
  // A 410 is an unregistered instance whatever the body says; otherwise the reason is the more precise.
  const rule: Rule =
    (status === 410 ? ADM_STATUS_OUTCOMES[410] : undefined) ??
    (reason !== undefined ? ADM_REASON_OUTCOMES[reason] : undefined) ??
    ADM_STATUS_OUTCOMES[status] ??
    (status >= 500 ? ['retry', 'PnsServerError'] : ['rejected', 'PnsInterfaceError']);
  const extra: Partial<DeliveryOutcome> = { status };
  const requestId = headers['x-amzn-requestid'];
  if (typeof requestId === 'string' && requestId !== '') extra.pnsMessageId = requestId;
  if (rule[0] === 'retry') {
    const after = retryAfterMs(headers['retry-after'] as string | undefined, nowMs);
    if (after !== undefined) extra.retryAfterMs = after;
  }
  return outcome(rule[0], rule[1], `HTTP ${status}: ${reason ?? 'no reason given'}`, extra);
}
