/**
 * What a push service holds for a user agent that cannot take a message now (RFC 8030 §5): the device is
 * offline, or it asked for messages of a higher urgency only (§5.3: a UA on battery takes `high` alone).
 * A message waits until its TTL ends (§5.2; TTL 0 is never stored), and a newer message with the same
 * Topic replaces the one waiting (§5.4), so the device gets only the latest. Plain maps the emulator owns.
 */
import type { Clock } from '../../shared/clock.ts';

export const URGENCY_ORDER = ['very-low', 'low', 'normal', 'high'] as const;
export type Urgency = (typeof URGENCY_ORDER)[number];

export function isUrgency(v: unknown): v is Urgency {
  return typeof v === 'string' && (URGENCY_ORDER as readonly string[]).includes(v);
}

/** A device's state as the control plane sets it. */
export interface DeviceState {
  online: boolean;
  /** The lowest urgency the device takes now (§5.3); `very-low` takes everything. */
  minUrgency: Urgency;
}

export interface PendingMessage {
  id: string;
  receivedAt: number;
  ttlSeconds: number;
  urgency: Urgency;
  topic: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  plaintext: Buffer;
}

export interface PendingView {
  id: string;
  receivedAt: string;
  ttl: number;
  urgency: Urgency;
  topic?: string;
  payload: string;
}

const DEFAULT_STATE: DeviceState = { online: true, minUrgency: 'very-low' };

export class PendingMessages {
  private readonly states = new Map<string, DeviceState>();
  private readonly pending = new Map<string, PendingMessage[]>();
  /** Messages replaced by a newer one with the same Topic, per device. */
  private readonly replaced = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  state(key: string): DeviceState {
    return this.states.get(key) ?? DEFAULT_STATE;
  }

  /** Whether the device takes a message of this urgency now. */
  takesNow(key: string, urgency: Urgency): boolean {
    const s = this.state(key);
    return s.online && URGENCY_ORDER.indexOf(urgency) >= URGENCY_ORDER.indexOf(s.minUrgency);
  }

  /**
   * Holds a message the device cannot take now: dropped at once with TTL 0 (§5.2), else it replaces a
   * pending message with the same topic (§5.4) or joins the queue. Answers whether it was kept.
   */
  hold(key: string, m: PendingMessage): boolean {
    if (m.ttlSeconds === 0) return false;
    const list = this.live(key);
    if (m.topic !== undefined) {
      const at = list.findIndex((p) => p.topic === m.topic);
      if (at !== -1) {
        list.splice(at, 1);
        this.replaced.set(key, (this.replaced.get(key) ?? 0) + 1);
      }
    }
    list.push(m);
    this.pending.set(key, list);
    return true;
  }

  /** Sets the state and returns, in arrival order, the pending messages the device now takes. */
  setState(key: string, state: DeviceState): PendingMessage[] {
    this.states.set(key, state);
    const list = this.live(key);
    const now = list.filter((m) => this.takesNow(key, m.urgency));
    const rest = list.filter((m) => !this.takesNow(key, m.urgency));
    if (rest.length > 0) this.pending.set(key, rest);
    else this.pending.delete(key);
    return now;
  }

  view(key: string): { pending: PendingView[]; replaced: number; state: DeviceState } {
    return {
      state: this.state(key),
      replaced: this.replaced.get(key) ?? 0,
      pending: this.live(key).map((m) => ({
        id: m.id,
        receivedAt: new Date(m.receivedAt).toISOString(),
        ttl: m.ttlSeconds,
        urgency: m.urgency,
        ...(m.topic === undefined ? {} : { topic: m.topic }),
        payload: m.plaintext.toString('utf8'),
      })),
    };
  }

  /** The device's pending messages whose TTL has not run out (the others are dropped, §5.2). */
  private live(key: string): PendingMessage[] {
    const now = this.clock.now();
    return (this.pending.get(key) ?? []).filter((m) => m.receivedAt + m.ttlSeconds * 1000 > now);
  }
}
