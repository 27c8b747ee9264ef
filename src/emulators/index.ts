/**
 * Every PNS emulator at once, for `herald serve --sandbox` and `herald emulators` (herald-contract.md,
 * "The sandbox emulators"). Keys are the hub's platform names: apns, fcmv1, wns, browser (Web Push), adm (Kindle).
 */
import { startAdmEmulator, type AdmEmulator } from './adm/adm-emulator.ts';
import { startApnsEmulator, type ApnsEmulator, type ApnsEmulatorOptions } from './apns/apns-emulator.ts';
import { startFcmEmulator, type FcmEmulator } from './fcm/fcm-emulator.ts';
import type { TlsOptions } from './shared/server.ts';
import { startWebPushEmulator, type WebPushEmulator } from './webpush/webpush-emulator.ts';
import { startWnsEmulator, type WnsEmulator } from './wns/wns-emulator.ts';

export { startAdmEmulator } from './adm/adm-emulator.ts';
export { startApnsEmulator } from './apns/apns-emulator.ts';
export { startFcmEmulator } from './fcm/fcm-emulator.ts';
export { startWebPushEmulator } from './webpush/webpush-emulator.ts';
export { startWnsEmulator } from './wns/wns-emulator.ts';

export type EmulatedPlatform = 'apns' | 'fcmv1' | 'wns' | 'browser' | 'adm';

export interface EmulatorsOptions {
  host?: string;
  /** Required in practice: APNs clients and web-push only speak HTTPS (pns-protocols.md §0, §4.5). */
  tls?: TlsOptions;
  /** Port per platform; 0 or absent = a random free port. */
  ports?: Partial<Record<EmulatedPlatform, number>>;
  /** APNs personality and stream limits (pns-protocols.md §2.1, §2.10). */
  apns?: Pick<ApnsEmulatorOptions, 'environment' | 'initialMaxConcurrentStreams' | 'maxConcurrentStreams'>;
}

export interface RunningEmulators {
  /** Base URL of each emulator; its control plane is under `{url}/_emulator/`. */
  urls: Record<EmulatedPlatform, string>;
  apns: ApnsEmulator;
  fcmv1: FcmEmulator;
  wns: WnsEmulator;
  browser: WebPushEmulator;
  adm: AdmEmulator;
  close(): Promise<void>;
}

export async function startEmulators(opts: EmulatorsOptions = {}): Promise<RunningEmulators> {
  const common = (platform: EmulatedPlatform) => ({ host: opts.host, tls: opts.tls, port: opts.ports?.[platform] });
  const started = await Promise.allSettled([
    startApnsEmulator({ ...opts.apns, ...common('apns') }),
    startFcmEmulator(common('fcmv1')),
    startWnsEmulator(common('wns')),
    startWebPushEmulator(common('browser')),
    startAdmEmulator(common('adm')),
  ] as const);
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    // One port in use must not leave the others listening.
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    throw failure.reason;
  }
  const [apns, fcmv1, wns, browser, adm] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    ApnsEmulator,
    FcmEmulator,
    WnsEmulator,
    WebPushEmulator,
    AdmEmulator,
  ];
  return {
    urls: { apns: apns.url, fcmv1: fcmv1.url, wns: wns.url, browser: browser.url, adm: adm.url },
    apns,
    fcmv1,
    wns,
    browser,
    adm,
    close: async () => {
      await Promise.all([apns.close(), fcmv1.close(), wns.close(), browser.close(), adm.close()]);
    },
  };
}
