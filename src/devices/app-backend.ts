/**
 * A simulated device that registers the way a real app does (issue 6): through its app backend
 * (examples/notify-users), never with hub credentials; and that reads a secure push's payload with the
 * credential its backend obtains for its installation.
 */
import type { DevicePlatform, MintedDevice } from './simulated-device.ts';
import { httpCall, jsonCall } from './http.ts';

export class AppBackend {
  constructor(
    private readonly baseUrl: string,
    /** The example backend's login: `Bearer <userId>`. */
    private readonly userId: string,
    private readonly ca?: string,
  ) {}

  private get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.userId}` };
  }

  /** `PUT /devices/{installationId}` with the app's platform and handle, then one call per topic. */
  async register(installationId: string, platform: DevicePlatform, device: MintedDevice, topics: readonly string[]): Promise<void> {
    const url = `${this.baseUrl}/devices/${encodeURIComponent(installationId)}`;
    await jsonCall(url, { method: 'PUT', headers: this.auth, json: { platform, handle: device.pushChannel, userId: this.userId }, ...(this.ca ? { ca: this.ca } : {}) });
    for (const topic of topics) await jsonCall(`${url}/topics/${encodeURIComponent(topic)}`, { method: 'POST', headers: this.auth, json: {}, ...(this.ca ? { ca: this.ca } : {}) });
  }

  /** The payload of a secure push: the credential from the backend, then the hub's payload endpoint. */
  async readSecure(installationId: string, notificationId: string, hubCa?: string): Promise<string> {
    const c = await jsonCall<{ credential: string; payloads: string }>(`${this.baseUrl}/devices/${encodeURIComponent(installationId)}/credential`, { headers: this.auth, ...(this.ca ? { ca: this.ca } : {}) });
    const answer = await httpCall(c.payloads.replace('{notificationId}', encodeURIComponent(notificationId)), {
      headers: { authorization: `Bearer ${c.credential}` },
      ...(hubCa ? { ca: hubCa } : {}),
    });
    if (answer.status !== 200) throw new Error(`the hub answered ${answer.status} for the secure payload: ${answer.text.slice(0, 200)}`);
    return answer.text;
  }
}

/** The id a secure push carries instead of its payload (whatever the platform's envelope). */
export function secureIdOf(payload: string): string | undefined {
  return /"heraldSecureId"\s*:\s*"([^"]+)"/.exec(payload)?.[1];
}
