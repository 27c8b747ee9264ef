/**
 * The state every emulator keeps (devices, deliveries, faults, stats) and the request routing they share:
 * `/_emulator/...` goes to the control plane, everything else to the vendor protocol behind fault injection.
 */
import { systemClock, type Clock } from '../../shared/clock.ts';
import { DeliveryLog } from './delivery-log.ts';
import { DeviceRegistry, type DeviceRecord } from './device-registry.ts';
import { FaultInjector, type ActiveFault } from './faults.ts';
import { RequestStats } from './stats.ts';
import { jsonCodec, type DeviceCodec, type EmulatorState } from './state-file.ts';
import { handleControlPlane, type ControlPlaneHooks } from './control-plane.ts';
import type { Exchange, Handler, Reply } from './server.ts';

export class EmulatorCore<E> {
  readonly registry: DeviceRegistry<E>;
  readonly deliveries: DeliveryLog;
  readonly faults: FaultInjector;
  readonly stats = new RequestStats();

  constructor(readonly clock: Clock = systemClock, random?: () => number) {
    this.registry = new DeviceRegistry<E>(clock);
    this.deliveries = new DeliveryLog(clock);
    this.faults = new FaultInjector(random);
  }

  private state: EmulatorState | undefined;

  /**
   * Keeps the devices in `state` (read back now, saved at every change). The emulator's own code adds
   * its sections to the same state (minted credentials) and calls `saveState()` when they change.
   */
  persist(state: EmulatorState, codec: DeviceCodec<E> = jsonCodec<E>()): void {
    this.state = state;
    state.section('devices', {
      save: () =>
        [...this.registry.all()].map((d) => ({
          key: d.key,
          handle: d.handle,
          app: d.app,
          createdAt: d.createdAt,
          expiredAt: d.expiredAt ?? null,
          expiredReason: d.expiredReason ?? null,
          extra: codec.encode(d.extra),
        })),
      load: (data) => {
        if (!Array.isArray(data)) throw new Error('devices is not a list');
        for (const d of data as Array<Record<string, unknown>>) {
          if (typeof d.key !== 'string' || typeof d.handle !== 'string') throw new Error('a device has no key or handle');
          this.registry.restore({
            key: d.key,
            handle: d.handle,
            app: (d.app ?? {}) as DeviceRecord<E>['app'],
            createdAt: Number(d.createdAt),
            expiredAt: typeof d.expiredAt === 'number' ? d.expiredAt : undefined,
            expiredReason: typeof d.expiredReason === 'string' ? d.expiredReason : undefined,
            extra: codec.decode(d.extra),
          });
        }
      },
    });
    this.registry.onChange = () => this.saveState();
  }

  /** The state changed: it is written to the state file soon (state-file.ts), when the emulator has one. */
  saveState(): void {
    this.state?.changed();
  }
}

export interface ProtocolRoutes {
  /** The vendor protocol (sends, token endpoints). */
  protocol: Handler;
  /** The vendor's own error answer for an injected status (APNs `{"reason"}`, FCM google.rpc.Status, ...). */
  renderFault(fault: ActiveFault, exchange: Exchange): Reply;
  /** Called before an injected drop closes the connection (APNs sends GOAWAY with a JSON reason). */
  beforeDrop?(fault: ActiveFault, exchange: Exchange): void;
  /** Which requests faults may hit; default: all protocol requests. */
  faultable?(exchange: Exchange): boolean;
}

export const CONTROL_PREFIX = '/_emulator/';

export function emulatorHandler<E>(core: EmulatorCore<E>, hooks: ControlPlaneHooks, routes: ProtocolRoutes): Handler {
  return async (ex) => {
    if (ex.path.startsWith(CONTROL_PREFIX)) return handleControlPlane(core, hooks, ex);
    const fault = (routes.faultable?.(ex) ?? true) ? core.faults.pick() : undefined;
    // On the emulator's clock (a test holds an answer as long as it likes), and unref'd: an answer held
    // for an hour does not keep the process alive after its client gave up.
    if (fault?.latencyMs) await new Promise<void>((resolve) => core.clock.setTimeout(resolve, fault.latencyMs!).unref());
    if (fault?.drop) {
      routes.beforeDrop?.(fault, ex);
      core.stats.count('drop');
      return 'drop';
    }
    let reply: Reply;
    if (fault?.status !== undefined) {
      reply = routes.renderFault(fault, ex);
      if (fault.retryAfter !== undefined) reply.headers = { ...reply.headers, 'retry-after': fault.retryAfter };
    } else {
      const answer = await routes.protocol(ex);
      if (answer === 'drop') {
        core.stats.count('drop');
        return answer;
      }
      reply = answer;
    }
    core.stats.count(reply.status);
    return reply;
  };
}

export function json(status: number, body: unknown, headers: Record<string, string | number> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
