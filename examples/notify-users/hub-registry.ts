/**
 * The backend's side of device registration (Azure's "registration management from a backend"): the
 * local registry (installation id → registration id, handle, tags) and how it is pushed to the hub.
 *
 * Apps never hold hub credentials; they send their PNS handle here and the backend decides the tags.
 * One Atom template registration per device carries the user's and the topics' tags; a companion
 * installation (only system tags: `$InstallationId:{id}`, `$UserId:{user}`) exists for secure push,
 * because the hub issues device credentials per installation, not per registration.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  NotificationHubsClient,
  createAppleInstallation,
  createAppleTemplateRegistrationDescription,
  createBrowserInstallation,
  createBrowserTemplateRegistrationDescription,
  createFcmV1Installation,
  createFcmV1TemplateRegistrationDescription,
  createWindowsInstallation,
  createWindowsTemplateRegistrationDescription,
  type Installation,
  type RegistrationDescription,
} from '@azure/notification-hubs';

export type Platform = 'ios' | 'android' | 'windows' | 'browser';
export const PLATFORMS: readonly Platform[] = ['ios', 'android', 'windows', 'browser'];

/** A Web Push subscription as the page gets it from `pushManager.subscribe()`. */
export interface WebPushHandle {
  endpoint: string;
  p256dh: string;
  auth: string;
}
export type Handle = string | WebPushHandle;

export interface DeviceRecord {
  installationId: string;
  userId: string;
  platform: Platform;
  handle: Handle;
  /** The hub registration this device re-uses; replaced only when the hub answers 410 Gone. */
  registrationId?: string;
  topics: string[];
  /** False after sign-off: the record (and its topics) stays, the hub registration does not. */
  signedIn: boolean;
  /** How many times an expired registration (410) was replaced by a new id. */
  renewals: number;
}

/** Per-platform templates: every device renders `$(message)` in its own native format. */
const TEMPLATE_NAME = 'message';
const TEMPLATES: Record<Platform, string> = {
  ios: '{"aps":{"alert":"$(message)"}}',
  android: '{"message":{"notification":{"title":"Herald","body":"$(message)"}}}',
  windows: '<toast><visual><binding template="ToastGeneric"><text>$(message)</text></binding></visual></toast>',
  browser: '{"title":"Herald","body":"$(message)"}',
};
const WNS_HEADERS = { 'X-WNS-Type': 'wns/toast' };

export const userTag = (userId: string) => `UserId:${userId}`;
export const topicTag = (topic: string) => `Event:${topic}`;
/** The tag the hub itself gives an installation with a userId; Atom registrations can never carry it. */
export const secureUserTag = (userId: string) => `$UserId:{${userId}}`;

export function tagsOf(rec: DeviceRecord): string[] {
  return [userTag(rec.userId), ...rec.topics.map(topicTag)];
}

/** The status an Azure SDK error (RestError) carries, if any. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

function registrationFor(rec: DeviceRecord, registrationId: string): RegistrationDescription {
  const common = { registrationId, tags: tagsOf(rec), bodyTemplate: TEMPLATES[rec.platform], templateName: TEMPLATE_NAME };
  const h = rec.handle;
  switch (rec.platform) {
    case 'ios':
      return createAppleTemplateRegistrationDescription({ ...common, deviceToken: h as string });
    case 'android':
      return createFcmV1TemplateRegistrationDescription({ ...common, fcmV1RegistrationId: h as string });
    case 'windows':
      return createWindowsTemplateRegistrationDescription({ ...common, channelUri: h as string, wnsHeaders: WNS_HEADERS });
    case 'browser':
      return createBrowserTemplateRegistrationDescription({ ...common, ...(h as WebPushHandle) });
  }
}

/** The companion installation for secure push: a template so that one template send covers every platform. */
function installationFor(rec: DeviceRecord): Installation {
  const templates = { [TEMPLATE_NAME]: { body: TEMPLATES[rec.platform], headers: rec.platform === 'windows' ? WNS_HEADERS : {} } };
  const common = { installationId: rec.installationId, userId: rec.userId, templates };
  const h = rec.handle;
  switch (rec.platform) {
    case 'ios':
      return createAppleInstallation({ ...common, pushChannel: h as string });
    case 'android':
      return createFcmV1Installation({ ...common, pushChannel: h as string });
    case 'windows':
      return createWindowsInstallation({ ...common, pushChannel: h as string });
    case 'browser':
      return createBrowserInstallation({ ...common, pushChannel: h as WebPushHandle });
  }
}

export class HubRegistry {
  private readonly devices = new Map<string, DeviceRecord>();
  /** Per-device queue: two overlapping calls for one device must not both create a registration id. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: NotificationHubsClient,
    private readonly file?: string,
  ) {
    if (file) {
      try {
        for (const rec of JSON.parse(readFileSync(file, 'utf8')) as DeviceRecord[]) this.devices.set(rec.installationId, rec);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  get(installationId: string): DeviceRecord | undefined {
    return this.devices.get(installationId);
  }

  /** Runs `fn` on the device's record after any call still running for the same device. */
  async update<T>(installationId: string, fn: (rec: DeviceRecord | undefined) => Promise<T>): Promise<T> {
    const prev = this.locks.get(installationId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => fn(this.devices.get(installationId)));
    this.locks.set(installationId, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(installationId) === run) this.locks.delete(installationId);
    }
  }

  /** Stores the record and brings the hub in line with it (registration and companion installation). */
  async save(rec: DeviceRecord): Promise<DeviceRecord> {
    this.devices.set(rec.installationId, rec);
    try {
      if (rec.signedIn) await this.pushToHub(rec);
    } finally {
      this.persist(); // a new registration id is worth keeping even if a later hub call failed
    }
    return rec;
  }

  private async pushToHub(rec: DeviceRecord): Promise<void> {
    rec.registrationId ??= await this.client.createRegistrationId();
    try {
      await this.client.createOrUpdateRegistration(registrationFor(rec, rec.registrationId));
    } catch (err) {
      // 410: the hub let this registration expire. Its id cannot be used again: ask for a new one.
      if (statusOf(err) !== 410) throw err;
      rec.registrationId = await this.client.createRegistrationId();
      rec.renewals += 1;
      await this.client.createOrUpdateRegistration(registrationFor(rec, rec.registrationId));
    }
    await this.client.createOrUpdateInstallation(installationFor(rec));
  }

  /** Sign-off: nothing reaches the device any more, but its topics stay here for the next sign-in. */
  async signOff(rec: DeviceRecord): Promise<DeviceRecord> {
    rec.signedIn = false;
    if (rec.registrationId) {
      try {
        await this.client.deleteRegistration(rec.registrationId);
      } catch (err) {
        // Already gone (deleted, expired or purged) is what we wanted.
        if (statusOf(err) !== 404 && statusOf(err) !== 410) throw err;
      }
    }
    await this.client.deleteInstallation(rec.installationId);
    this.persist();
    return rec;
  }

  private persist(): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.devices.values()], null, 2));
    renameSync(tmp, this.file);
  }
}
