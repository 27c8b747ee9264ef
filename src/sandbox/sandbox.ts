/**
 * Sandbox mode (herald-contract.md, "The sandbox emulators"): the local PNS emulators run beside the
 * hub, and every hub without real credentials gets credentials minted by them, the way a vendor's
 * console hands them out, with the endpoint pointing at the emulator. Credentials a user set are never
 * touched.
 *
 * Across restarts (issue 12 item 5): the emulators keep their devices, minted credentials and ports in
 * `<data>/emulators/`, so a hub's sandbox credentials are kept as long as the emulator still knows them at
 * the same URL; otherwise (the folder was removed, a port was changed) they are minted again.
 */
import type { Logger } from 'pino';
import { startEmulators, type EmulatorsOptions, type RunningEmulators } from '../emulators/index.ts';
import type { HubService } from '../hubs/hub-service.ts';
import { PLATFORMS, type Platform } from '../hubs/credentials.ts';
import type { EmulatorCore } from '../emulators/shared/emulator-core.ts';

/** The `source` fact of credentials this module set (shown in the credentials summary). */
export const SANDBOX_SOURCE = 'sandbox emulator';

/** A device an emulator handed out, as the portal's sandbox page lists it. */
export interface SandboxDevice {
  platform: Platform;
  handle: string;
  createdAt: number;
  expired: boolean;
  deliveries: number;
}

export interface Sandbox {
  urls: Record<Platform, string>;
  emulators: RunningEmulators;
  /** Credentials minted by the platform's emulator, in the shape PUT .../credentials/{platform} takes. */
  mintCredentials(platform: Platform): Promise<Record<string, unknown>>;
  /** A new device handle from the platform's emulator, and the installation pushChannel that names it. */
  mintDevice(platform: Platform): Promise<{ handle: string; pushChannel: string | { endpoint: string; p256dh: string; auth: string } }>;
  /** Every device of every emulator, newest first. */
  devices(): SandboxDevice[];
  /** What one device received; undefined for a handle no emulator gave out. */
  deliveries(handle: string): Array<{ time: string; headers: Record<string, string>; payload: string }> | undefined;
  /** Gives the hub emulator credentials for every platform that has no real ones. */
  provision(hub: string): Promise<void>;
  close(): Promise<void>;
}

async function mint(e: RunningEmulators, platform: Platform): Promise<Record<string, unknown>> {
  switch (platform) {
    case 'apns': {
      const c = await e.apns.mintCredentials({ type: 'token', topic: 'com.example.app' });
      if (c.type !== 'token') throw new Error('the APNs emulator minted no token key');
      return { auth: 'token', keyId: c.keyId, teamId: c.teamId, bundleId: 'com.example.app', key: c.key, environment: 'production', endpoint: e.urls.apns };
    }
    case 'fcmv1':
      return { serviceAccount: await e.fcmv1.mintCredentials({}), endpoint: e.urls.fcmv1 };
    case 'wns': {
      // The Microsoft Entra client-credentials flow: the current one for Windows App SDK apps.
      const app = await e.wns.mintCredentials({});
      return { clientId: app.appId, clientSecret: app.appSecret, tenantId: app.tenantId, endpoint: e.urls.wns };
    }
    case 'browser': {
      const v = await e.browser.mintCredentials({});
      return { subject: 'mailto:sandbox@herald.invalid', publicKey: v.publicKey, privateKey: v.privateKey, endpoint: e.urls.browser };
    }
    case 'adm': {
      // A Login with Amazon security profile's client id and secret, as the Amazon Developer Console shows them.
      const app = await e.adm.mintCredentials({});
      return { clientId: app.clientId, clientSecret: app.clientSecret, endpoint: e.urls.adm };
    }
  }
}

/** True when the emulator at the credentials' endpoint minted them and still accepts them. */
function stillWorks(e: RunningEmulators, platform: Platform, current: { endpoint?: string | null; summary: Record<string, string> }): boolean {
  if (current.endpoint !== e.urls[platform]) return false;
  switch (platform) {
    case 'apns':
      return current.summary.auth === 'token' && e.apns.knowsCredentials(current.summary.keyId ?? '');
    case 'fcmv1':
      return e.fcmv1.knowsCredentials(current.summary.clientEmail ?? '');
    case 'wns':
      return e.wns.knowsCredentials(current.summary.clientId ?? '');
    case 'adm':
      return e.adm.knowsCredentials(current.summary.clientId ?? '');
    case 'browser':
      // VAPID needs nothing registered with the push service: any key pair the hub holds works.
      return true;
  }
}

export interface SandboxOptions {
  hubs: HubService;
  host: string;
  tls: { cert: string; key: string };
  logger: Logger;
  /** `<data>/emulators`: the emulators' state; absent, they forget everything when they stop. */
  stateDir?: string;
  /** Configured emulator ports (config `emulators.ports`); others are remembered in stateDir. */
  ports?: EmulatorsOptions['ports'];
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const emulators = await startEmulators({ host: opts.host, tls: opts.tls, stateDir: opts.stateDir, ports: opts.ports });
  const urls = emulators.urls as Record<Platform, string>;
  const provision = async (hub: string) => {
    const existing = new Map((await opts.hubs.listCredentials(hub)).map((c) => [c.platform, c]));
    for (const platform of PLATFORMS) {
      const current = existing.get(platform);
      if (current && current.summary.source !== SANDBOX_SOURCE) continue; // real credentials stay
      if (current && stillWorks(emulators, platform, current)) continue;
      await opts.hubs.setCredentials(hub, platform, await mint(emulators, platform), SANDBOX_SOURCE);
    }
  };
  opts.logger.info({ emulators: urls }, 'sandbox emulators are running');
  const cores = () => PLATFORMS.map((p) => [p, emulators[p].core as EmulatorCore<unknown>] as const);
  return {
    urls,
    emulators,
    provision,
    mintCredentials: (platform) => mint(emulators, platform),
    async mintDevice(platform) {
      switch (platform) {
        case 'apns': {
          const { handle } = await emulators.apns.mintDevice({ topic: 'com.example.app' });
          return { handle, pushChannel: handle };
        }
        case 'fcmv1': {
          const { handle } = await emulators.fcmv1.mintDevice({});
          return { handle, pushChannel: handle };
        }
        case 'wns': {
          const { handle } = await emulators.wns.mintDevice({});
          return { handle, pushChannel: handle };
        }
        case 'adm': {
          const { handle } = await emulators.adm.mintDevice({});
          return { handle, pushChannel: handle };
        }
        case 'browser': {
          // The hub's VAPID key would restrict the subscription; the sandbox's minted keys change per start.
          const s = await emulators.browser.mintDevice({});
          return { handle: s.endpoint, pushChannel: { endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth } };
        }
      }
    },
    devices: () =>
      cores()
        .flatMap(([platform, core]) =>
          core.registry.list().map((d) => ({ platform, handle: d.handle, createdAt: d.createdAt, expired: core.registry.isExpired(d), deliveries: core.deliveries.count(d.key) })),
        )
        .sort((a, b) => b.createdAt - a.createdAt),
    deliveries(handle) {
      for (const [, core] of cores()) {
        const d = core.registry.find(handle);
        if (d) return core.deliveries.list(d.key).map(({ time, headers, payload }) => ({ time, headers, payload }));
      }
      return undefined;
    },
    close: () => emulators.close(),
  };
}
