/**
 * The devices an emulator handed out (herald-contract.md, "The sandbox emulators"). Each device has two
 * names: the `key` the protocol carries (APNs hex token, FCM registration token, WNS `token` query value,
 * Web Push path id) and the `handle` an app would give its server (for WNS and Web Push a whole URL).
 * Both find the device, so the control plane accepts whichever the caller has.
 */
import type { Clock } from '../../shared/clock.ts';

/** The app a device belongs to: APNs topic (bundle id), FCM project, WNS package / app identity. */
export interface AppRef {
  topic?: string;
  project?: string;
  package?: string;
}

export interface DeviceRecord<E> {
  key: string;
  handle: string;
  app: AppRef;
  createdAt: number;
  /** Set when the device stops being valid (uninstall, expiry); the service answers 404/410 from then on. */
  expiredAt: number | undefined;
  /** Vendor reason to report once expired, when the vendor has several (APNs ExpiredToken vs Unregistered). */
  expiredReason: string | undefined;
  /** Platform-specific facts (Web Push private keys, APNs environment, WNS channel expiry). */
  extra: E;
}

export class DeviceRegistry<E> {
  private readonly byKey = new Map<string, DeviceRecord<E>>();
  private readonly byHandle = new Map<string, DeviceRecord<E>>();

  /** Called after every change (a device added or expired): the core saves the state file then. */
  onChange: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  add(key: string, handle: string, app: AppRef, extra: E): DeviceRecord<E> {
    const record: DeviceRecord<E> = { key, handle, app, createdAt: this.clock.now(), expiredAt: undefined, expiredReason: undefined, extra };
    this.put(record);
    this.onChange?.();
    return record;
  }

  private put(record: DeviceRecord<E>): void {
    this.byKey.set(record.key, record);
    this.byHandle.set(record.handle, record);
  }

  /** Every device, for the state file. */
  all(): IterableIterator<DeviceRecord<E>> {
    return this.byKey.values();
  }

  /** A device read back from the state file, as it was (no change event). */
  restore(record: DeviceRecord<E>): void {
    this.put(record);
  }

  /** Look a device up by protocol key or by handle. */
  find(keyOrHandle: string): DeviceRecord<E> | undefined {
    return this.byKey.get(keyOrHandle) ?? this.byHandle.get(keyOrHandle);
  }

  /** True when the device exists and its expiry time has passed. */
  isExpired(record: DeviceRecord<E>): boolean {
    return record.expiredAt !== undefined && record.expiredAt <= this.clock.now();
  }

  expire(keyOrHandle: string, at?: number, reason?: string): DeviceRecord<E> | undefined {
    const record = this.find(keyOrHandle);
    if (!record) return undefined;
    record.expiredAt = at ?? this.clock.now();
    record.expiredReason = reason;
    this.onChange?.();
    return record;
  }

  size(): number {
    return this.byKey.size;
  }

  /** Every device handed out, oldest first (the portal's sandbox page). */
  list(): Array<DeviceRecord<E>> {
    return [...this.byKey.values()];
  }
}
