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
} from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import type { WriteBatcher } from './write-batcher.ts';

interface NotificationRow {
  hub_name: string;
  id: string;
  state: string;
  request: string;
  counts: string;
  targets: number;
  pending_jobs: number;
  enqueued_at: number;
  scheduled_at: number | null;
  started_at: number | null;
  ended_at: number | null;
}

const key = (name: string) => name.toLowerCase();

function toNotification(r: NotificationRow): NotificationRecord {
  return {
    hub: r.hub_name,
    id: r.id,
    state: r.state,
    request: JSON.parse(r.request),
    counts: JSON.parse(r.counts),
    targets: r.targets,
    enqueuedAt: r.enqueued_at,
    ...(r.scheduled_at === null ? {} : { scheduledAt: r.scheduled_at }),
    ...(r.started_at === null ? {} : { startedAt: r.started_at }),
    ...(r.ended_at === null ? {} : { endedAt: r.ended_at }),
  };
}

function addCounts(into: Record<string, Record<string, number>>, delta: Record<string, Record<string, number>>): void {
  for (const [platform, outcomes] of Object.entries(delta)) {
    const p = (into[platform] ??= {});
    for (const [name, n] of Object.entries(outcomes)) p[name] = (p[name] ?? 0) + n;
  }
}

/** The state a notification ends in once no job of it is left (wire spec §9 states). */
function finalState(n: { targets: number; counts: Record<string, Record<string, number>> }): string {
  if (n.targets === 0) return 'NoTargetFound';
  let total = 0;
  let abandoned = 0;
  for (const outcomes of Object.values(n.counts)) {
    for (const [name, count] of Object.entries(outcomes)) {
      total += count;
      if (name === 'AbandonedNotificationMessages') abandoned += count;
    }
  }
  return total > 0 && abandoned === total ? 'Abandoned' : 'Completed';
}

