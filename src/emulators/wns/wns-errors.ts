/**
 * WNS response codes (pns-protocols.md §1.6). Bodies are empty; the reason travels in
 * `X-WNS-Error-Description`.
 * Vendor doc: https://learn.microsoft.com/en-us/windows/apps/develop/notifications/push-notifications/push-request-response-headers
 */
export const WNS_STATUS = {
  200: 'The notification was accepted by WNS (check X-WNS-Status).',
  400: 'One or more headers were specified incorrectly or conflict with another header.',
  401: 'The cloud service did not present a valid authentication ticket.',
  403: 'The cloud service is not authorized to send a notification to this URI even though they are authenticated.',
  404: 'The channel URI is not valid or is not recognized by WNS.',
  405: 'Invalid method (GET, CREATE); only POST (Windows or Windows Phone) or DELETE (Windows Phone only) is allowed.',
  406: 'The cloud service exceeded its throttle limit.',
  410: 'The channel expired.',
  413: 'The notification payload exceeds the 5000 byte size limit.',
  429: 'The cloud service exceeded its throttle limit.',
  500: 'An internal failure caused notification delivery to fail.',
  503: 'The server is currently unavailable.',
} as const satisfies Record<number, string>;

export type WnsStatus = keyof typeof WNS_STATUS;

export function describeStatus(status: number): string {
  return (WNS_STATUS as Record<number, string>)[status] ?? 'Injected fault.';
}
