/**
 * The event model (issue 13 item 1): every event a hub records, its type and the schema of its `data`,
 * version 1 (docs/events.md). Consumers see each event as an envelope
 * `{ id, type, version, hub, time, data }`; `id` is the event's opaque position in the hub's log, the same
 * in the SSE stream (its `id:` line) and in webhook deliveries (`webhook-id`), so a consumer de-duplicates
 * on it. A change to a type's `data` that is not adding a field is a new version.
 */
import type { DeliveryResult, NewEvent, StoredEvent } from '../store/store.ts';

export const EVENT_VERSION = 1;

export const EVENT_TYPES = [
  'notification.state_changed',
  'notification.device_failed',
  'notification.device_succeeded',
  'device.handle_expired',
  'registration.created',
  'registration.updated',
  'registration.deleted',
  'installation.upserted',
  'installation.deleted',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (t: string): t is EventType => (EVENT_TYPES as readonly string[]).includes(t);

export interface EventEnvelope {
  id: string;
  type: string;
  version: number;
  hub: string;
  /** ISO 8601. */
  time: string;
  data: Record<string, unknown>;
}

export function envelope(e: StoredEvent): EventEnvelope {
  return { id: e.id, type: e.type, version: EVENT_VERSION, hub: e.hub, time: new Date(e.time).toISOString(), data: e.data };
}

/** `notification.state_changed`: a notification reached `state` (from `previous`). */
export function stateChanged(n: { id: string; from: string; to: string; targets: number; counts: Record<string, Record<string, number>>; at: number }): NewEvent {
  return { type: 'notification.state_changed', time: n.at, data: { notificationId: n.id, state: n.to, previousState: n.from, targets: n.targets, counts: n.counts } };
}

/**
 * A delivery batch's events: one `notification.device_failed` per device whose outcome is not Success,
 * one `device.handle_expired` per handle the PNS reported dead, and, only when the hub asks for them
 * (`deviceSuccessEvents`), one `notification.device_succeeded` per delivered device.
 */
export function deliveryEvents(notificationId: string, result: DeliveryResult, successes: boolean): NewEvent[] {
  const events: NewEvent[] = [];
  for (const o of result.outcomes) {
    const success = o.outcome === 'Success';
    if (success && !successes) continue;
    events.push({
      type: success ? 'notification.device_succeeded' : 'notification.device_failed',
      time: o.at,
      data: {
        notificationId,
        platform: o.platform,
        handle: o.handle,
        ...(o.registrationId === undefined ? {} : { registrationId: o.registrationId }),
        outcome: o.outcome,
        ...(o.reason === undefined ? {} : { reason: o.reason }),
        attempts: o.attempts,
      },
    });
  }
  for (const f of result.expired) {
    events.push({
      type: 'device.handle_expired',
      time: f.at,
      data: {
        platform: f.platform,
        handle: f.handle,
        ...(f.registrationId === undefined ? {} : { registrationId: f.registrationId }),
        ...(f.installationId === undefined ? {} : { installationId: f.installationId }),
        ...(f.notificationId === undefined ? {} : { notificationId: f.notificationId }),
        error: f.error,
      },
    });
  }
  return events;
}

/** Registry events (`registration.*`, `installation.*`): what a client wrote, without templates or credentials. */
export function registrationEvent(type: 'registration.created' | 'registration.updated', reg: { id: string; handle: { platform: string; value: string }; tags: readonly string[]; installationId?: string; expiresAt?: number; updatedAt: number }): NewEvent;
export function registrationEvent(type: 'registration.deleted', reg: { id: string }, at: number): NewEvent;
export function registrationEvent(type: string, reg: { id: string; handle?: { platform: string; value: string }; tags?: readonly string[]; installationId?: string; expiresAt?: number; updatedAt?: number }, at?: number): NewEvent {
  if (type === 'registration.deleted') return { type, time: at!, data: { registrationId: reg.id } };
  return {
    type,
    time: reg.updatedAt!,
    data: {
      registrationId: reg.id,
      platform: reg.handle!.platform,
      handle: reg.handle!.value,
      tags: reg.tags!,
      ...(reg.installationId === undefined ? {} : { installationId: reg.installationId }),
      ...(reg.expiresAt === undefined ? {} : { expiresAt: new Date(reg.expiresAt).toISOString() }),
    },
  };
}

export function installationUpserted(inst: { installationId: string; platform: string; pushChannel: unknown; tags?: readonly string[]; userId?: string; updatedAt: number }): NewEvent {
  return {
    type: 'installation.upserted',
    time: inst.updatedAt,
    data: { installationId: inst.installationId, platform: inst.platform, pushChannel: inst.pushChannel, tags: inst.tags ?? [], ...(inst.userId === undefined ? {} : { userId: inst.userId }) },
  };
}

export function installationDeleted(id: string, at: number): NewEvent {
  return { type: 'installation.deleted', time: at, data: { installationId: id } };
}
