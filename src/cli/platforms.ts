/**
 * The CLI's platform words, in one table: each platform has one name, used in every command's output
 * and help (`device`, `send --format`, `hub credentials --platform`, `registrations --platform`), and the
 * other words people use for it are accepted as aliases everywhere. A new platform is one more entry.
 *
 * The names are the PNS names of Azure installations and of Herald's credentials (apns, fcmv1, wns,
 * browser, adm); the aliases are the device families (ios, android, windows, web, kindle) and the Azure send formats
 * (apple, windows, ...).
 */
import type { DevicePlatform } from '../devices/simulated-device.ts';

export interface PlatformWords {
  /** Other words for it, accepted wherever the name is. */
  aliases: readonly string[];
  /** Azure's `ServiceBusNotification-Format` of a native send to it (wire spec §7.1). */
  sendFormat: string;
  /** The platform's element of the telemetry (`ApnsOutcomeCounts` ...), without `OutcomeCounts`. */
  telemetry: string;
  /** Its simulated device (`herald device`), where the sandbox has one. */
  device?: DevicePlatform;
}

export const PLATFORMS = {
  apns: { aliases: ['ios', 'apple'], sendFormat: 'apple', telemetry: 'Apns', device: 'ios' },
  fcmv1: { aliases: ['android', 'fcm'], sendFormat: 'fcmv1', telemetry: 'FcmV1', device: 'android' },
  wns: { aliases: ['windows'], sendFormat: 'windows', telemetry: 'Wns', device: 'windows' },
  browser: { aliases: ['web', 'webpush'], sendFormat: 'browser', telemetry: 'Browser', device: 'browser' },
  adm: { aliases: ['kindle', 'amazon'], sendFormat: 'adm', telemetry: 'Adm', device: 'kindle' },
} as const satisfies Record<string, PlatformWords>;

export type Platform = keyof typeof PLATFORMS;
export const PLATFORM_NAMES = Object.keys(PLATFORMS) as Platform[];

/** The platform a word names (its name or an alias, any case), or undefined. */
export function platformOf(word: string): Platform | undefined {
  const w = word.trim().toLowerCase();
  return PLATFORM_NAMES.find((p) => p === w || (PLATFORMS[p].aliases as readonly string[]).includes(w));
}

/** `apns (ios, apple), fcmv1 (android, fcm), ...`: for help texts and errors. */
export function describePlatforms(only: (p: Platform) => boolean = () => true): string {
  return PLATFORM_NAMES.filter(only)
    .map((p) => `${p} (${PLATFORMS[p].aliases.join(', ')})`)
    .join(', ');
}

/** Like platformOf, or an error that lists every accepted word. */
export function requirePlatform(word: string, flag: string, only: (p: Platform) => boolean = () => true): Platform {
  const p = platformOf(word);
  if (p === undefined || !only(p)) throw new Error(`${flag} "${word}" is not a platform: use one of ${describePlatforms(only)}`);
  return p;
}

/** The platform of a telemetry element name (`Apns` -> apns), for the outcome's next steps. */
export function platformOfTelemetry(element: string): Platform | undefined {
  return PLATFORM_NAMES.find((p) => PLATFORMS[p].telemetry === element);
}
