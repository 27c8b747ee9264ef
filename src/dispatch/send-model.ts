/**
 * A send as the pipeline takes it (wire spec §7, §8): format, target, test flag, schedule time, platform
 * headers and payload, already validated. The HTTP request is read into one of these at the edge
 * (api/wire/send-request.ts); nothing here knows about headers, query strings or multipart bodies.
 */
import { REGISTRATION_KINDS, isTemplateKind, KIND_PLATFORM, type PlatformName, type PnsHandle, type RegistrationKind } from '../registry/model.ts';
import type { ParsedTagExpression } from '../tags/index.ts';

/** `ServiceBusNotification-Format` values (§7.1), canonical lower case. */
export const SEND_FORMATS = ['apple', 'windows', 'gcm', 'fcmv1', 'adm', 'baidu', 'browser', 'xiaomi', 'windowsphone', 'template'] as const;
export type SendFormat = (typeof SEND_FORMATS)[number];
export type NativeSendFormat = Exclude<SendFormat, 'template'>;

/** The PNS a native format sends through. */
export const FORMAT_PLATFORM: Readonly<Record<NativeSendFormat, PlatformName>> = {
  apple: 'apns', windows: 'wns', gcm: 'gcm', fcmv1: 'fcmv1', adm: 'adm', baidu: 'baidu', browser: 'browser', xiaomi: 'xiaomi', windowsphone: 'mpns',
};

/** Template properties in one send; bounds the per-device lookup table. */
export const MAX_TEMPLATE_PROPERTIES = 1000;
export type SendTarget =
  /** Every eligible registration of the hub (§7.3 "Broadcast"). */
  | { readonly kind: 'broadcast' }
  | { readonly kind: 'tags'; readonly expression: string; readonly parsed: ParsedTagExpression }
  /** `?direct` (one handle) or `$batch` (up to 1000, de-duplicated in order): no registrations involved. */
  | { readonly kind: 'direct'; readonly batch: boolean; readonly handles: readonly PnsHandle[] };

export type SendPayload =
  /** apple, gcm, fcmv1, adm, baidu, xiaomi, browser: the text and its parsed value. */
  | { readonly kind: 'json'; readonly text: string; readonly value: unknown }
  /** windows toast/tile/badge, windowsphone toast/token: well-formed XML; `root` is the root's local name. */
  | { readonly kind: 'xml'; readonly text: string; readonly root: string }
  /** wns/raw and MPNS raw: any bytes. */
  | { readonly kind: 'raw'; readonly bytes: Buffer }
  /** template: the send-time properties, all strings (§7.2, §13.2). */
  | { readonly kind: 'template'; readonly text: string; readonly properties: Readonly<Record<string, string>> };

export interface SendRequest {
  readonly format: SendFormat;
  /** The PNS of a native send; undefined for template (every platform's template registrations). */
  readonly platform: PlatformName | undefined;
  readonly target: SendTarget;
  /** `?test` on a tag or broadcast send (§7.5): deliver to at most 10 and answer the outcomes. */
  readonly test: boolean;
  /** Milliseconds since the epoch; present exactly for scheduled sends (§8.1). */
  readonly scheduledAtMs: number | undefined;
  /** Headers to hand to the connector, lower-case names (§7.1 passthrough); only the format's own. */
  readonly platformHeaders: Readonly<Record<string, string>>;
  /** The payload's Content-Type: the request's, or the notification part's for a batch. */
  readonly contentType: string | undefined;
  readonly payload: SendPayload;
  /** The payload bytes as received (the notification part for a batch), for NotificationDetails (§9). */
  readonly body: Buffer;
  /** Registration kinds a tag or broadcast send selects (§7.1); empty for direct sends. */
  readonly eligibleKinds: readonly RegistrationKind[];
}

/** §7.5: the real service delivers a test send to at most 10 registrations and reports each. */
export const MAX_TEST_SEND_RESULTS = 10;

/** Native sends reach the native kind of their platform; template sends every template kind (§7.1). */
export function eligibleKinds(format: SendFormat): readonly RegistrationKind[] {
  if (format === 'template') return REGISTRATION_KINDS.filter(isTemplateKind);
  const platform = FORMAT_PLATFORM[format];
  return REGISTRATION_KINDS.filter((k) => !isTemplateKind(k) && KIND_PLATFORM[k] === platform);
}
