/**
 * FCM HTTP v1 errors → outcome (pns-protocols.md §3.4): google.rpc.Status bodies, the FcmError detail
 * deciding when present, else the HTTP status.
 * Vendor doc: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
 */
import { outcome, retryAfterMs, type AzureOutcome, type DeliveryOutcome, type OutcomeKind } from '../connector.ts';

export const FCM_ERROR_OUTCOMES: Readonly<Record<string, readonly [OutcomeKind, AzureOutcome]>> = {
  INVALID_ARGUMENT: ['rejected', 'PnsInterfaceError'], // bad field, too big, reserved key (token problems: below)
  UNREGISTERED: ['handle-expired', 'ExpiredChannel'], // app uninstalled or token expired
  SENDER_ID_MISMATCH: ['handle-expired', 'WrongToken'], // the token belongs to another project
  QUOTA_EXCEEDED: ['retry', 'Throttled'], // may carry Retry-After
  UNAVAILABLE: ['retry', 'PnsUnavailable'], // honour Retry-After, else back off
  INTERNAL: ['retry', 'PnsServerError'],
  THIRD_PARTY_AUTH_ERROR: ['rejected', 'InvalidCredentials'], // the project's APNs / web push credentials
  UNSPECIFIED_ERROR: ['rejected', 'UnknownError'],
};

interface RpcStatus {
  error?: { code?: number; message?: string; status?: string; details?: Array<{ '@type'?: string; errorCode?: string; fieldViolations?: Array<{ field?: string }> }> };
}

export function fcmErrorOutcome(status: number, body: Buffer, headers: Record<string, unknown>, nowMs: number): DeliveryOutcome {
  let parsed: RpcStatus = {};
  try {
    parsed = JSON.parse(body.toString('utf8')) as RpcStatus;
  } catch {
    // Not google.rpc.Status: the status decides.
  }
  const details = parsed.error?.details ?? [];
  const code = details.find((d) => d['@type']?.endsWith('google.firebase.fcm.v1.FcmError'))?.errorCode;
  // A bad target (registration token or installation id) names its field: the handle is wrong, not the message.
  const tokenField = details.some((d) => d.fieldViolations?.some((v) => v.field === 'message.token' || v.field === 'message.fid'));
  const message = parsed.error?.message ?? `HTTP ${status}`;
  let rule: readonly [OutcomeKind, AzureOutcome];
  if (code === 'INVALID_ARGUMENT' && tokenField) rule = ['handle-expired', 'WrongToken'];
  else if (code && FCM_ERROR_OUTCOMES[code]) rule = FCM_ERROR_OUTCOMES[code]!;
  // Without an FcmError: Google front-end errors (§3.4).
  else if (status === 401) rule = ['retry', 'InvalidCredentials']; // our access token: renewed before the retry
  else if (status === 403) rule = ['rejected', 'InvalidCredentials']; // not allowed on this project
  else if (status === 429) rule = ['retry', 'Throttled'];
  else if (status === 503) rule = ['retry', 'PnsUnavailable'];
  else if (status >= 500) rule = ['retry', 'PnsServerError'];
  else rule = ['rejected', 'PnsInterfaceError'];
  const extra: Partial<DeliveryOutcome> = { status };
  if (rule[0] === 'retry') {
    const after = retryAfterMs(headers['retry-after'] as string | undefined, nowMs);
    if (after !== undefined) extra.retryAfterMs = after;
  }
  return outcome(rule[0], rule[1], code ? `${code}: ${message}` : message, extra);
}
