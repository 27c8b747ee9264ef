/**
 * A simulated device for the sandbox (herald-contract.md, "The sandbox emulators"): it gets a handle
 * from its platform's emulator the way an app gets one from the vendor's SDK, describes itself as an
 * Azure installation, and reads what the emulator delivered to that handle.
 */
import type { InstallationBody } from './azure-hub.ts';
import { jsonCall } from './http.ts';

export type DevicePlatform = 'ios' | 'android' | 'windows' | 'browser' | 'kindle';
/** The PNS behind a device platform: the installation's `platform` and the emulator's key in `/_admin/v1/sandbox`. */
export type PnsPlatform = InstallationBody['platform'];

export const DEVICE_PLATFORMS: Readonly<Record<DevicePlatform, PnsPlatform>> = {
  ios: 'apns',
  android: 'fcmv1',
  windows: 'wns',
  browser: 'browser',
  kindle: 'adm',
};

/** What the app knows about itself from the hub's credentials: bundle id, Firebase project, VAPID key. */
export interface AppIdentity {
  /** APNs: the bundle id (topic); the sandbox apps are com.example.app. */
  topic?: string;
  /** FCM: the Firebase project of the app's google-services.json. */
  project?: string;
  /** Web Push: the VAPID public key the page passes to pushManager.subscribe(). */
  applicationServerKey?: string;
  /**
   * WNS with Microsoft Entra credentials: the Azure AppId (the application id) a Windows App SDK app passes
   * to PushNotificationManager.CreateChannelAsync to get its channel.
   */
  remoteId?: string;
}

export interface MintedDevice {
  /** The handle as the app hands it to its server (APNs token, FCM token, channel URI, push endpoint). */
  handle: string;
  pushChannel: InstallationBody['pushChannel'];
}

/**
 * `POST {base}/_emulator/devices`, with the body each emulator takes (docs/emulators.md). A Windows device
 * of an app with Entra credentials requests its channel as a Windows App SDK app does instead,
 * `POST {base}/_emulator/channels {"remoteId"}` (CreateChannelAsync with the Azure AppId).
 */
export async function mintDevice(platform: DevicePlatform, emulatorUrl: string, app: AppIdentity, ca?: string): Promise<MintedDevice> {
  if (platform === 'windows' && app.remoteId) {
    const created = await jsonCall<{ status?: string; channel?: { uri?: string } }>(`${emulatorUrl}/_emulator/channels`, {
      method: 'POST',
      json: { remoteId: app.remoteId },
      ...(ca ? { ca } : {}),
    });
    const uri = created?.channel?.uri;
    if (created?.status !== 'CompletedSuccess' || !uri) throw new Error('the WNS emulator created no channel for this app');
    return { handle: uri, pushChannel: uri };
  }
  const body: Record<string, string> = {};
  if (platform === 'ios') body.topic = app.topic ?? 'com.example.app';
  if (platform === 'android' && app.project) body.project = app.project;
  if (platform === 'browser' && app.applicationServerKey) body.applicationServerKey = app.applicationServerKey;
  const minted = await jsonCall<{ handle?: string; endpoint?: string; keys?: { p256dh: string; auth: string } }>(`${emulatorUrl}/_emulator/devices`, {
    method: 'POST',
    json: body,
    ...(ca ? { ca } : {}),
  });
  if (!minted?.handle) throw new Error(`the ${DEVICE_PLATFORMS[platform]} emulator minted no handle`);
  if (platform === 'browser') {
    if (!minted.endpoint || !minted.keys) throw new Error('the Web Push emulator minted a subscription without endpoint and keys');
    return { handle: minted.endpoint, pushChannel: { endpoint: minted.endpoint, p256dh: minted.keys.p256dh, auth: minted.keys.auth } };
  }
  return { handle: minted.handle, pushChannel: minted.handle };
}

/** WNS templates must name their X-WNS-Type (wire spec §5.1); the body's XML root implies it, else raw. */
export function wnsTypeOf(body: string): string {
  const root = /^\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z]+)/.exec(body)?.[1]?.toLowerCase();
  return root === 'toast' || root === 'tile' || root === 'badge' ? `wns/${root}` : 'wns/raw';
}

export function buildInstallation(opts: {
  installationId: string;
  platform: DevicePlatform;
  device: MintedDevice;
  tags: string[];
  userId?: string;
  templates: Record<string, string>;
}): InstallationBody {
  const platform = DEVICE_PLATFORMS[opts.platform];
  const templates = Object.fromEntries(
    Object.entries(opts.templates).map(([name, body]) => [name, platform === 'wns' ? { body, headers: { 'X-WNS-Type': wnsTypeOf(body) } } : { body }]),
  );
  return {
    installationId: opts.installationId,
    platform,
    pushChannel: opts.device.pushChannel,
    ...(opts.tags.length > 0 ? { tags: opts.tags } : {}),
    ...(opts.userId !== undefined ? { userId: opts.userId } : {}),
    ...(Object.keys(templates).length > 0 ? { templates } : {}),
  };
}

/** The delivery headers a developer looks at per PNS; transport and auth headers are left out. */
const HEADERS_OF_INTEREST: Readonly<Record<PnsPlatform, readonly string[]>> = {
  apns: ['apns-push-type', 'apns-priority', 'apns-topic', 'apns-expiration', 'apns-collapse-id', 'apns-id'],
  fcmv1: [],
  wns: ['x-wns-type', 'content-type', 'x-wns-tag', 'x-wns-group', 'x-wns-ttl', 'x-wns-cache-policy', 'x-wns-suppresspopup', 'x-wns-requestforstatus'],
  browser: ['ttl', 'urgency', 'topic'],
  adm: [],
};

export interface ReceivedNotification {
  time: string;
  headers: Record<string, string>;
  /** The payload as text (Web Push: as the emulator decrypted it). */
  payload: string;
}

/** Reads `GET {base}/_emulator/deliveries?handle=H` and hands out only what arrived since the last read. */
export class DeliveryWatcher {
  private seen = 0;

  constructor(
    private readonly platform: PnsPlatform,
    private readonly emulatorUrl: string,
    private readonly handle: string,
    private readonly ca?: string,
  ) {}

  async next(): Promise<ReceivedNotification[]> {
    const url = `${this.emulatorUrl}/_emulator/deliveries?handle=${encodeURIComponent(this.handle)}`;
    const got = await jsonCall<{ deliveries: Array<{ time: string; headers: Record<string, string>; payload: string }> }>(url, this.ca ? { ca: this.ca } : {});
    // Fewer than seen: the emulator restarted (it keeps devices across a restart, not their delivery log).
    if (got.deliveries.length < this.seen) this.seen = 0;
    const fresh = got.deliveries.slice(this.seen);
    this.seen = got.deliveries.length;
    const wanted = HEADERS_OF_INTEREST[this.platform];
    return fresh.map((d) => ({
      time: d.time,
      headers: Object.fromEntries(wanted.filter((h) => d.headers[h] !== undefined).map((h) => [h, d.headers[h]!])),
      payload: d.payload,
    }));
  }
}
