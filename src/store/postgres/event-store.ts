/**
 * The hub's event log and webhook deliveries in PostgreSQL (migration 0008). Events are appended inside
 * the transaction of the write they describe (`appendEvents`) with one statement per batch; a statement
 * trigger NOTIFYs the hub (heard by every node on commit) and fans the events out to webhook deliveries.
 *
 * Order: many nodes commit at once, so a reader orders by (xid, seq) and reads only events of transactions
 * older than every transaction still running (xid below its snapshot's xmin). Those have all ended, so a
 * position a reader has passed never gets an event committed behind it.
 */
import { cursorCodec } from '../cursor.ts';
import type { EventStore, NewEvent, Page, StoredEvent, WebhookDelivery, WebhookStore } from '../store.ts';
import { inTransaction, type PgPool, type PgQueryable } from './pg-database.ts';
import { eventPage, toWebhookJob, toDelivery, toSubscription, typesColumn, type DeliveryRow, type SubscriptionRow } from '../event-rows.ts';

/** An event's id and position: (xid, seq) and its time (to tell a position older than retention). */
const EVENT_CURSOR = cursorCodec('p1e', 3);
const DELIVERY_CURSOR = cursorCodec('p1w', 1);
/** The NOTIFY channel of appended events (the trigger of migration 0008 sends the hub's key). */
export const EVENTS_CHANNEL = 'herald_events';

const key = (name: string) => name.toLowerCase();

/** Appends events of one hub inside the caller's transaction: one INSERT for the whole batch. */
export async function appendEvents(db: PgQueryable, hubKey: string, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    'INSERT INTO events (hub_key, type, at, data) SELECT $1, t, a, d FROM unnest($2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS x(t, a, d, o) ORDER BY o',
    [hubKey, events.map((e) => e.type), events.map((e) => e.time), events.map((e) => JSON.stringify(e.data))],
  );
}

interface EventRow {
  xid: string;
  seq: string;
  hub_name: string;
  type: string;
  at: string;
  data: string;
}

const toEvent = (r: EventRow): StoredEvent => ({ hub: r.hub_name, id: EVENT_CURSOR.encode(Number(r.xid), Number(r.seq), Number(r.at)), type: r.type, time: Number(r.at), data: JSON.parse(r.data) as Record<string, unknown> });