export function sqliteDispatchStore(db: SqliteDatabase, writes: WriteBatcher): DispatchStore {
  const cols = `h.name AS hub_name, n.id, n.state, n.request, n.counts, n.targets, n.pending_jobs, n.enqueued_at, n.scheduled_at, n.started_at, n.ended_at`;
  const selectOne = db.prepare(`SELECT ${cols} FROM notifications n JOIN hubs h ON h.name_key = n.hub_key WHERE n.hub_key = ? AND n.id = ?`);
  const insertNotification = db.prepare(
    `INSERT INTO notifications (hub_key, id, state, request, counts, targets, pending_jobs, enqueued_at, scheduled_at) VALUES (?, ?, ?, ?, ?, 0, 1, ?, ?)`,
  );
  const insertJob = db.prepare('INSERT INTO dispatch_jobs (hub_key, notification_id, kind, payload, run_at) VALUES (?, ?, ?, ?, ?)');
  const runnable = db.prepare(
    'SELECT id, hub_key, notification_id, kind, payload, attempt, run_at, leased_until FROM dispatch_jobs WHERE run_at <= ? AND (leased_until IS NULL OR leased_until < ?) ORDER BY run_at, id LIMIT ?',
  );
  const lease = db.prepare('UPDATE dispatch_jobs SET leased_until = ?, attempt = attempt + ? WHERE id = ?');
  const next = db.prepare('SELECT min(coalesce(max(run_at, leased_until), run_at)) AS t FROM dispatch_jobs');
  const deleteJob = db.prepare('DELETE FROM dispatch_jobs WHERE id = ?');
  const deleteJobsOf = db.prepare('DELETE FROM dispatch_jobs WHERE hub_key = ? AND notification_id = ?');
  const movePlan = db.prepare('UPDATE dispatch_jobs SET payload = ?, run_at = ?, leased_until = NULL WHERE id = ?');
  const started = db.prepare(
    "UPDATE notifications SET state = 'Processing', started_at = coalesce(started_at, ?) WHERE hub_key = ? AND id = ? AND state IN ('Enqueued', 'Scheduled')",
  );
  const progress = db.prepare('UPDATE notifications SET targets = targets + ?, pending_jobs = pending_jobs + ? WHERE hub_key = ? AND id = ?');
  const state = db.prepare('SELECT targets, pending_jobs, counts FROM notifications WHERE hub_key = ? AND id = ?');
  const setCounts = db.prepare('UPDATE notifications SET counts = ?, pending_jobs = pending_jobs + ? WHERE hub_key = ? AND id = ?');
  const finish = db.prepare('UPDATE notifications SET state = ?, ended_at = ? WHERE hub_key = ? AND id = ?');
  const cancelOne = db.prepare("UPDATE notifications SET state = 'Cancelled', ended_at = ?, pending_jobs = 0 WHERE hub_key = ? AND id = ? AND state IN ('Scheduled', 'Enqueued') AND started_at IS NULL");
  const lastOutcome = db.prepare('SELECT coalesce(max(seq), 0) AS s FROM device_outcomes WHERE hub_key = ? AND notification_id = ?');
  const insertOutcome = db.prepare(
    'INSERT INTO device_outcomes (hub_key, notification_id, seq, registration_id, handle, platform, outcome, reason, attempts, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertFeedback = db.prepare(
    'INSERT INTO pns_feedback (hub_key, at, platform, handle, registration_id, installation_id, notification_id, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectFeedback = db.prepare('SELECT at, platform, handle, registration_id, installation_id, notification_id, error FROM pns_feedback WHERE hub_key = ? ORDER BY seq DESC LIMIT ?');
  const oldOutcomes = db.prepare('SELECT hub_key, notification_id, seq FROM device_outcomes WHERE at < ? LIMIT ?');
  const deleteOutcome = db.prepare('DELETE FROM device_outcomes WHERE hub_key = ? AND notification_id = ? AND seq = ?');

  /** Ends the notification if this step left no job of it. */
  const settle = (hubKey: string, id: string, now: number) => {
    const s = state.get(hubKey, id) as { targets: number; pending_jobs: number; counts: string } | undefined;
    if (s && s.pending_jobs <= 0) finish.run(finalState({ targets: s.targets, counts: JSON.parse(s.counts) }), now, hubKey, id);
  };

  const claim = db.transaction((now: number, limit: number, leaseMs: number): DispatchJob[] => {
    const rows = runnable.all(now, now, limit) as Array<{ id: number; hub_key: string; notification_id: string; kind: 'plan' | 'deliver'; payload: string; attempt: number; run_at: number; leased_until: number | null }>;
    return rows.map((r) => {
      // A job claimed again after its lease ran out: its process died while running it.
      const retaken = r.leased_until === null ? 0 : 1;
      lease.run(now + leaseMs, retaken, r.id);
      // The first job of a notification to run (a plan, or a direct send's batch) starts it.
      started.run(now, r.hub_key, r.notification_id);
      return { id: r.id, hub: r.hub_key, notificationId: r.notification_id, kind: r.kind, payload: JSON.parse(r.payload), attempt: r.attempt + retaken, runAt: r.run_at };
    });
  });

  // planStep and delivery run inside the write batcher's transaction (write-batcher.ts).
  const planStep = (job: DispatchJob, step: PlanStep) => {
    for (const batch of step.batches) insertJob.run(job.hub, job.notificationId, 'deliver', JSON.stringify(batch), step.now);
    const done = step.nextCursor === undefined;
    if (done) deleteJob.run(job.id);
    else movePlan.run(JSON.stringify(step.nextCursor), step.now, job.id);
    progress.run(step.targets, step.batches.length - (done ? 1 : 0), job.hub, job.notificationId);
    settle(job.hub, job.notificationId, step.now);
  };

  const delivery = (job: DispatchJob, r: DeliveryResult, applyFeedback: (f: FeedbackRecord) => void) => {
    let seq = (lastOutcome.get(job.hub, job.notificationId) as { s: number }).s;
    for (const o of r.outcomes) {
      insertOutcome.run(job.hub, job.notificationId, ++seq, o.registrationId ?? null, o.handle, o.platform, o.outcome, o.reason ?? null, o.attempts, o.at);
    }
    for (const f of r.expired) {
      insertFeedback.run(job.hub, f.at, f.platform, f.handle, f.registrationId ?? null, f.installationId ?? null, f.notificationId ?? null, f.error);
      applyFeedback(f);
    }
    const current = state.get(job.hub, job.notificationId) as { counts: string } | undefined;
    const counts = current ? (JSON.parse(current.counts) as Record<string, Record<string, number>>) : {};
    addCounts(counts, r.counts);
    deleteJob.run(job.id);
    if (r.retry) insertJob.run(job.hub, job.notificationId, 'deliver', JSON.stringify(r.retry.payload), r.retry.runAt);
    setCounts.run(JSON.stringify(counts), r.retry ? 0 : -1, job.hub, job.notificationId);
    settle(job.hub, job.notificationId, r.now);
  };

  // Feedback: a dead handle's registration goes; an installation keeps its record, marked expired.
  const deleteRegistration = db.prepare('DELETE FROM registrations WHERE hub_key = ? AND id = ? AND installation_id IS NULL RETURNING seq, document');
  const deleteTags = db.prepare("DELETE FROM registration_tags WHERE hub_key = ? AND seq = ? AND tag IN (SELECT value FROM json_each(?, '$.tags'))");
  const markInstallation = db.prepare(
    "UPDATE installations SET document = json_set(document, '$.pushChannelExpired', json('true')) WHERE hub_key = ? AND id = ?",
  );
  // An installation's registrations go with its dead channel (no send reaches it any more); its next
  // PUT or PATCH of pushChannel materialises them again.
  const deleteInstallationRegs = db.prepare('DELETE FROM registrations WHERE hub_key = ? AND installation_id = ? RETURNING seq, document');
  const applyFeedback = (hubKey: string) => (f: FeedbackRecord) => {
    if (f.installationId) {
      markInstallation.run(hubKey, f.installationId);
      for (const row of deleteInstallationRegs.all(hubKey, f.installationId) as Array<{ seq: number; document: string }>) deleteTags.run(hubKey, row.seq, row.document);
    } else if (f.registrationId) {
      const row = deleteRegistration.get(hubKey, f.registrationId) as { seq: number; document: string } | undefined;
      if (row) deleteTags.run(hubKey, row.seq, row.document);
    }
  };
  const release = db.prepare('UPDATE dispatch_jobs SET leased_until = 0 WHERE leased_until IS NOT NULL AND leased_until > 0');

  return {
    createNotification: (n, first) =>
      writes.run(() => {
        insertNotification.run(key(n.hub), n.id, n.state, JSON.stringify(n.request), JSON.stringify(n.counts), n.enqueuedAt, n.scheduledAt ?? null);
        insertJob.run(key(n.hub), n.id, first.kind, JSON.stringify(first.payload), first.runAt);
      }),
    getNotification: async (hub, id) => {
      const row = selectOne.get(key(hub), id) as NotificationRow | undefined;
      return row && toNotification(row);
    },
    cancel: async (hub, id, now) =>
      db.transaction(() => {
        const row = selectOne.get(key(hub), id) as NotificationRow | undefined;
        if (!row) return 'not_found' as const;
        if (cancelOne.run(now, key(hub), id).changes === 0) return 'started' as const;
        deleteJobsOf.run(key(hub), id);
        return 'cancelled' as const;
      })(),
    claim: async (now, limit, leaseMs) => claim(now, limit, leaseMs),
    releaseLeases: async () => release.run().changes,
    wasDelivered: async (hub, notificationId, ids) => {
      if (ids.length === 0) return false;
      const row = db
        .prepare(`SELECT 1 FROM device_outcomes WHERE hub_key = ? AND notification_id = ? AND outcome = 'Success' AND registration_id IN (${ids.map(() => '?').join(', ')}) LIMIT 1`)
        .get(key(hub), notificationId, ...ids);
      return row !== undefined;
    },
    recordSecureRead: async (hub, notificationId, installationId, at) => {
      db.prepare('INSERT INTO secure_reads (hub_key, notification_id, installation_id, at) VALUES (?, ?, ?, ?)').run(key(hub), notificationId, installationId, at);
    },
    listSecureReads: async (hub, notificationId) =>
      (db.prepare('SELECT installation_id, at FROM secure_reads WHERE hub_key = ? AND notification_id = ? ORDER BY at').all(key(hub), notificationId) as Array<{ installation_id: string; at: number }>).map((r) => ({ installationId: r.installation_id, at: r.at })),
    nextRunAt: async () => (next.get() as { t: number | null }).t ?? undefined,
    finishPlanStep: (job, step) => writes.run(() => planStep(job, step)),
    finishDelivery: (job, result) => writes.run(() => delivery(job, result, applyFeedback(job.hub))),
    listOutcomes: async (hub, notificationId, filter, page) => {
      const rows = db
        .prepare(
          `SELECT seq, registration_id, handle, platform, outcome, reason, attempts, at FROM device_outcomes
           WHERE hub_key = ? AND notification_id = ? AND seq > ? ${filter.outcome ? 'AND outcome = ?' : ''} ORDER BY seq LIMIT ?`,
        )
        .all(key(hub), notificationId, page.after ?? 0, ...(filter.outcome ? [filter.outcome] : []), page.limit + 1) as Array<{
        seq: number;
        registration_id: string | null;
        handle: string;
        platform: string;
        outcome: string;
        reason: string | null;
        attempts: number;
        at: number;
      }>;
      const more = rows.length > page.limit;
      const items: DeviceOutcomeRecord[] = rows.slice(0, page.limit).map((r) => ({
        ...(r.registration_id === null ? {} : { registrationId: r.registration_id }),
        handle: r.handle,
        platform: r.platform,
        outcome: r.outcome,
        ...(r.reason === null ? {} : { reason: r.reason }),
        attempts: r.attempts,
        at: r.at,
      }));
      return more ? { items, next: rows[page.limit - 1]!.seq } : { items };
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
        const rows = oldOutcomes.all(before, limit) as Array<{ hub_key: string; notification_id: string; seq: number }>;
        for (const r of rows) deleteOutcome.run(r.hub_key, r.notification_id, r.seq);
        return rows.length;
      })(),
  };
}
