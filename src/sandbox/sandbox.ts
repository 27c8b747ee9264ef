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

/** The `source` fact of credentials this module set (shown in the credentials summary). */
export const SANDBOX_SOURCE = 'sandbox emulator';

export interface Sandbox {
  urls: Record<Platform, string>;
  emulators: RunningEmulators;
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
  return { urls, emulators, provision, close: () => emulators.close() };
}