export function postgresEventStore(pool: PgPool, listeners: Set<(hub: string) => void>): EventStore {
  return {
    append: (hub, events) => inTransaction(pool, (db) => appendEvents(db, key(hub), events)),
    read: async (hub, after, options) => {
      const [xid, seq, at] = after === undefined ? [0, 0, Number.MAX_SAFE_INTEGER] : (EVENT_CURSOR.decode(after) as [number, number, number]);
      const { rows } = await pool.query<EventRow>(
        `SELECT e.xid::text AS xid, e.seq, h.name AS hub_name, e.type, e.at, e.data FROM events e JOIN hubs h ON h.name_key = e.hub_key
         WHERE e.hub_key = $1 AND (e.xid, e.seq) > ($2::text::xid8, $3::bigint) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
           ${options.types ? 'AND e.type = ANY($5::text[])' : ''}
         ORDER BY e.xid, e.seq LIMIT $4`,
        [key(hub), String(xid), seq, options.limit, ...(options.types ? [options.types] : [])],
      );
      return eventPage(rows.map(toEvent), after, at, options.limit, options.retainedSince);
    },
    // Every transaction below the snapshot's xmin has ended: what they wrote is the past.
    head: async (_hub, now) => {
      const { rows } = await pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
      return EVENT_CURSOR.encode(Number(rows[0]!.xmin), 0, now);
    },
    // Hub by hub, on the index led by the hub (as the other retention deletes).
    purge: async (before, limit) => {
      const { rowCount } = await pool.query(
        `DELETE FROM events e USING (SELECT h.name_key, x.xid, x.seq FROM hubs h CROSS JOIN LATERAL (SELECT xid, seq FROM events WHERE hub_key = h.name_key AND at < $1 LIMIT $2) x LIMIT $2) old
         WHERE e.hub_key = old.name_key AND e.xid = old.xid AND e.seq = old.seq`,
        [before, limit],
      );
      return rowCount ?? 0;
    },
    onAppend: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}


/** A delivery's event id: its position `xid.seq` and time, as EVENT_CURSOR has them. */
const eventIdAt = (pos: string, at: number): string => {
  const [xid, seq] = pos.split('.').map(Number) as [number, number];
  return EVENT_CURSOR.encode(xid, seq, at);
};

const SUB_COLS = 'h.name AS hub_name, s.id, s.url, s.types, s.sealed_secret, s.created_at, s.updated_at';
const DELIVERY_COLS = 'd.id::text AS id, h.name AS hub_name, d.subscription_id, s.url, s.sealed_secret, d.event_pos, d.event_type, d.event_at, d.event_data, d.state, d.next_attempt_at, d.attempts, d.created_at';
const DELIVERY_FROM = 'webhook_deliveries d JOIN webhook_subscriptions s ON s.hub_key = d.hub_key AND s.id = d.subscription_id JOIN hubs h ON h.name_key = d.hub_key';

export function postgresWebhookStore(pool: PgPool): WebhookStore {
  const selectOne = async (db: PgQueryable, hub: string, id: string) =>
    (await db.query<SubscriptionRow>(`SELECT ${SUB_COLS} FROM webhook_subscriptions s JOIN hubs h ON h.name_key = s.hub_key WHERE s.hub_key = $1 AND s.id = $2`, [key(hub), id])).rows[0];
  return {
    create: async (sub) => {
      await pool.query('INSERT INTO webhook_subscriptions (hub_key, id, url, types, sealed_secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        key(sub.hub),
        sub.id,
        sub.url,
        typesColumn(sub.types),
        sub.sealedSecret,
        sub.createdAt,
        sub.updatedAt,
      ]);
    },
    get: async (hub, id) => {
      const row = await selectOne(pool, hub, id);
      return row && toSubscription(row);
    },
    list: async (hub) =>
      (await pool.query<SubscriptionRow>(`SELECT ${SUB_COLS} FROM webhook_subscriptions s JOIN hubs h ON h.name_key = s.hub_key WHERE s.hub_key = $1 ORDER BY s.created_at, s.id`, [key(hub)])).rows.map(toSubscription),
    update: (hub, id, changes, now) =>
      inTransaction(pool, async (db) => {
        const { rowCount } = await db.query('UPDATE webhook_subscriptions SET url = coalesce($1, url), types = coalesce($2, types), updated_at = $3 WHERE hub_key = $4 AND id = $5', [
          changes.url ?? null,
          changes.types ? typesColumn(changes.types) : null,
          now,
          key(hub),
          id,
        ]);
        if (!rowCount) return undefined;
        return toSubscription((await selectOne(db, hub, id))!);
      }),
    delete: async (hub, id) => ((await pool.query('DELETE FROM webhook_subscriptions WHERE hub_key = $1 AND id = $2', [key(hub), id])).rowCount ?? 0) > 0,
    // Hub by hub on each hub's due index; SKIP LOCKED: concurrent claims of many nodes take disjoint deliveries.
    claim: async (owner, now, limit, leaseMs) => {
      const { rows } = await pool.query<DeliveryRow>(
        `WITH c AS (
           UPDATE webhook_deliveries SET owner = $1, leased_until = $2 + $4::bigint
           WHERE (hub_key, id) IN (
             SELECT d.hub_key, d.id FROM hubs h CROSS JOIN LATERAL (
               SELECT hub_key, id FROM webhook_deliveries WHERE hub_key = h.name_key AND state = 'pending' AND next_attempt_at <= $2 AND (owner IS NULL OR leased_until < $2)
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) d
             LIMIT $3)
           RETURNING *)
         SELECT ${DELIVERY_COLS} FROM c d JOIN webhook_subscriptions s ON s.hub_key = d.hub_key AND s.id = d.subscription_id JOIN hubs h ON h.name_key = d.hub_key`,
        [owner, now, limit, leaseMs],
      );
      return rows.map((r) => toWebhookJob(r, owner, eventIdAt));
    },
    recordAttempt: async (job, attempt, next) => {
      const { rowCount } = await pool.query(
        `UPDATE webhook_deliveries SET attempts = (attempts::jsonb || $3::jsonb)::text, state = $4, next_attempt_at = $5, owner = NULL, leased_until = NULL
         WHERE hub_key = $6 AND id = $1 AND owner = $2 AND state = 'pending'`,
        [job.id, job.owner, JSON.stringify([attempt]), 'retryAt' in next ? 'pending' : next.final, 'retryAt' in next ? next.retryAt : null, key(job.hub)],
      );
      return (rowCount ?? 0) > 0;
    },
    nextDueAt: async () => {
      const { rows } = await pool.query<{ t: string | null }>(
        "SELECT min(d.t) AS t FROM hubs h CROSS JOIN LATERAL (SELECT min(next_attempt_at) AS t FROM webhook_deliveries WHERE hub_key = h.name_key AND state = 'pending') d",
      );
      return rows[0]?.t == null ? undefined : Number(rows[0].t);
    },
    deliveries: async (hub, subscriptionId, request): Promise<Page<WebhookDelivery>> => {
      const before = request.after === undefined ? Number.MAX_SAFE_INTEGER : DELIVERY_CURSOR.decode(request.after)[0]!;
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLS} FROM ${DELIVERY_FROM} WHERE d.hub_key = $1 AND d.subscription_id = $2 AND d.id < $3 ORDER BY d.id DESC LIMIT $4`,
        [key(hub), subscriptionId, before, request.limit + 1],
      );
      const items = rows.slice(0, request.limit).map((r) => toDelivery(r, eventIdAt));
      return rows.length > request.limit ? { items, next: DELIVERY_CURSOR.encode(Number(rows[request.limit - 1]!.id)) } : { items };
    },
  };
}
