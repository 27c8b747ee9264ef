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
import { join } from 'node:path';
import { EmulatorState } from './shared/state-file.ts';

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
  /**
   * Port per platform; 0 or absent = the port remembered in `stateDir` (when there is one), else a random
   * free one. A port given here must be free: the start fails otherwise.
   */
  ports?: Partial<Record<EmulatedPlatform, number>>;
  /**
   * Where each emulator keeps its state (`<stateDir>/<platform>.json`): devices, minted credentials and
   * the port it listened on, so a restart finds the same devices at the same URLs (issue 12 item 5).
   * Absent: everything is in memory and ports are random unless given.
   */
  stateDir?: string;
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

/** The state file of one platform's emulator, under a data directory's `emulators/` folder. */
export function emulatorStateFile(stateDir: string, platform: EmulatedPlatform): string {
  return join(stateDir, `${platform}.json`);
}

/** The port an emulator must listen on: the configured one, else the one it used last time, else any. */
function portFor(platform: EmulatedPlatform, opts: EmulatorsOptions, state: EmulatorState): { port: number; remembered: boolean } {
  const configured = opts.ports?.[platform];
  if (configured) return { port: configured, remembered: false };
  const last = state.get('port');
  return typeof last === 'number' && Number.isInteger(last) && last > 0 ? { port: last, remembered: true } : { port: 0, remembered: false };
}

/** A listen failure that names the port, where it came from, and how to choose another. */
function portError(platform: EmulatedPlatform, port: number, remembered: boolean, state: EmulatorState, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return err as Error;
  const why = code === 'EADDRINUSE' ? 'is in use' : 'may not be used by this user';
  const source = remembered
    ? `the port it listened on last time (remembered in ${state.path}, so that its devices keep their URLs)`
    : 'the configured port';
  return new Error(
    `the ${platform} emulator cannot listen on port ${port}, ${source}: the port ${why} (${code}). Stop what uses it, or choose another with emulators.ports.${platform} (environment ${EMULATOR_PORT_ENV[platform]})`,
  );
}

/** The environment variable that sets each emulator's port (config/load.ts reads the same names). */
export const EMULATOR_PORT_ENV: Record<EmulatedPlatform, string> = {
  apns: 'HERALD_EMULATOR_APNS_PORT',
  fcmv1: 'HERALD_EMULATOR_FCM_PORT',
  wns: 'HERALD_EMULATOR_WNS_PORT',
  browser: 'HERALD_EMULATOR_WEBPUSH_PORT',
  adm: 'HERALD_EMULATOR_ADM_PORT',
};

export async function startEmulators(opts: EmulatorsOptions = {}): Promise<RunningEmulators> {
  const states = {} as Record<EmulatedPlatform, EmulatorState>;
  const ports = {} as Record<EmulatedPlatform, { port: number; remembered: boolean }>;
  for (const platform of ['apns', 'fcmv1', 'wns', 'browser', 'adm'] as const) {
    states[platform] = new EmulatorState(opts.stateDir === undefined ? undefined : emulatorStateFile(opts.stateDir, platform));
    ports[platform] = portFor(platform, opts, states[platform]);
  }
  const common = (platform: EmulatedPlatform) => ({ host: opts.host, tls: opts.tls, port: ports[platform].port, state: states[platform] });
  const named = <T>(platform: EmulatedPlatform, started: Promise<T>): Promise<T> =>
    started.catch((err: unknown) => {
      throw portError(platform, ports[platform].port, ports[platform].remembered, states[platform], err);
    });
  const started = await Promise.allSettled([
    named('apns', startApnsEmulator({ ...opts.apns, ...common('apns') })),
    named('fcmv1', startFcmEmulator(common('fcmv1'))),
    named('wns', startWnsEmulator(common('wns'))),
    named('browser', startWebPushEmulator(common('browser'))),
    named('adm', startAdmEmulator(common('adm'))),
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
  for (const [platform, emulator] of [['apns', apns], ['fcmv1', fcmv1], ['wns', wns], ['browser', browser], ['adm', adm]] as const) {
    states[platform].set('port', Number(new URL(emulator.url).port));
    states[platform].save();
  }
  return {
    urls: { apns: apns.url, fcmv1: fcmv1.url, wns: wns.url, browser: browser.url, adm: adm.url },
    apns,
    fcmv1,
    wns,
    browser,
    adm,
    close: async () => {
      await Promise.all([apns.close(), fcmv1.close(), wns.close(), browser.close(), adm.close()]);
      // What was minted since the last write is kept too.
      for (const state of Object.values(states)) state.flush();
    },
  };
}
