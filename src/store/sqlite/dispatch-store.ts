/**
 * The send pipeline's state in SQLite: notifications, the durable job queue (plan and deliver jobs
 * with leases), per-device outcomes and PNS feedback. Each step of the pipeline is recorded in one
 * transaction, so a crash leaves either the step done or the step to do again.
 */
import type {
  DeliveryResult,
  DeviceOutcomeRecord,
  DispatchJob,
  DispatchStore,
  FeedbackRecord,
  NotificationRecord,
  PlanStep,
  StepRules,
} from '../store.ts';
import type { Installation } from '../../registry/model.ts';
import type { Completion } from '../../queue/queue.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { WriteBatcher } from './write-batcher.ts';
import { tagRows } from './registry-store.ts';
import { cursorCodec } from '../cursor.ts';

/** listOutcomes' cursor: the number of the page's last outcome within its notification (write order). */
const OUTCOME_CURSOR = cursorCodec('s1o', 1);
/** listNotifications' cursor: the last page's enqueue time and how many of that millisecond it showed. */
const NOTIFICATION_CURSOR = cursorCodec('s1n', 2);
import { ownedJob, type EnqueueSignal } from './queue.ts';
import { eventAppender, type EventSignal } from './event-store.ts';
import { stateChanged } from '../../events/model.ts';

interface NotificationRow {
  hub_name: string;
  id: string;
  state: string;
  request: string;
  targets: number;
  pending_jobs: number;
  enqueued_at: number;
  scheduled_at: number | null;
  started_at: number | null;
  ended_at: number | null;
}

const key = (name: string) => name.toLowerCase();

/** Outcomes per device_outcome_batches row (migration 0008); a delivery batch holds at most 1000 targets. */
const OUTCOMES_PER_ROW = 1000;

/** The tuple stored per outcome; `pns` was added later (#14 item 5), so rows written before have seven elements. */
type OutcomeTuple = [registrationId: string | null, handle: string, platform: string, outcome: string, reason: string | null, attempts: number, at: number, pns?: Record<string, string>];

function outcomeTuple(o: DeviceOutcomeRecord): OutcomeTuple {
  const t: OutcomeTuple = [o.registrationId ?? null, o.handle, o.platform, o.outcome, o.reason ?? null, o.attempts, o.at];
  if (o.pns !== undefined) t.push(o.pns);
  return t;
}

function toOutcome(t: OutcomeTuple): DeviceOutcomeRecord {
  return {
    ...(t[0] === null ? {} : { registrationId: t[0] }),
    handle: t[1],
    platform: t[2],
    outcome: t[3],
    ...(t[4] === null ? {} : { reason: t[4] }),
    attempts: t[5],
    at: t[6],
    ...(t[7] === undefined ? {} : { pns: t[7] }),
  };
}

type Counts = Record<string, Record<string, number>>;

function toNotification(r: NotificationRow, counts: Counts): NotificationRecord {
  return {
    hub: r.hub_name,
    id: r.id,
    state: r.state,
    request: JSON.parse(r.request),
    counts,
    targets: r.targets,
    enqueuedAt: r.enqueued_at,
    ...(r.scheduled_at === null ? {} : { scheduledAt: r.scheduled_at }),
    ...(r.started_at === null ? {} : { startedAt: r.started_at }),
    ...(r.ended_at === null ? {} : { endedAt: r.ended_at }),
  };
}

