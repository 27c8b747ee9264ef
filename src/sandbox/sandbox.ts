/**
 * Sandbox mode (herald-contract.md, "The sandbox emulators"): the local PNS emulators run beside the
 * hub, and every hub without real credentials gets credentials minted by them, the way a vendor's
 * console hands them out, with the endpoint pointing at the emulator. Emulators keep what they minted
 * in memory only, so sandbox credentials are minted again at every start; credentials a user set are
 * never touched.
 */
import type { Logger } from 'pino';
import { startEmulators, type RunningEmulators } from '../emulators/index.ts';
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

export async function startSandbox(opts: { hubs: HubService; host: string; tls: { cert: string; key: string }; logger: Logger }): Promise<Sandbox> {
  const emulators = await startEmulators({ host: opts.host, tls: opts.tls });
  const urls = emulators.urls as Record<Platform, string>;
  const provision = async (hub: string) => {
    const existing = new Map((await opts.hubs.listCredentials(hub)).map((c) => [c.platform, c]));
    for (const platform of PLATFORMS) {
      const current = existing.get(platform);
      if (current && current.summary.source !== SANDBOX_SOURCE) continue; // real credentials stay
      await opts.hubs.setCredentials(hub, platform, await mint(emulators, platform), SANDBOX_SOURCE);
    }
  };
  opts.logger.info({ emulators: urls }, 'sandbox emulators are running');
  return { urls, emulators, provision, close: () => emulators.close() };
}
