/**
 * Web Push service answers → outcome (pns-protocols.md §4.1). Statuses: RFC 8030 §5, §7.3, §8
 * (https://www.rfc-editor.org/rfc/rfc8030) and RFC 8292 §4 (https://www.rfc-editor.org/rfc/rfc8292); the
 * reason text comes from Mozilla autopush's error body when there is one
 * (https://autopush.readthedocs.io/en/latest/http.html#error-codes).
 */
import { outcome, retryAfterMs, type AzureOutcome, type DeliveryOutcome, type OutcomeKind } from '../connector.ts';

export const WEBPUSH_STATUS_OUTCOMES: Readonly<Record<number, readonly [OutcomeKind, AzureOutcome]>> = {
  400: ['rejected', 'PnsInterfaceError'], // bad TTL / Topic / crypto headers, or a body that does not decrypt
  401: ['rejected', 'InvalidCredentials'], // VAPID missing on a restricted subscription
  403: ['rejected', 'InvalidCredentials'], // VAPID invalid, or not the subscription's applicationServerKey
  404: ['handle-expired', 'ExpiredChannel'], // RFC 8030 §7.3: MUST for an expired subscription
  410: ['handle-expired', 'ExpiredChannel'], // what every major service answers for an unsubscribed endpoint
  413: ['rejected', 'InvalidNotificationSize'], // only above 4096 bytes (RFC 8030 §7.2)
  429: ['retry', 'Throttled'], // + Retry-After
  500: ['retry', 'PnsServerError'],
  502: ['retry', 'PnsUnavailable'],
  503: ['retry', 'PnsUnavailable'], // autopush errno 201/202: back off
  504: ['retry', 'PnsUnavailable'],
};

export function webPushErrorOutcome(status: number, body: Buffer, headers: Record<string, unknown>, nowMs: number): DeliveryOutcome {
  const [kind, azure] = WEBPUSH_STATUS_OUTCOMES[status] ?? (status >= 500 ? ['retry', 'PnsServerError'] : ['rejected', 'PnsInterfaceError']);
  let reason = `HTTP ${status}`;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errno?: unknown; message?: unknown; reason?: unknown };
    // autopush: {"code","errno","error","message"}; Apple: {"reason"}.
    if (typeof parsed.message === 'string') reason = `${reason} errno ${String(parsed.errno ?? '?')}: ${parsed.message}`;
    else if (typeof parsed.reason === 'string') reason = `${reason}: ${parsed.reason}`;
  } catch {
    if (body.length > 0 && body.length < 300) reason = `${reason}: ${body.toString('utf8')}`;
  }
  const extra: Partial<DeliveryOutcome> = { status };
  if (kind === 'retry') {
    const after = retryAfterMs(headers['retry-after'] as string | undefined, nowMs);
    if (after !== undefined) extra.retryAfterMs = after;
  }
  return outcome(kind, azure, reason, extra);
}