export function sqliteDispatchStore(db: SqliteDatabase, writes: WriteBatcher, enqueued: EnqueueSignal, appended: EventSignal): DispatchStore {
  const appendEvents = eventAppender(db);
  const cols = `h.name AS hub_name, n.id, n.state, n.request, n.targets, n.pending_jobs, n.enqueued_at, n.scheduled_at, n.started_at, n.ended_at`;
  const selectOne = db.prepare(`SELECT ${cols} FROM notifications n JOIN hubs h ON h.name_key = n.hub_key WHERE n.hub_key = ? AND n.id = ?`);
  // Rows of the cursor's millisecond come first in this order, so OFFSET skips exactly those already shown.
  const selectNewest = db.prepare(
    `SELECT ${cols} FROM notifications n JOIN hubs h ON h.name_key = n.hub_key WHERE n.hub_key = ? AND n.enqueued_at <= ? ORDER BY n.enqueued_at DESC, n.id DESC LIMIT ? OFFSET ?`,
  );
  const insertNotification = db.prepare(
    `INSERT INTO notifications (hub_key, id, state, request, targets, pending_jobs, enqueued_at, scheduled_at) VALUES (?, ?, ?, ?, 0, 1, ?, ?)`,
  );
  const insertJob = db.prepare('INSERT INTO dispatch_jobs (hub_key, notification_id, kind, payload, run_at) VALUES (?, ?, ?, ?, ?)');
  const deleteJob = db.prepare('DELETE FROM dispatch_jobs WHERE id = ?');
  const deleteJobsOf = db.prepare('DELETE FROM dispatch_jobs WHERE hub_key = ? AND notification_id = ?');
  // The plan goes back to the queue unclaimed, its cursor moved: any node may take the next page.
  const movePlan = db.prepare('UPDATE dispatch_jobs SET payload = ?, run_at = ?, owner = NULL, leased_until = NULL WHERE id = ?');
  const owned = ownedJob(db);
  const progress = db.prepare('UPDATE notifications SET targets = targets + ?, pending_jobs = pending_jobs + ? WHERE hub_key = ? AND id = ?');
  const state = db.prepare('SELECT targets, pending_jobs, state FROM notifications WHERE hub_key = ? AND id = ?');
  const pending = db.prepare('UPDATE notifications SET pending_jobs = pending_jobs + ? WHERE hub_key = ? AND id = ?');
  // Counts: rows keyed by the job that produced them (migration 0011); a second completion adds nothing.
  const insertCount = db.prepare('INSERT INTO notification_counts (hub_key, notification_id, job_id, platform, outcome, n) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const sumCounts = db.prepare('SELECT platform, outcome, sum(n) AS n FROM notification_counts WHERE hub_key = ? AND notification_id = ? GROUP BY platform, outcome');
  const countsOf = (hubKey: string, id: string): Counts => {
    const counts: Counts = {};
    for (const r of sumCounts.all(hubKey, id) as Array<{ platform: string; outcome: string; n: number }>) (counts[r.platform] ??= {})[r.outcome] = r.n;
    return counts;
  };
  const addCounts = (hubKey: string, id: string, jobId: number, counts: Counts) => {
    for (const [platform, byOutcome] of Object.entries(counts)) {
      for (const [outcome, n] of Object.entries(byOutcome)) if (n !== 0) insertCount.run(hubKey, id, jobId, platform, outcome, n);
    }
  };
  const finish = db.prepare('UPDATE notifications SET state = ?, ended_at = ? WHERE hub_key = ? AND id = ?');
  const cancelOne = db.prepare("UPDATE notifications SET state = 'Cancelled', ended_at = ?, pending_jobs = 0 WHERE hub_key = ? AND id = ? AND state IN ('Scheduled', 'Enqueued') AND started_at IS NULL");
  const lastOutcome = db.prepare(
    'SELECT first_seq + count - 1 AS s FROM device_outcome_batches WHERE hub_key = ? AND notification_id = ? ORDER BY first_seq DESC LIMIT 1',
  );
  const insertOutcomes = db.prepare(
    'INSERT INTO device_outcome_batches (hub_key, notification_id, first_seq, count, kinds, at, outcomes) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const outcomeRows = db.prepare(
    'SELECT first_seq, count, kinds, outcomes FROM device_outcome_batches WHERE hub_key = ? AND notification_id = ? AND first_seq > ? ORDER BY first_seq',
  );
  const insertFeedback = db.prepare(
    'INSERT INTO pns_feedback (hub_key, at, platform, handle, registration_id, installation_id, notification_id, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectFeedback = db.prepare('SELECT at, platform, handle, registration_id, installation_id, notification_id, error FROM pns_feedback WHERE hub_key = ? ORDER BY seq DESC LIMIT ?');
  const oldOutcomes = db.prepare('SELECT hub_key, notification_id, first_seq, count FROM device_outcome_batches WHERE at < ? LIMIT ?');
  const deleteOutcomes = db.prepare('DELETE FROM device_outcome_batches WHERE hub_key = ? AND notification_id = ? AND first_seq = ?');

  /** Ends the notification, in the state the domain decides, if this step left no job of it. */
  const settle = (hubKey: string, id: string, now: number, rules: StepRules): boolean => {
    const s = state.get(hubKey, id) as { targets: number; pending_jobs: number; state: string } | undefined;
    if (!s || s.pending_jobs > 0) return false;
    const counts = countsOf(hubKey, id);
    const to = rules.finalState({ targets: s.targets, counts });
    finish.run(to, now, hubKey, id);
    if (rules.stateChanged && to !== s.state) appendEvents(hubKey, [rules.stateChanged({ id, from: s.state, to, targets: s.targets, counts, at: now })]);
    return rules.stateChanged !== undefined && to !== s.state;
  };

  // A job whose notification is gone (its hub was deleted, perhaps re-created under the same name, or the
  // notification reached its retention) records nothing: its outcomes and feedback would land in whatever
  // now answers to that hub name. Checked in the step's own transaction, so a delete cannot slip between.
  const notificationExists = db.prepare('SELECT 1 FROM notifications WHERE hub_key = ? AND id = ?');
  const orphaned = (job: DispatchJob): boolean => {
    if (notificationExists.get(job.hub, job.notificationId) !== undefined) return false;
    deleteJob.run(job.id);
    return true;
  };

  // planStep and delivery run inside the write batcher's transaction (write-batcher.ts), and may run twice
  // there: everything they decide on is read in it. A job its caller no longer owns (the reset took it back
  // after its lease lapsed, another node claimed it, or it is gone) is refused before anything is written.
  const planStep = (job: DispatchJob, step: PlanStep, rules: StepRules): Completion => {
    if (!owned(job.id, job.owner)) return 'stale';
    if (orphaned(job)) return 'done';
    for (const batch of step.batches) insertJob.run(job.hub, job.notificationId, 'deliver', JSON.stringify(batch), step.now);
    // A large send's slices: plan jobs of their own, pending like its batches (any node may take each).
    const slices = step.slices ?? [];
    for (const slice of slices) insertJob.run(job.hub, job.notificationId, 'plan', JSON.stringify(slice), step.now);
    const done = step.nextCursor === undefined;
    if (done) deleteJob.run(job.id);
    else movePlan.run(JSON.stringify(step.nextCursor), step.now, job.id);
    progress.run(step.targets, step.batches.length + slices.length - (done ? 1 : 0), job.hub, job.notificationId);
    if (settle(job.hub, job.notificationId, step.now, rules)) eventsOf.add(job.hub);
    return 'done';
  };

  const delivery = (job: DispatchJob, r: DeliveryResult, rules: StepRules): Completion => {
    if (!owned(job.id, job.owner)) return 'stale';
    if (orphaned(job)) return 'done';
    let seq = (lastOutcome.get(job.hub, job.notificationId) as { s: number } | undefined)?.s ?? 0;
    for (let i = 0; i < r.outcomes.length; i += OUTCOMES_PER_ROW) {
      const part = r.outcomes.slice(i, i + OUTCOMES_PER_ROW);
      const kinds = new Set<string>();
      let at = 0;
      const rows = part.map((o) => {
        kinds.add(o.outcome);
        at = Math.max(at, o.at);
        return outcomeTuple(o);
      });
      insertOutcomes.run(job.hub, job.notificationId, seq + 1, part.length, `,${[...kinds].join(',')},`, at, JSON.stringify(rows));
      seq += part.length;
    }
    for (const f of r.expired) {
      insertFeedback.run(job.hub, f.at, f.platform, f.handle, f.registrationId ?? null, f.installationId ?? null, f.notificationId ?? null, f.error);
      applyFeedback(job.hub, f, rules);
    }
    addCounts(job.hub, job.notificationId, job.id, r.counts);
    // The batch's events in one statement, in the step's transaction (issue 13 item 1).
    if (r.events && r.events.length > 0) {
      appendEvents(job.hub, r.events);
      eventsOf.add(job.hub);
    }
    deleteJob.run(job.id);
    if (r.retry) insertJob.run(job.hub, job.notificationId, 'deliver', JSON.stringify(r.retry.payload), r.retry.runAt);
    pending.run(r.retry ? 0 : -1, job.hub, job.notificationId);
    if (settle(job.hub, job.notificationId, r.now, rules)) eventsOf.add(job.hub);
    return 'done';
  };
  // Hubs whose events a step appended: their readers hear of them once the batch has committed. A write
  // that ran twice (write-batcher.ts) may add a hub whose events rolled back: a reader then reads nothing new.
  const eventsOf = new Set<string>();
  const announceEvents = () => {
    for (const hub of eventsOf) appended.fire(hub);
    eventsOf.clear();
  };

  // Feedback (issue 10 item 19): applied only where the stored handle is still the dead one. A device that
  // re-registered with a new handle while the push to its old one was in flight keeps its new registration.
  // A dead registration goes; an installation keeps its record, with the dead channel marked expired.
  const deleteRegistration = db.prepare('DELETE FROM registrations WHERE hub_key = ? AND id = ? AND installation_id IS NULL AND handle = ? RETURNING seq, document');
  // The registry's own tag-row removal: an installation's registrations have no rows for system tags.
  const tags = tagRows(db);
  const selectInstallation = db.prepare('SELECT handle, document FROM installations WHERE hub_key = ? AND id = ?');
  const setInstallationDocument = db.prepare('UPDATE installations SET document = ? WHERE hub_key = ? AND id = ?');
  // The installation's registrations that carry the dead handle go (no send reaches them any more); its next
  // PUT or PATCH of that channel materialises them again. A secondary tile's channel is its own handle.
  const deleteInstallationRegs = db.prepare('DELETE FROM registrations WHERE hub_key = ? AND installation_id = ? AND handle = ? RETURNING seq, document');
  const applyFeedback = (hubKey: string, f: FeedbackRecord, rules: StepRules) => {
    if (f.installationId) {
      const inst = selectInstallation.get(hubKey, f.installationId) as { handle: string; document: string } | undefined;
      if (!inst) return;
      for (const row of deleteInstallationRegs.all(hubKey, f.installationId, f.handle) as Array<{ seq: number; document: string }>) tags.remove(hubKey, row.seq, row.document, f.installationId);
      const expired = rules.expireChannel(JSON.parse(inst.document) as Installation, inst.handle, f.handle);
      if (expired) setInstallationDocument.run(JSON.stringify(expired), hubKey, f.installationId);
    } else if (f.registrationId) {
      const row = deleteRegistration.get(hubKey, f.registrationId, f.handle) as { seq: number; document: string } | undefined;
      if (row) tags.remove(hubKey, row.seq, row.document, null);
    }
  };

  // Secure payloads (migration 0010) and retention: a notification's delete cascades to its payload.
  const upsertBackoff = db.prepare(
    'INSERT INTO pns_backoff (hub_key, platform, until) VALUES (?, ?, ?) ON CONFLICT (hub_key, platform) DO UPDATE SET until = max(pns_backoff.until, excluded.until)',
  );
  const selectBackoff = db.prepare('SELECT until FROM pns_backoff WHERE hub_key = ? AND platform = ? AND until > ?');
  const selectIdempotencyKey = db.prepare('SELECT notification_id FROM idempotency_keys WHERE hub_key = ? AND key = ? AND expires_at > ?');
  const upsertIdempotencyKey = db.prepare(
    `INSERT INTO idempotency_keys (hub_key, key, notification_id, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (hub_key, key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at`,
  );
  const pruneIdempotencyKeys = db.prepare(
    'DELETE FROM idempotency_keys WHERE (hub_key, key) IN (SELECT hub_key, key FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)',
  );
  const insertSecure = db.prepare('INSERT INTO secure_payloads (hub_key, notification_id, sealed, expires_at) VALUES (?, ?, ?, ?)');
  const selectSecure = db.prepare('SELECT sealed FROM secure_payloads WHERE hub_key = ? AND notification_id = ? AND expires_at > ?');
  const purgeSecure = db.prepare('DELETE FROM secure_payloads WHERE (hub_key, notification_id) IN (SELECT hub_key, notification_id FROM secure_payloads WHERE expires_at <= ? LIMIT ?)');
  const endedBefore = db.prepare('SELECT hub_key, id FROM notifications WHERE ended_at < ? LIMIT ?');
  const deleteNotificationRows = ['device_outcome_batches', 'secure_reads', 'dispatch_jobs'].map((t) => db.prepare(`DELETE FROM ${t} WHERE hub_key = ? AND notification_id = ?`));
  const deleteNotification = db.prepare('DELETE FROM notifications WHERE hub_key = ? AND id = ?');
  const oldFeedback = db.prepare('DELETE FROM pns_feedback WHERE seq IN (SELECT seq FROM pns_feedback WHERE at < ? LIMIT ?)');

  return {
    createNotification: async (n, first, secure, idempotency) => {
      const id = await writes.run(() => {
        if (idempotency) {
          const earlier = selectIdempotencyKey.get(key(n.hub), idempotency.key, idempotency.now) as { notification_id: string } | undefined;
          if (earlier) return earlier.notification_id;
          upsertIdempotencyKey.run(key(n.hub), idempotency.key, n.id, idempotency.expiresAt);
        }
        insertNotification.run(key(n.hub), n.id, n.state, JSON.stringify(n.request), n.enqueuedAt, n.scheduledAt ?? null);
        addCounts(key(n.hub), n.id, 0, n.counts);
        insertJob.run(key(n.hub), n.id, first.kind, JSON.stringify(first.payload), first.runAt);
        if (secure) insertSecure.run(key(n.hub), n.id, secure.sealed, secure.expiresAt);
        return n.id;
      });
      if (id === n.id) enqueued.fire();
      return id;
    },
    pruneIdempotencyKeys: (now, limit) => writes.run(() => pruneIdempotencyKeys.run(now, limit).changes),
    setPnsBackoff: (hub, platform, until) =>
      writes.run(() => {
        upsertBackoff.run(key(hub), platform, until);
      }),
    pnsBackoffUntil: async (hub, platform, now) => (selectBackoff.get(key(hub), platform, now) as { until: number } | undefined)?.until,
    securePayload: async (hub, id, now) => (selectSecure.get(key(hub), id, now) as { sealed: string } | undefined)?.sealed,
    purgeSecurePayloads: (now, limit) => writes.run(() => purgeSecure.run(now, limit).changes),
    pruneNotifications: (before, limit) =>
      writes.run(() => {
        const rows = endedBefore.all(before, limit) as Array<{ hub_key: string; id: string }>;
        for (const r of rows) {
          for (const d of deleteNotificationRows) d.run(r.hub_key, r.id);
          deleteNotification.run(r.hub_key, r.id);
        }
        oldFeedback.run(before, limit);
        return rows.length;
      }),
    getNotification: async (hub, id) => {
      const row = selectOne.get(key(hub), id) as NotificationRow | undefined;
      return row && toNotification(row, countsOf(key(hub), id));
    },
    listNotifications: async (hub, page) => {
      const [before, skip] = page.after === undefined ? [Number.MAX_SAFE_INTEGER, 0] : (NOTIFICATION_CURSOR.decode(page.after) as [number, number]);
      const rows = selectNewest.all(key(hub), before, page.limit + 1, skip) as NotificationRow[];
      const items = rows.slice(0, page.limit).map((r) => toNotification(r, countsOf(key(hub), r.id)));
      const last = items[items.length - 1];
      if (rows.length <= page.limit || !last) return { items };
      const sameMs = items.filter((n) => n.enqueuedAt === last.enqueuedAt).length + (last.enqueuedAt === before ? skip : 0);
      return { items, next: NOTIFICATION_CURSOR.encode(last.enqueuedAt, sameMs) };
    },
    cancel: async (hub, id, now) => {
      const answer = db.transaction(() => {
        const row = selectOne.get(key(hub), id) as NotificationRow | undefined;
        if (!row) return 'not_found' as const;
        if (cancelOne.run(now, key(hub), id).changes === 0) return 'started' as const;
        deleteJobsOf.run(key(hub), id);
        appendEvents(key(hub), [stateChanged({ id, from: row.state, to: 'Cancelled', targets: 0, counts: {}, at: now })]);
        return 'cancelled' as const;
      }).immediate();
      if (answer === 'cancelled') appended.fire(key(hub));
      return answer;
    },
    wasDelivered: async (hub, notificationId, ids, since = 0) => {
      if (ids.length === 0) return false;
      const wanted = new Set(ids);
      for (const row of outcomeRows.iterate(key(hub), notificationId, 0) as IterableIterator<{ kinds: string; outcomes: string }>) {
        if (!row.kinds.includes(',Success,')) continue;
        for (const t of JSON.parse(row.outcomes) as OutcomeTuple[]) if (t[3] === 'Success' && t[0] !== null && t[6] >= since && wanted.has(t[0])) return true;
      }
      return false;
    },
    recordSecureRead: async (hub, notificationId, installationId, at) => {
      db.prepare('INSERT INTO secure_reads (hub_key, notification_id, installation_id, at) VALUES (?, ?, ?, ?)').run(key(hub), notificationId, installationId, at);
    },
    listSecureReads: async (hub, notificationId) =>
      (db.prepare('SELECT installation_id, at FROM secure_reads WHERE hub_key = ? AND notification_id = ? ORDER BY at').all(key(hub), notificationId) as Array<{ installation_id: string; at: number }>).map((r) => ({ installationId: r.installation_id, at: r.at })),
    finishPlanStep: async (job, step, rules) => {
      const done = await writes.run(() => planStep(job, step, rules)).finally(announceEvents);
      // The batches, and the plan's next page, are runnable now.
      if (done === 'done' && (step.batches.length > 0 || step.nextCursor !== undefined || (step.slices?.length ?? 0) > 0)) enqueued.fire();
      return done;
    },
    finishDelivery: async (job, result, rules) => {
      const done = await writes.run(() => delivery(job, result, rules)).finally(announceEvents);
      if (done === 'done' && result.retry) enqueued.fire();
      return done;
    },
    listOutcomes: async (hub, notificationId, filter, page) => {
      // Rows start at most OUTCOMES_PER_ROW before the cursor's outcome: reading from there finds its row.
      const after = page.after === undefined ? 0 : OUTCOME_CURSOR.decode(page.after)[0]!;
      const items: Array<DeviceOutcomeRecord & { seq: number }> = [];
      const wanted = filter.outcome === undefined ? undefined : `,${filter.outcome},`;
      for (const row of outcomeRows.iterate(key(hub), notificationId, after - OUTCOMES_PER_ROW) as IterableIterator<{ first_seq: number; count: number; kinds: string; outcomes: string }>) {
        if (row.first_seq + row.count - 1 <= after) continue;
        if (wanted !== undefined && !row.kinds.includes(wanted)) continue;
        const tuples = JSON.parse(row.outcomes) as OutcomeTuple[];
        for (let i = 0; i < tuples.length && items.length <= page.limit; i++) {
          const seq = row.first_seq + i;
          if (seq <= after || (filter.outcome !== undefined && tuples[i]![3] !== filter.outcome)) continue;
          items.push({ ...toOutcome(tuples[i]!), seq });
        }
        if (items.length > page.limit) break;
      }
      const more = items.length > page.limit;
      const shown = items.slice(0, page.limit).map(({ seq: _seq, ...o }) => o);
      return more ? { items: shown, next: OUTCOME_CURSOR.encode(items[page.limit - 1]!.seq) } : { items: shown };
    },
    listFeedback: async (hub, limit) =>
      (selectFeedback.all(key(hub), limit) as Array<{ at: number; platform: string; handle: string; registration_id: string | null; installation_id: string | null; notification_id: string | null; error: string }>).map((r) => ({
        at: r.at,
        platform: r.platform,
        handle: r.handle,
        ...(r.registration_id === null ? {} : { registrationId: r.registration_id }),
        ...(r.installation_id === null ? {} : { installationId: r.installation_id }),
        ...(r.notification_id === null ? {} : { notificationId: r.notification_id }),
        error: r.error,
      })),
    pruneOutcomes: async (before, limit) =>
      db.transaction(() => {
        // `limit` counts rows of up to OUTCOMES_PER_ROW outcomes; the answer counts outcomes.
        const rows = oldOutcomes.all(before, Math.max(1, Math.ceil(limit / OUTCOMES_PER_ROW))) as Array<{ hub_key: string; notification_id: string; first_seq: number; count: number }>;
        let n = 0;
        for (const r of rows) {
          deleteOutcomes.run(r.hub_key, r.notification_id, r.first_seq);
          n += r.count;
        }
        return n;
      })(),
  };
}
