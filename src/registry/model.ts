/**
 * The registry's domain values: registrations (the unit of delivery) and installations (a device
 * described as a whole, materialised as registrations). Wire formats (Atom XML, installation JSON)
 * are translated to and from these at the edge.
 */

/** The PNS family a registration sends through. `gcm` is FCM legacy (Azure's wire name). */
export type PlatformName = 'wns' | 'apns' | 'gcm' | 'fcmv1' | 'browser' | 'adm' | 'baidu' | 'xiaomi' | 'mpns';

/** The 18 registration kinds of wire spec §6.2, named by their XML root without `RegistrationDescription`. */
export const REGISTRATION_KINDS = [
  'Windows',
  'WindowsTemplate',
  'Apple',
  'AppleTemplate',
  'Gcm',
  'GcmTemplate',
  'FcmV1',
  'FcmV1Template',
  'Browser',
  'BrowserTemplate',
  'Adm',
  'AdmTemplate',
  'Baidu',
  'BaiduTemplate',
  'Xiaomi',
  'XiaomiTemplate',
  'Mpns',
  'MpnsTemplate',
] as const;
export type RegistrationKind = (typeof REGISTRATION_KINDS)[number];

export const KIND_PLATFORM: Readonly<Record<RegistrationKind, PlatformName>> = {
  Windows: 'wns',
  WindowsTemplate: 'wns',
  Apple: 'apns',
  AppleTemplate: 'apns',
  Gcm: 'gcm',
  GcmTemplate: 'gcm',
  FcmV1: 'fcmv1',
  FcmV1Template: 'fcmv1',
  Browser: 'browser',
  BrowserTemplate: 'browser',
  Adm: 'adm',
  AdmTemplate: 'adm',
  Baidu: 'baidu',
  BaiduTemplate: 'baidu',
  Xiaomi: 'xiaomi',
  XiaomiTemplate: 'xiaomi',
  Mpns: 'mpns',
  MpnsTemplate: 'mpns',
};

export function isTemplateKind(kind: RegistrationKind): boolean {
  return kind.endsWith('Template');
}

/**
 * The device handle of a registration, per platform. `value` is the one string the PNS is addressed
 * by (and that listing by channel matches); the rest completes it where one string is not enough.
 */
export type PnsHandle =
  | { platform: 'apns'; value: string } // DeviceToken, upper-case hex (§6.2: "uppercase it")
  | { platform: 'wns' | 'mpns'; value: string; secondaryTileName?: string } // ChannelUri
  | { platform: 'gcm' | 'fcmv1' | 'adm' | 'xiaomi'; value: string } // the registration id / token
  | { platform: 'browser'; value: string; p256dh: string; auth: string } // value = Endpoint
  | { platform: 'baidu'; value: string; baiduUserId: string }; // value = BaiduChannelId

/** A header of a template (ApnsHeaders, WnsHeaders, MpnsHeaders), in the order given. */
export interface TemplateHeader {
  name: string;
  value: string;
}

export interface RegistrationTemplate {
  /** The body with its template expressions, exactly as given (XML for WNS/MPNS, JSON otherwise). */
  body: string;
  name?: string;
  headers?: TemplateHeader[];
  /** Apple only: an ISO date, a JS Date.toString() text, "0" or an expression, kept as given. */
  expiry?: string;
  /** Apple only. */
  priority?: string;
}

/** What a client asks to store; the hub adds id, ETag and times. */
export interface RegistrationInput {
  kind: RegistrationKind;
  handle: PnsHandle;
  tags: string[];
  pushVariables?: Record<string, string>;
  /** Present exactly for the template kinds. */
  template?: RegistrationTemplate;
}

export interface Registration extends RegistrationInput {
  id: string;
  /** Starts at 1, incremented by every update (wire spec §6.5). */
  etag: number;
  /** The installation this registration was materialised from, if any. */
  installationId?: string;
  createdAt: number;
  updatedAt: number;
  /** Milliseconds since the epoch; undefined: never expires. */
  expiresAt?: number;
}

/** A template of an installation (wire spec §5.1). */
export interface InstallationTemplate {
  body: string;
  headers?: Record<string, string>;
  expiry?: string;
  tags?: string[];
}

/** The installation platforms of wire spec §5.1, lower-case canonical. */
export type InstallationPlatform = 'apns' | 'wns' | 'gcm' | 'fcmv1' | 'adm' | 'baidu' | 'browser' | 'xiaomi' | 'mpns';

/** A Web Push subscription as an installation's pushChannel. */
export interface BrowserPushChannel {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface Installation {
  installationId: string;
  platform: InstallationPlatform;
  /** A handle string, or a Web Push subscription for browser. */
  pushChannel: string | BrowserPushChannel;
  /** .NET sends a browser pushChannel as a JSON string; echo it the way it came (§5.1). */
  pushChannelAsString?: boolean;
  pushChannelExpired: boolean;
  userId?: string;
  tags?: string[];
  templates?: Record<string, InstallationTemplate>;
  pushVariables?: Record<string, string>;
  /** WNS only: { tileId: { pushChannel, tags?, templates? } }. */
  secondaryTiles?: Record<string, { pushChannel: string; pushChannelExpired?: boolean; tags?: string[]; templates?: Record<string, InstallationTemplate> }>;
  /** Milliseconds since the epoch; undefined: never expires. */
  expiresAt?: number;
  createdAt: number;
  updatedAt: number;
}

/** Azure's "never expires" (wire spec §14): what ExpirationTime shows when there is no TTL. */
export const NEVER_EXPIRES = '9999-12-31T23:59:59.999Z';
