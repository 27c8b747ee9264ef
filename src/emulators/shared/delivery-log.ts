/** What each device received, for `GET /_emulator/deliveries?handle=H` (herald-contract.md). */
import type { Clock } from '../../shared/clock.ts';

export interface Delivery {
  /** ISO-8601 time the service accepted the notification. */
  time: string;
  headers: Record<string, string>;
  /** The payload as UTF-8 text (Web Push: after decryption). */
  payload: string;
  /** The same bytes in base64, for binary payloads (WNS raw, Web Push). */
  payloadBase64: string;
}

/** Request headers worth keeping: HTTP/2 pseudo-headers and credentials are left out. */
function keepHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || name === 'authorization') continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

export class DeliveryLog {
  private readonly byKey = new Map<string, Delivery[]>();

  constructor(private readonly clock: Clock) {}

  record(key: string, headers: Record<string, string | string[] | undefined>, payload: Buffer): Delivery {
    const delivery: Delivery = {
      time: new Date(this.clock.now()).toISOString(),
      headers: keepHeaders(headers),
      payload: payload.toString('utf8'),
      payloadBase64: payload.toString('base64'),
    };
    const list = this.byKey.get(key) ?? [];
    list.push(delivery);
    this.byKey.set(key, list);
    return delivery;
  }

  list(key: string): Delivery[] {
    return [...(this.byKey.get(key) ?? [])];
  }
}
