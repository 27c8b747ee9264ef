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

type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * The headers a delivery kept: names and values in the order received, and the names whose values the
 * service set itself (`overrides`), which are stored per delivery. Deliveries with the same ones share it.
 */
interface HeaderSet {
  /** Name/value pairs; the value of an overridden name is a placeholder. */
  pairs: readonly string[];
  overridden: readonly string[];
}

/** Distinct header sets shared between deliveries; past this, new sets are kept per delivery. */
const MAX_SHARED_HEADER_SETS = 1000;
/** Payload bytes are copied into slabs of this size; a larger delivery gets a slab of its own. */
const SLAB_BYTES = 1024 * 1024;

/** Request headers worth keeping: HTTP/2 pseudo-headers and credentials are left out. */
function isKept(name: string): boolean {
  return !name.startsWith(':') && name !== 'authorization';
}

function samePairs(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The log keeps every delivery for the emulator's lifetime, so what it holds per send is what the emulator
 * pays in garbage collection on every request: a delivery is a row of numbers in a few columns (no object
 * of its own), its bytes are copied into large slabs, and its headers are a shared `HeaderSet`. The strings
 * of a `Delivery` are built only when someone lists a device's deliveries, which is rare next to sends.
 */
export class DeliveryLog {
  // One entry per delivery in each column.
  private readonly times: number[] = [];
  /** The same device's previous delivery, or -1: each device's deliveries form a chain. */
  private readonly previous: number[] = [];
  private readonly headerSetIds: number[] = [];
  private readonly slabIds: number[] = [];
  private readonly starts: number[] = [];
  private readonly payloadBytes: number[] = [];
  /** Bytes of the override values (UTF-8, joined by "\n"), stored right after the payload. */
  private readonly overrideBytes: number[] = [];

  /** Each device's latest delivery. */
  private readonly latest = new Map<string, number>();
  private readonly headerSets: HeaderSet[] = [];
  private readonly sharedSets = new Map<string, number>();
  private lastSetId = -1;
  private readonly slabs: Buffer[] = [];
  private slab: Buffer = Buffer.alloc(0);
  private slabUsed = 0;

  constructor(private readonly clock: Clock) {}

  /**
   * Log a delivery: the request headers (repeated ones joined with ", ") with `overrides` set over them,
   * as `{ ...headers, ...overrides }` would, and a copy of the payload.
   */
  record(key: string, headers: RequestHeaders, payload: Buffer, overrides?: Record<string, string>): void {
    const index = this.times.length;
    this.times.push(this.clock.now());
    this.previous.push(this.latest.get(key) ?? -1);
    this.latest.set(key, index);
    const { setId, values } = this.keptHeaders(headers, overrides);
    this.headerSetIds.push(setId);

    const maxExtra = values === undefined ? 0 : values.length * 3;
    const slab = this.reserve(payload.length + maxExtra);
    const start = this.slabUsed;
    payload.copy(slab, start);
    const extra = values === undefined ? 0 : slab.write(values, start + payload.length, 'utf8');
    this.slabUsed += payload.length + extra;
    this.slabIds.push(this.slabs.length - 1);
    this.starts.push(start);
    this.payloadBytes.push(payload.length);
    this.overrideBytes.push(extra);
  }

  /** How many deliveries the device with this key received. */
  count(key: string): number {
    let n = 0;
    for (let i = this.latest.get(key) ?? -1; i !== -1; i = this.previous[i]!) n++;
    return n;
  }

  list(key: string): Delivery[] {
    const indexes: number[] = [];
    for (let i = this.latest.get(key) ?? -1; i !== -1; i = this.previous[i]!) indexes.push(i);
    return indexes.reverse().map((i) => this.show(i));
  }

  /** The current slab, or a new one, with `bytes` free. */
  private reserve(bytes: number): Buffer {
    if (this.slabs.length === 0 || this.slabUsed + bytes > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
      this.slabs.push(this.slab);
      this.slabUsed = 0;
    }
    return this.slab;
  }

  /** The header set of a delivery, and its override values joined by "\n" (header values hold no newline). */
  private keptHeaders(headers: RequestHeaders, overrides: Record<string, string> | undefined): { setId: number; values: string | undefined } {
    const pairs: string[] = [];
    for (const name of Object.keys(headers)) {
      if (!isKept(name)) continue;
      if (overrides && Object.hasOwn(overrides, name)) {
        pairs.push(name, '');
        continue;
      }
      const value = headers[name];
      if (value === undefined) continue;
      pairs.push(name, typeof value === 'string' ? value : value.join(', '));
    }
    const overridden: string[] = [];
    let values: string | undefined;
    if (overrides) {
      for (const name of Object.keys(overrides)) {
        if (!isKept(name)) continue;
        if (!Object.hasOwn(headers, name)) pairs.push(name, '');
        overridden.push(name);
        values = values === undefined ? overrides[name] : `${values}\n${overrides[name]}`;
      }
    }
    return { setId: this.headerSetId(pairs, overridden), values };
  }

  private headerSetId(pairs: string[], overridden: string[]): number {
    // Senders repeat the same headers on every push, most often those of the previous delivery.
    const last = this.headerSets[this.lastSetId];
    if (last && samePairs(pairs, last.pairs) && samePairs(overridden, last.overridden)) return this.lastSetId;
    const signature = `${pairs.join('\n')}\n\n${overridden.join('\n')}`;
    let id = this.sharedSets.get(signature);
    if (id === undefined) {
      id = this.headerSets.length;
      this.headerSets.push({ pairs, overridden });
      if (this.sharedSets.size < MAX_SHARED_HEADER_SETS) this.sharedSets.set(signature, id);
    }
    this.lastSetId = id;
    return id;
  }

  private show(i: number): Delivery {
    const slab = this.slabs[this.slabIds[i]!]!;
    const start = this.starts[i]!;
    const payload = slab.subarray(start, start + this.payloadBytes[i]!);
    const set = this.headerSets[this.headerSetIds[i]!]!;
    const overrides = new Map<string, string>();
    if (set.overridden.length > 0) {
      const values = slab.toString('utf8', start + payload.length, start + payload.length + this.overrideBytes[i]!).split('\n');
      set.overridden.forEach((name, n) => overrides.set(name, values[n]!));
    }
    const headers: Record<string, string> = {};
    for (let p = 0; p < set.pairs.length; p += 2) {
      const name = set.pairs[p]!;
      headers[name] = overrides.get(name) ?? set.pairs[p + 1]!;
    }
    return {
      time: new Date(this.times[i]!).toISOString(),
      headers,
      payload: payload.toString('utf8'),
      payloadBase64: payload.toString('base64'),
    };
  }
}
