/**
 * Webhook subscription and delivery rows as both adapters read them (their schemas name the columns
 * alike; PostgreSQL hands bigints over as strings, SQLite as numbers), and the page of a read of the
 * event log. SQL and event positions stay in each adapter.
 */
import type { StoredEvent, WebhookAttempt, WebhookDelivery, WebhookJob, WebhookSubscription } from './store.ts';

type Int = number | string;

/** `types` as stored: ',a,b,'; ',,' for every type. */
export const typesColumn = (types: readonly string[]) => `,${types.join(',')},`;
const typesOf = (column: string) => column.split(',').filter((t) => t !== '');

export interface SubscriptionRow {
  hub_name: string;
  id: string;
  url: string;
  types: string;
  sealed_secret: string;
  created_at: Int;
  updated_at: Int;
}

export const toSubscription = (r: SubscriptionRow): WebhookSubscription => ({
  hub: r.hub_name,
  id: r.id,
  url: r.url,
  types: typesOf(r.types),
  sealedSecret: r.sealed_secret,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

export interface DeliveryRow {
  id: Int;
  hub_name: string;
  subscription_id: string;
  url: string;
  sealed_secret: string;
  event_pos: string;
  event_type: string;
  event_at: Int;
  event_data: string;
  state: string;
  next_attempt_at: Int | null;
  attempts: string;
  created_at: Int;
}

/** The delivered event, its id given by the adapter's event cursor at `event_pos`. */
export const deliveredEvent = (r: DeliveryRow, eventId: (pos: string, at: number) => string): StoredEvent => ({
  hub: r.hub_name,
  id: eventId(r.event_pos, Number(r.event_at)),
  type: r.event_type,
  time: Number(r.event_at),
  data: JSON.parse(r.event_data) as Record<string, unknown>,
});

export const toDelivery = (r: DeliveryRow, eventId: (pos: string, at: number) => string): WebhookDelivery => ({
  id: String(r.id),
  subscriptionId: r.subscription_id,
  eventId: eventId(r.event_pos, Number(r.event_at)),
  eventType: r.event_type,
  state: r.state as WebhookDelivery['state'],
  ...(r.next_attempt_at === null ? {} : { nextAttemptAt: Number(r.next_attempt_at) }),
  attempts: JSON.parse(r.attempts) as WebhookAttempt[],
  createdAt: Number(r.created_at),
});

/** A delivery claimed by `owner`, with the event to send. */
export const toWebhookJob = (r: DeliveryRow, owner: string, eventId: (pos: string, at: number) => string): WebhookJob => ({
  id: String(r.id),
  hub: r.hub_name,
  subscriptionId: r.subscription_id,
  url: r.url,
  sealedSecret: r.sealed_secret,
  event: deliveredEvent(r, eventId),
  attempts: (JSON.parse(r.attempts) as unknown[]).length,
  createdAt: Number(r.created_at),
  owner,
});

/**
 * A read of the event log: the events, where the next read starts (the last event, else where this one
 * did), whether a full page suggests more, and whether `after` was older than retention (`afterAt`, the
 * time its cursor carries).
 */
export function eventPage(events: StoredEvent[], after: string | undefined, afterAt: number, limit: number, retainedSince: number) {
  return {
    events,
    ...(events.length > 0 ? { next: events[events.length - 1]!.id } : after === undefined ? {} : { next: after }),
    more: events.length === limit,
    reset: after !== undefined && afterAt < retainedSince,
  };
}
