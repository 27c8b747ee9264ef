/**
 * The hub's event log and webhook deliveries in SQLite (migration 0014). Events are appended inside the
 * transaction of the write they describe (`eventAppender`, used by the step commits and registry writes),
 * with one statement per batch; a trigger fans each event out to the hub's webhook subscriptions. One
 * process owns the file, so readers hear of new events in process, after the commit (EventSignal).
 */
import { cursorCodec } from '../cursor.ts';
import type { EventStore, NewEvent, Page, StoredEvent, WebhookAttempt, WebhookDelivery, WebhookStore } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { WriteBatcher } from './write-batcher.ts';
import { eventPage, toWebhookJob, toDelivery, toSubscription, typesColumn, type DeliveryRow, type SubscriptionRow } from '../event-rows.ts';

/** An event's id and position: its seq (commit order) and time (to tell a position older than retention). */
const EVENT_CURSOR = cursorCodec('s1e', 2);
/** A deliveries page's cursor: the last delivery's id (newest first). */
const DELIVERY_CURSOR = cursorCodec('s1w', 1);

const key = (name: string) => name.toLowerCase();

/** Tells readers, in process, that a hub's events were committed. */
export class EventSignal {
  private readonly listeners = new Set<(hub: string) => void>();
  on(listener: (hub: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  fire(hub: string): void {
    for (const l of [...this.listeners]) {
      try {
        l(hub);
      } catch {
        // a reader's own failure; the others still hear
      }
    }
  }
}

/** Appends events of one hub inside the caller's transaction: one INSERT for the whole batch. */
export function eventAppender(db: SqliteDatabase): (hubKey: string, events: readonly NewEvent[]) => void {
  const insert = db.prepare(
    "INSERT INTO events (hub_key, type, at, data) SELECT ?, j.value ->> '$[0]', j.value ->> '$[1]', j.value ->> '$[2]' FROM json_each(?) j ORDER BY j.key",
  );
  return (hubKey, events) => {
    if (events.length === 0) return;
    insert.run(hubKey, JSON.stringify(events.map((e) => [e.type, e.time, JSON.stringify(e.data)])));
  };
}

interface EventRow {
  seq: number;
  hub_name: string;
  type: string;
  at: number;
  data: string;
}

const toEvent = (r: EventRow): StoredEvent => ({ hub: r.hub_name, id: EVENT_CURSOR.encode(r.seq, r.at), type: r.type, time: r.at, data: JSON.parse(r.data) as Record<string, unknown> });

export function sqliteEventStore(db: SqliteDatabase, writes: WriteBatcher, signal: EventSignal): EventStore {
  const append = eventAppender(db);
  const select = (typed: boolean) =>
    db.prepare(
      `SELECT e.seq, h.name AS hub_name, e.type, e.at, e.data FROM events e JOIN hubs h ON h.name_key = e.hub_key
       WHERE e.hub_key = ? AND e.seq > ? ${typed ? 'AND e.type IN (SELECT value FROM json_each(?))' : ''} ORDER BY e.seq LIMIT ?`,
    );
  const all = select(false);
  const typed = select(true);
  const last = db.prepare('SELECT max(seq) AS s FROM events WHERE hub_key = ?');
  const purge = db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? LIMIT ?)');
  return {
    append: async (hub, events) => {
      if (events.length === 0) return;
      await writes.run(() => append(key(hub), events));
      signal.fire(key(hub));
    },
    read: async (hub, after, options) => {
      const [seq, at] = after === undefined ? [0, Number.MAX_SAFE_INTEGER] : (EVENT_CURSOR.decode(after) as [number, number]);
      const rows = (options.types ? typed.all(key(hub), seq, JSON.stringify(options.types), options.limit) : all.all(key(hub), seq, options.limit)) as EventRow[];
      return eventPage(rows.map(toEvent), after, at, options.limit, options.retainedSince);
    },
    head: async (hub, now) => EVENT_CURSOR.encode((last.get(key(hub)) as { s: number | null }).s ?? 0, now),
    purge: (before, limit) => writes.run(() => purge.run(before, limit).changes),
    onAppend: (listener) => signal.on(listener),
  };
}


/** A delivery's event id: its position (the event's seq) and time, as EVENT_CURSOR has them. */
const eventIdAt = (pos: string, at: number): string => EVENT_CURSOR.encode(Number(pos), at);

export function sqliteWebhookStore(db: SqliteDatabase, writes: WriteBatcher): WebhookStore {
  const subCols = 'h.name AS hub_name, s.id, s.url, s.types, s.sealed_secret, s.created_at, s.updated_at';
  const insert = db.prepare('INSERT INTO webhook_subscriptions (hub_key, id, url, types, sealed_secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const selectOne = db.prepare(`SELECT ${subCols} FROM webhook_subscriptions s JOIN hubs h ON h.name_key = s.hub_key WHERE s.hub_key = ? AND s.id = ?`);
  const selectAll = db.prepare(`SELECT ${subCols} FROM webhook_subscriptions s JOIN hubs h ON h.name_key = s.hub_key WHERE s.hub_key = ? ORDER BY s.created_at, s.id`);
  const update = db.prepare('UPDATE webhook_subscriptions SET url = coalesce(?, url), types = coalesce(?, types), updated_at = ? WHERE hub_key = ? AND id = ?');
  const remove = db.prepare('DELETE FROM webhook_subscriptions WHERE hub_key = ? AND id = ?');
  const deliveryCols = `d.id, h.name AS hub_name, d.subscription_id, s.url, s.sealed_secret, d.event_pos, d.event_type, d.event_at, d.event_data, d.state, d.next_attempt_at, d.attempts, d.created_at`;
  const due = db.prepare(
    `SELECT ${deliveryCols} FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.hub_key = d.hub_key AND s.id = d.subscription_id JOIN hubs h ON h.name_key = d.hub_key
     WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.owner IS NULL OR d.leased_until < ?) ORDER BY d.next_attempt_at LIMIT ?`,
  );
  const lease = db.prepare('UPDATE webhook_deliveries SET owner = ?, leased_until = ? WHERE id = ?');
  const owned = db.prepare("SELECT attempts FROM webhook_deliveries WHERE id = ? AND owner = ? AND state = 'pending'");
  const record = db.prepare('UPDATE webhook_deliveries SET attempts = ?, state = ?, next_attempt_at = ?, owner = NULL, leased_until = NULL WHERE id = ?');
  const nextDue = db.prepare("SELECT min(next_attempt_at) AS t FROM webhook_deliveries WHERE state = 'pending'");
  const page = db.prepare(
    `SELECT ${deliveryCols} FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.hub_key = d.hub_key AND s.id = d.subscription_id JOIN hubs h ON h.name_key = d.hub_key
     WHERE d.hub_key = ? AND d.subscription_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`,
  );
  return {
    create: (sub) =>
      writes.run(() => {
        insert.run(key(sub.hub), sub.id, sub.url, typesColumn(sub.types), sub.sealedSecret, sub.createdAt, sub.updatedAt);
      }),
    get: async (hub, id) => {
      const row = selectOne.get(key(hub), id) as SubscriptionRow | undefined;
      return row && toSubscription(row);
    },
    list: async (hub) => (selectAll.all(key(hub)) as SubscriptionRow[]).map(toSubscription),
    update: (hub, id, changes, now) =>
      writes.run(() => {
        if (update.run(changes.url ?? null, changes.types ? typesColumn(changes.types) : null, now, key(hub), id).changes === 0) return undefined;
        return toSubscription(selectOne.get(key(hub), id) as SubscriptionRow);
      }),
    delete: (hub, id) => writes.run(() => remove.run(key(hub), id).changes > 0),
    claim: (owner, now, limit, leaseMs) =>
      writes.run(() =>
        (due.all(now, now, limit) as DeliveryRow[]).map((r) => {
          lease.run(owner, now + leaseMs, r.id);
          return toWebhookJob(r, owner, eventIdAt);
        }),
      ),
    recordAttempt: (job, attempt, next) =>
      writes.run(() => {
        const row = owned.get(Number(job.id), job.owner) as { attempts: string } | undefined;
        if (!row) return false;
        const attempts = [...(JSON.parse(row.attempts) as WebhookAttempt[]), attempt];
        if ('retryAt' in next) record.run(JSON.stringify(attempts), 'pending', next.retryAt, Number(job.id));
        else record.run(JSON.stringify(attempts), next.final, null, Number(job.id));
        return true;
      }),
    nextDueAt: async () => (nextDue.get() as { t: number | null }).t ?? undefined,
    deliveries: async (hub, subscriptionId, request): Promise<Page<WebhookDelivery>> => {
      const before = request.after === undefined ? Number.MAX_SAFE_INTEGER : DELIVERY_CURSOR.decode(request.after)[0]!;
      const rows = page.all(key(hub), subscriptionId, before, request.limit + 1) as DeliveryRow[];
      const items = rows.slice(0, request.limit).map((r) => toDelivery(r, eventIdAt));
      return rows.length > request.limit ? { items, next: DELIVERY_CURSOR.encode(Number(rows[request.limit - 1]!.id)) } : { items };
    },
  };
}

