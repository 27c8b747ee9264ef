/**
 * APNs error reasons and the status each one comes with (pns-protocols.md §2.7).
 * Vendor doc: https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 */
export const APNS_REASONS = {
  BadCollapseId: 400, // apns-collapse-id longer than 64 bytes
  BadDeviceToken: 400, // malformed or unknown token, or a token of the other environment
  BadExpirationDate: 400,
  BadMessageId: 400, // apns-id not a canonical UUID
  BadPriority: 400, // not 10/5/1, or background push not at 5
  BadTopic: 400,
  // Not Apple's: a payload its push type cannot use (Live Activity keys, widgets, mdm; apns-push-types.ts).
  BadPayload: 400,
  DeviceTokenNotForTopic: 400,
  DuplicateHeaders: 400,
  IdleTimeout: 400,
  InvalidPushType: 400,
  MissingDeviceToken: 400,
  MissingTopic: 400, // token auth, or a multi-topic certificate, without apns-topic
  PayloadEmpty: 400,
  TopicDisallowed: 400,
  BadCertificate: 403,
  BadCertificateEnvironment: 403,
  ExpiredProviderToken: 403, // iat older than one hour
  Forbidden: 403,
  InvalidProviderToken: 403,
  MissingProviderToken: 403,
  UnrelatedKeyIdInToken: 403,
  BadEnvironmentKeyIdInToken: 403,
  BadPath: 404,
  MethodNotAllowed: 405,
  ExpiredToken: 410, // with "timestamp" in ms
  Unregistered: 410, // with "timestamp" in ms
  PayloadTooLarge: 413,
  TooManyProviderTokenUpdates: 429, // provider token changed less than 20 min after the last change
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
  Shutdown: 503,
} as const;

export type ApnsReason = keyof typeof APNS_REASONS;

/** The reason an injected fault reports for a status when the fault names none. */
export const DEFAULT_FAULT_REASON: Record<number, ApnsReason> = {
  400: 'BadDeviceToken',
  403: 'Forbidden',
  404: 'BadPath',
  405: 'MethodNotAllowed',
  410: 'Unregistered',
  413: 'PayloadTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/** apns-push-type → the suffix apns-topic must carry (§2.3); mdm topics are certificate UIDs, not checked. */
export const PUSH_TYPE_TOPIC_SUFFIX: Record<string, string | undefined> = {
  alert: '',
  background: '',
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  liveactivity: '.push-type.liveactivity',
  location: '.location-query',
  pushtotalk: '.voip-ptt',
  widgets: '.push-type.widgets',
  controls: '.push-type.controls',
  mdm: undefined,
};
