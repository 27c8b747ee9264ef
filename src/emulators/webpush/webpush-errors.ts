/**
 * Web Push error answers. Statuses from RFC 8030 (§5, §7.3, §8; https://www.rfc-editor.org/rfc/rfc8030) and
 * RFC 8292 §4 (https://www.rfc-editor.org/rfc/rfc8292); the body follows Mozilla autopush
 * (https://autopush.readthedocs.io/en/latest/http.html#error-codes), pns-protocols.md §4.1.
 */
export const WEBPUSH_ERRNO = {
  /** 404/410: the subscription is unknown or has expired. */
  GONE: { errno: 102, error: 'Not Found' },
  EXPIRED: { errno: 103, error: 'Gone' },
  /** 413: body above 4096 bytes. */
  TOO_LARGE: { errno: 104, error: 'Payload Too Large' },
  /** 401/403: VAPID missing or invalid. */
  BAD_AUTH: { errno: 109, error: 'Unauthorized' },
  /** 400: TTL or a crypto header missing or malformed, or the body does not decrypt. */
  BAD_HEADERS: { errno: 111, error: 'Bad Request' },
  /** 400: TTL outside 0..2592000. */
  BAD_TTL: { errno: 112, error: 'Bad Request' },
  /** 400: Topic longer than 32 characters or outside the URL-safe base64 alphabet. */
  BAD_TOPIC: { errno: 113, error: 'Bad Request' },
  /** 429 / 5xx: back off (autopush 201: "use exponential back-off for retries"). */
  BACK_OFF: { errno: 201, error: 'Service Unavailable' },
  UNKNOWN: { errno: 999, error: 'Unknown Error' },
} as const;

export type WebPushErrno = keyof typeof WEBPUSH_ERRNO;

export function webPushError(status: number, which: WebPushErrno, message: string): { code: number; errno: number; error: string; message: string } {
  return { code: status, errno: WEBPUSH_ERRNO[which].errno, error: WEBPUSH_ERRNO[which].error, message };
}
