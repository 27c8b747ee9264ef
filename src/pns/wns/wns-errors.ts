/**
 * WNS answers → outcome (pns-protocols.md §1.5, §1.6). Bodies are empty; the reason travels in
 * `X-WNS-Error-Description`, and a 200 is only a delivery when `X-WNS-Status` says `received`.
 * Vendor doc: https://learn.microsoft.com/en-us/windows/apps/develop/notifications/push-notifications/push-request-response-headers
 */
import { outcome, retryAfterMs, type AzureOutcome, type DeliveryOutcome, type OutcomeKind } from '../connector.ts';

type Rule = readonly [OutcomeKind, AzureOutcome];

export const WNS_STATUS_OUTCOMES: Readonly<Record<number, Rule>> = {
  // Headers wrong or conflicting, or a payload WNS refused: our request, retrying will not help.
  400: ['rejected', 'PnsInterfaceError'],
  // The connector renews the access token once on a 401 and resends; a 401 that reaches this table came
  // back with a fresh token, so the credentials themselves are not accepted.
  401: ['rejected', 'InvalidCredentials'],
  // Authenticated, but the token's app is not the channel's app. Almost always the hub holds another
  // app's credentials, which would hit every channel: reject, never drop registrations for it.
  403: ['rejected', 'InvalidCredentials'],
  // Doc: "The channel URI is not valid or is not recognized by WNS. Do not send further notifications
  // to this channel."
  404: ['handle-expired', 'BadChannel'],
  405: ['rejected', 'PnsInterfaceError'], // we only POST; a 405 is a bug on our side
  406: ['retry', 'Throttled'], // doc: honour Retry-After
  // §1.3: channels expire after 30 days. (WNS also answers 410 "Domain Blocked" to abusive senders.)
  410: ['handle-expired', 'ExpiredChannel'],
  413: ['rejected', 'InvalidNotificationSize'], // checked before sending; WNS's own limit may differ
  // §1.6: "a 2026 GitHub comment says WNS now answers 429" for sender throttling (UNCONFIRMED): same as 406.
  429: ['retry', 'Throttled'],
  500: ['retry', 'PnsServerError'],
  503: ['retry', 'PnsUnavailable'], // may carry Retry-After
};

/**
 * A 200's `X-WNS-Status` (legacy name `X-WNS-NotificationStatus`, §1.5):
 * - received: delivered to the device or cached for it;
 * - dropped: the client rejected it, or a toast met an offline device (§1.6). WNS made a final decision
 *   and the channel is fine, so this is neither a retry nor an expired handle; `rejected` keeps the
 *   Azure outcome `Dropped` in the hub's telemetry (a `delivered` would count as Success);
 * - channelthrottled: too many notifications to this one channel; the next one may pass later.
 */
export const WNS_NOTIFICATION_STATUS_OUTCOMES: Readonly<Record<string, Rule>> = {
  received: ['delivered', 'Success'],
  dropped: ['rejected', 'Dropped'],
  channelthrottled: ['retry', 'ChannelThrottled'],
};

/** The answer headers kept per device (§1.5), spelled as Microsoft documents them. */
const WNS_REPORTED_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['X-WNS-Status', 'x-wns-status'],
  ['X-WNS-DeviceConnectionStatus', 'x-wns-deviceconnectionstatus'],
  ['X-WNS-Msg-ID', 'x-wns-msg-id'],
];

function headerText(headers: Record<string, unknown>, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
}

/** The outcome of any answer WNS gave to a send (200 included). */
export function wnsResponseOutcome(status: number, headers: Record<string, unknown>, nowMs: number): DeliveryOutcome {
  const msgId = headerText(headers, 'x-wns-msg-id');
  const extra: Partial<DeliveryOutcome> = { status };
  if (msgId !== undefined) extra.pnsMessageId = msgId;
  // §1.5: what WNS said about the notification and the device, kept in the per-device outcome as sent.
  const pns: Record<string, string> = {};
  for (const [name, lower] of WNS_REPORTED_HEADERS) {
    const v = headerText(headers, lower);
    if (v !== undefined) pns[name] = v.slice(0, 128);
  }
  if (Object.keys(pns).length > 0) extra.pns = pns;
  let rule: Rule;
  let reason: string;
  if (status === 200) {
    const state = (headerText(headers, 'x-wns-status') ?? headerText(headers, 'x-wns-notificationstatus'))?.toLowerCase();
    // A 200 without a status header is still an accepted notification (§1.6: "200 accepted").
    rule = (state && WNS_NOTIFICATION_STATUS_OUTCOMES[state]) || ['delivered', 'Success'];
    reason = rule[0] === 'delivered' ? 'Success' : `X-WNS-Status: ${state ?? ''}`;
  } else {
    rule = WNS_STATUS_OUTCOMES[status] ?? (status >= 500 ? ['retry', 'PnsServerError'] : ['rejected', 'PnsInterfaceError']);
    reason = `HTTP ${status}: ${headerText(headers, 'x-wns-error-description') ?? 'no X-WNS-Error-Description'}`;
  }
  if (rule[0] === 'retry') {
    // §1.5: Retry-After on 406 and optionally 503; the older docs' X-WNS-CONTINUE-AFTER (seconds) otherwise.
    const after = retryAfterMs(headerText(headers, 'retry-after') ?? headerText(headers, 'x-wns-continue-after'), nowMs);
    if (after !== undefined) extra.retryAfterMs = after;
  }
  return outcome(rule[0], rule[1], reason, extra);
}
