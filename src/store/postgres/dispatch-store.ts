/**
 * The send pipeline's state in PostgreSQL: notifications, the durable job queue (plan and deliver jobs
 * with leases, claimed with FOR UPDATE SKIP LOCKED so concurrent claimers never wait for or share a job),
 * per-device outcomes, counts and PNS feedback. Each pipeline step is one transaction. The semantics are
 * the SQLite adapter's (store/sqlite/dispatch-store.ts), held to the same contract.
 */
import type { DeviceOutcomeRecord, DispatchJob, DispatchStore, FeedbackRecord, NotificationRecord, StepRules } from '../store.ts';
import type { Installation } from '../../registry/model.ts';
import { appendEvents } from './event-store.ts';
import { stateChanged } from '../../events/model.ts';
import { inTransaction, prepared, type PgPool, type PgQueryable } from './pg-database.ts';
import { deleteRegistrationsSql } from './registry-store.ts';
import { cursorCodec } from '../cursor.ts';

/**
 * listOutcomes' cursor: the number of the page's last outcome within its notification. Safe as a keyset
 * though batches finish on many nodes: numbers are handed out under the notification's row lock, held to
 * the commit (finishDelivery), so they are taken in commit order and no outcome lands behind a cursor.
 */
const OUTCOME_CURSOR = cursorCodec('p1o', 1);
/** listNotifications' cursor: the last page's enqueue time and how many of that millisecond it showed. */
const NOTIFICATION_CURSOR = cursorCodec('p1n', 2);
import { lockOwnedJob, notifyEnqueued } from './queue.ts';

interface NotificationRow {
  hub_name: string;
  id: string;
  state: string;
  request: string;
  counts: Array<[platform: string, outcome: string, n: number]> | null;
  targets: number;
  enqueued_at: number;
  scheduled_at: number | null;
  started_at: number | null;
  ended_at: number | null;
}

type Counts = Record<string, Record<string, number>>;

const key = (name: string) => name.toLowerCase();

/** Outcomes per device_outcome_batches row; a delivery batch holds at most 1000 targets. */
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

function countsOf(rows: NotificationRow['counts']): Counts {
  const counts: Counts = {};
  for (const [platform, outcome, n] of rows ?? []) (counts[platform] ??= {})[outcome] = Number(n);
  return counts;
}

function toNotification(r: NotificationRow): NotificationRecord {
  return {
    hub: r.hub_name,
    id: r.id,
    state: r.state,
    request: JSON.parse(r.request),
    counts: countsOf(r.counts),
    targets: r.targets,
    enqueuedAt: r.enqueued_at,
    ...(r.scheduled_at === null ? {} : { scheduledAt: r.scheduled_at }),
    ...(r.started_at === null ? {} : { startedAt: r.started_at }),
    ...(r.ended_at === null ? {} : { endedAt: r.ended_at }),
  };
}

/** The counts as a JSON array of [platform, outcome, n], summed over the batches' rows, the notification's row beside them. */
const COUNTS_OF_N = `(SELECT json_agg(json_build_array(c.platform, c.outcome, c.n) ORDER BY c.platform, c.outcome) FROM (
  SELECT platform, outcome, sum(n) AS n FROM notification_counts WHERE hub_key = n.hub_key AND notification_id = n.id GROUP BY platform, outcome) c) AS counts`;

/**
 * Adds a batch's counts as rows keyed by its job id (migration 0003): concurrent batches never update one
 * row, and a batch completed twice counts once. The notification's creation uses job id 0.
 */
async function addCounts(db: PgQueryable, hubKey: string, notificationId: string, jobId: number, counts: Counts): Promise<void> {
  const platforms: string[] = [];
  const outcomes: string[] = [];
  const ns: number[] = [];
  for (const [platform, byOutcome] of Object.entries(counts)) {
    for (const [outcome, n] of Object.entries(byOutcome)) {
      platforms.push(platform);
      outcomes.push(outcome);
      ns.push(n);
    }
  }
  if (ns.length === 0) return;
  await db.query(
    prepared(`INSERT INTO notification_counts (hub_key, notification_id, job_id, platform, outcome, n)
     SELECT $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::bigint[])
     ON CONFLICT (hub_key, notification_id, job_id, platform, outcome) DO NOTHING`),
    [hubKey, notificationId, jobId, platforms, outcomes, ns],
  );
}

async function insertJobs(db: PgQueryable, hubKey: string, notificationId: string, kind: string, payloads: readonly unknown[], runAt: number): Promise<void> {
  if (payloads.length === 0) return;
  await db.query(
    prepared('INSERT INTO dispatch_jobs (hub_key, notification_id, kind, payload, run_at) SELECT $1, $2, $3, p, $4 FROM unnest($5::text[]) WITH ORDINALITY AS x(p, o) ORDER BY o'),
    [hubKey, notificationId, kind, runAt, payloads.map((p) => JSON.stringify(p))],
  );
}

/**
 * Moves the notification's pending jobs (and outcome numbering) by the given amounts, under its row lock,
 * and ends it when no job of it is left. Returns the outcomes written before this call.
 */
async function progress(db: PgQueryable, hubKey: string, id: string, delta: { targets?: number; jobs: number; outcomes?: number }, now: number, rules: StepRules): Promise<number | undefined> {
  const { rows } = await db.query<{ targets: number; pending_jobs: number; outcomes_written: number; state: string }>(
    prepared(`UPDATE notifications SET targets = targets + $3, pending_jobs = pending_jobs + $4, outcomes_written = outcomes_written + $5
     WHERE hub_key = $1 AND id = $2 RETURNING targets, pending_jobs, outcomes_written, state`),
    [hubKey, id, delta.targets ?? 0, delta.jobs, delta.outcomes ?? 0],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.pending_jobs <= 0) {
    // This transaction holds the row lock and every other job of the notification has committed (it moved
    // pending_jobs under the same lock), so the counts read here are complete.
    const { rows: counts } = await db.query<{ platform: string; outcome: string; n: number }>(
      prepared('SELECT platform, outcome, sum(n) AS n FROM notification_counts WHERE hub_key = $1 AND notification_id = $2 GROUP BY platform, outcome'),
      [hubKey, id],
    );
    const all: Counts = {};
    for (const c of counts) (all[c.platform] ??= {})[c.outcome] = Number(c.n);
    const to = rules.finalState({ targets: row.targets, counts: all });
    await db.query(prepared('UPDATE notifications SET state = $3, ended_at = $4 WHERE hub_key = $1 AND id = $2'), [hubKey, id, to, now]);
    if (rules.stateChanged && to !== row.state) await appendEvents(db, hubKey, [rules.stateChanged({ id, from: row.state, to, targets: row.targets, counts: all, at: now })]);
  }
  return row.outcomes_written - (delta.outcomes ?? 0);
}

/** Writes a batch's outcomes as rows of up to OUTCOMES_PER_ROW, numbered from `written` + 1, in one statement. */
async function insertOutcomes(db: PgQueryable, hubKey: string, notificationId: string, written: number, outcomes: readonly DeviceOutcomeRecord[]): Promise<void> {
  if (outcomes.length === 0) return;
  const firstSeqs: number[] = [];
  const sizes: number[] = [];
  const kindLists: string[] = [];
  const ats: number[] = [];
  const bodies: string[] = [];
  let seq = written;
  for (let i = 0; i < outcomes.length; i += OUTCOMES_PER_ROW) {
    const part = outcomes.slice(i, i + OUTCOMES_PER_ROW);
    const kinds = new Set<string>();
    let at = 0;
    const tuples = part.map((o): OutcomeTuple => {
      kinds.add(o.outcome);
      at = Math.max(at, o.at);
      return outcomeTuple(o);
    });
    firstSeqs.push(seq + 1);
    sizes.push(part.length);
    kindLists.push(`,${[...kinds].join(',')},`);
    ats.push(at);
    bodies.push(JSON.stringify(tuples));
    seq += part.length;
  }
  await db.query(
    prepared(`INSERT INTO device_outcome_batches (hub_key, notification_id, first_seq, count, kinds, at, outcomes)
     SELECT $1, $2, * FROM unnest($3::bigint[], $4::integer[], $5::text[], $6::bigint[], $7::text[])`),
    [hubKey, notificationId, firstSeqs, sizes, kindLists, ats, bodies],
  );
}

/**
 * Feedback (issue 10 item 19): applied only where the stored handle is still the dead one. A device that
 * re-registered with a new handle while the push to its old one was in flight keeps its new registration.
 * A dead registration goes; an installation keeps its record, with the dead channel marked expired (a
 * secondary tile's channel marks that tile), and loses the registrations that carry the dead handle (its
 * next PUT or PATCH of that channel materialises them again).
 */
async function applyFeedback(db: PgQueryable, hubKey: string, f: FeedbackRecord, rules: StepRules): Promise<void> {
  if (f.installationId) {
    const inst = (await db.query<{ handle: string; document: string }>(prepared('SELECT handle, document FROM installations WHERE hub_key = $1 AND id = $2 FOR UPDATE'), [hubKey, f.installationId])).rows[0];
    if (!inst) return;
    await db.query(prepared(deleteRegistrationsSql('r.hub_key = $1 AND r.installation_id = $2 AND r.handle = $3')), [hubKey, f.installationId, f.handle]);
    const expired = rules.expireChannel(JSON.parse(inst.document) as Installation, inst.handle, f.handle);
    if (expired) await db.query(prepared('UPDATE installations SET document = $3 WHERE hub_key = $1 AND id = $2'), [hubKey, f.installationId, JSON.stringify(expired)]);
  } else if (f.registrationId) {
    await db.query(prepared(deleteRegistrationsSql('r.hub_key = $1 AND r.id = $2 AND r.installation_id IS NULL AND r.handle = $3')), [hubKey, f.registrationId, f.handle]);
  }
}

/**
 * A job whose notification is gone (its hub was deleted, perhaps re-created under the same name, or the
 * notification reached its retention) records nothing: its outcomes and feedback would land in whatever now
 * answers to that hub name. The job is deleted. FOR KEY SHARE keeps the notification from being deleted
 * until this transaction ends, without waiting for (or blocking) updates of its counters.
 */
async function orphaned(db: PgQueryable, job: DispatchJob): Promise<boolean> {
  const { rows } = await db.query(prepared('SELECT 1 FROM notifications WHERE hub_key = $1 AND id = $2 FOR KEY SHARE'), [job.hub, job.notificationId]);
  if (rows.length > 0) return false;
  await db.query(prepared('DELETE FROM dispatch_jobs WHERE hub_key = $1 AND id = $2'), [job.hub, job.id]);
  return true;
}

/**
 * Deletes up to `limit` rows of `table` whose `expires_at` is at or before `now`, hub by hub through each
 * hub's (hub_key, expires_at) index; `rowKey` with hub_key names a row. Returns how many went.
 */
async function deleteExpiredHubByHub(pool: PgPool, table: 'idempotency_keys' | 'secure_payloads', rowKey: 'key' | 'notification_id', now: number, limit: number): Promise<number> {
  const { rowCount } = await pool.query(
    prepared(`WITH doomed AS (
       SELECT e.hub_key, e.${rowKey} FROM hubs h CROSS JOIN LATERAL (
         SELECT hub_key, ${rowKey} FROM ${table} WHERE hub_key = h.name_key AND expires_at <= $1 LIMIT $2) e
       LIMIT $2)
     DELETE FROM ${table} t USING doomed d WHERE t.hub_key = d.hub_key AND t.${rowKey} = d.${rowKey} AND t.expires_at <= $1`),
    [now, limit],
  );
  return rowCount ?? 0;
}

export function postgresDispatchStore(pool: PgPool): DispatchStore {
  const cols = `h.name AS hub_name, n.id, n.state, n.request, ${COUNTS_OF_N}, n.targets, n.enqueued_at, n.scheduled_at, n.started_at, n.ended_at`;
  const getRow = async (db: PgQueryable, hub: string, id: string) =>
    (await db.query<NotificationRow>(prepared(`SELECT ${cols} FROM notifications n JOIN hubs h ON h.name_key = n.hub_key WHERE n.hub_key = $1 AND n.id = $2`), [key(hub), id])).rows[0];

  return {
    createNotification: (n, first, secure, idempotency) =>
      inTransaction(pool, async (db) => {
        if (idempotency) {
          // The key's row first: a live one (committed by anyone) means the earlier send's notification;
          // a concurrent insert of the same key waits here for the other transaction, then sees its row.
          const taken = await db.query(
            prepared(`INSERT INTO idempotency_keys (hub_key, key, notification_id, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (hub_key, key) DO UPDATE SET notification_id = excluded.notification_id, expires_at = excluded.expires_at
             WHERE idempotency_keys.expires_at <= $5`),
            [key(n.hub), idempotency.key, n.id, idempotency.expiresAt, idempotency.now],
          );
          if ((taken.rowCount ?? 0) === 0) {
            const earlier = await db.query<{ notification_id: string }>(prepared('SELECT notification_id FROM idempotency_keys WHERE hub_key = $1 AND key = $2'), [key(n.hub), idempotency.key]);
            return earlier.rows[0]!.notification_id;
          }
        }
        await db.query(
          prepared(`INSERT INTO notifications (hub_key, id, state, request, targets, pending_jobs, enqueued_at, scheduled_at) VALUES ($1, $2, $3, $4, 0, 1, $5, $6)`),
          [key(n.hub), n.id, n.state, JSON.stringify(n.request), n.enqueuedAt, n.scheduledAt ?? null],
        );
        await addCounts(db, key(n.hub), n.id, 0, n.counts);
        await insertJobs(db, key(n.hub), n.id, first.kind, [first.payload], first.runAt);
        await notifyEnqueued(db);
        if (secure) await db.query(prepared('INSERT INTO secure_payloads (hub_key, notification_id, sealed, expires_at) VALUES ($1, $2, $3, $4)'), [key(n.hub), n.id, secure.sealed, secure.expiresAt]);
        return n.id;
      }),
    setPnsBackoff: async (hub, platform, until) => {
      await pool.query(
        prepared(`INSERT INTO pns_backoff (hub_key, platform, until) VALUES ($1, $2, $3)
         ON CONFLICT (hub_key, platform) DO UPDATE SET until = greatest(pns_backoff.until, excluded.until)`),
        [key(hub), platform, until],
      );
    },
    pnsBackoffUntil: async (hub, platform, now) =>
      (await pool.query<{ until: number }>(prepared('SELECT until FROM pns_backoff WHERE hub_key = $1 AND platform = $2 AND until > $3'), [key(hub), platform, now])).rows[0]?.until,
    pruneIdempotencyKeys: (now, limit) => deleteExpiredHubByHub(pool, 'idempotency_keys', 'key', now, limit),
    securePayload: async (hub, id, now) =>
      (await pool.query<{ sealed: string }>(prepared('SELECT sealed FROM secure_payloads WHERE hub_key = $1 AND notification_id = $2 AND expires_at > $3'), [key(hub), id, now])).rows[0]?.sealed,
    purgeSecurePayloads: (now, limit) => deleteExpiredHubByHub(pool, 'secure_payloads', 'notification_id', now, limit),
    // Notifications that ended before `before`, hub by hub through each hub's (hub_key, ended_at) index, with
    // what has no foreign key to cascade from (outcomes, reads, jobs); counts and payloads cascade.
    pruneNotifications: (before, limit) =>
      inTransaction(pool, async (db) => {
        const { rows } = await db.query<{ hub_key: string; id: string }>(
          prepared(`WITH doomed AS (
             SELECT e.hub_key, e.id FROM hubs h CROSS JOIN LATERAL (
               SELECT hub_key, id FROM notifications WHERE hub_key = h.name_key AND ended_at IS NOT NULL AND ended_at < $1 LIMIT $2) e
             LIMIT $2)
           DELETE FROM notifications n USING doomed d WHERE n.hub_key = d.hub_key AND n.id = d.id AND n.ended_at < $1 RETURNING n.hub_key, n.id`),
          [before, limit],
        );
        if (rows.length > 0) {
          const gone = [rows.map((r) => r.hub_key), rows.map((r) => r.id)];
          for (const table of ['device_outcome_batches', 'secure_reads', 'dispatch_jobs']) {
            await db.query(prepared(`DELETE FROM ${table} t USING unnest($1::text[], $2::text[]) AS g(hub_key, id) WHERE t.hub_key = g.hub_key AND t.notification_id = g.id`), gone);
          }
        }
        await db.query(
          prepared(`DELETE FROM pns_feedback f USING (
             SELECT o.hub_key, o.seq FROM hubs h CROSS JOIN LATERAL (
               SELECT hub_key, seq FROM pns_feedback WHERE hub_key = h.name_key AND at < $1 LIMIT $2) o
             LIMIT $2) d
           WHERE f.hub_key = d.hub_key AND f.seq = d.seq`),
          [before, limit],
        );
        return rows.length;
      }),
    getNotification: async (hub, id) => {
      const row = await getRow(pool, hub, id);
      return row && toNotification(row);
    },
    listNotifications: async (hub, page) => {
      const [before, skip] = page.after === undefined ? [Number.MAX_SAFE_INTEGER, 0] : (NOTIFICATION_CURSOR.decode(page.after) as [number, number]);
      // Rows of the cursor's millisecond come first in this order, so OFFSET skips exactly those already shown.
      const { rows } = await pool.query<NotificationRow>(
        prepared(`SELECT ${cols} FROM notifications n JOIN hubs h ON h.name_key = n.hub_key WHERE n.hub_key = $1 AND n.enqueued_at <= $2 ORDER BY n.enqueued_at DESC, n.id DESC LIMIT $3 OFFSET $4`),
        [key(hub), before, page.limit + 1, skip],
      );
      const items = rows.slice(0, page.limit).map(toNotification);
      const last = items[items.length - 1];
      if (rows.length <= page.limit || !last) return { items };
      const sameMs = items.filter((n) => n.enqueuedAt === last.enqueuedAt).length + (last.enqueuedAt === before ? skip : 0);
      return { items, next: NOTIFICATION_CURSOR.encode(last.enqueuedAt, sameMs) };
    },
    cancel: (hub, id, now) =>
      inTransaction(pool, async (db) => {
        // The notification's jobs first, as a claim takes them (then the notification): a claim running
        // now either skips them or already started the notification.
        await db.query(prepared('SELECT id FROM dispatch_jobs WHERE hub_key = $1 AND notification_id = $2 FOR UPDATE'), [key(hub), id]);
        const { rows } = await db.query<{ state: string }>(prepared('SELECT state FROM notifications WHERE hub_key = $1 AND id = $2 FOR UPDATE'), [key(hub), id]);
        if (rows.length === 0) return 'not_found' as const;
        const { rowCount } = await db.query(
          prepared(`UPDATE notifications SET state = 'Cancelled', ended_at = $3, pending_jobs = 0
           WHERE hub_key = $1 AND id = $2 AND state IN ('Scheduled', 'Enqueued') AND started_at IS NULL`),
          [key(hub), id, now],
        );
        if (rowCount === 0) return 'started' as const;
        await db.query(prepared('DELETE FROM dispatch_jobs WHERE hub_key = $1 AND notification_id = $2'), [key(hub), id]);
        await appendEvents(db, key(hub), [stateChanged({ id, from: rows[0]!.state, to: 'Cancelled', targets: 0, counts: {}, at: now })]);
        return 'cancelled' as const;
      }),
    // Step commits: first the job, locked only if its caller still owns it (a stale owner writes nothing).
    finishPlanStep: (job, step, rules) =>
      inTransaction(pool, async (db) => {
        if (!(await lockOwnedJob(db, job))) return 'stale' as const;
        if (await orphaned(db, job)) return 'done' as const;
        await insertJobs(db, job.hub, job.notificationId, 'deliver', step.batches, step.now);
        // A large send's slices: plan jobs of their own, pending like its batches (any node may take each).
        const slices = step.slices ?? [];
        await insertJobs(db, job.hub, job.notificationId, 'plan', slices, step.now);
        const done = step.nextCursor === undefined;
        if (done) await db.query(prepared('DELETE FROM dispatch_jobs WHERE hub_key = $1 AND id = $2'), [job.hub, job.id]);
        // The plan goes back to the queue unclaimed, its cursor moved: any node may take the next page.
        else await db.query(prepared('UPDATE dispatch_jobs SET payload = $3, run_at = $4, owner = NULL, leased_until = NULL WHERE hub_key = $1 AND id = $2'), [job.hub, job.id, JSON.stringify(step.nextCursor), step.now]);
        if (step.batches.length > 0 || slices.length > 0 || !done) await notifyEnqueued(db);
        await progress(db, job.hub, job.notificationId, { targets: step.targets, jobs: step.batches.length + slices.length - (done ? 1 : 0) }, step.now, rules);
        return 'done' as const;
      }),
    finishDelivery: (job, r, rules) =>
      inTransaction(pool, async (db) => {
        if (!(await lockOwnedJob(db, job))) return 'stale' as const;
        if (await orphaned(db, job)) return 'done' as const;
        await db.query(prepared('DELETE FROM dispatch_jobs WHERE hub_key = $1 AND id = $2'), [job.hub, job.id]);
        if (r.retry) {
          await insertJobs(db, job.hub, job.notificationId, 'deliver', [r.retry.payload], r.retry.runAt);
          await notifyEnqueued(db);
        }
        await addCounts(db, job.hub, job.notificationId, job.id, r.counts);
        // The batch's events in one statement, in the step's transaction (issue 13 item 1).
        if (r.events) await appendEvents(db, job.hub, r.events);
        for (const f of r.expired) {
          await db.query(
            prepared('INSERT INTO pns_feedback (hub_key, at, platform, handle, registration_id, installation_id, notification_id, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)'),
            [job.hub, f.at, f.platform, f.handle, f.registrationId ?? null, f.installationId ?? null, f.notificationId ?? null, f.error],
          );
          await applyFeedback(db, job.hub, f, rules);
        }
        // Last: the notification's row lock is held from here to the commit, as briefly as possible, and the
        // outcome numbers it hands out are this batch's alone.
        let written = await progress(db, job.hub, job.notificationId, { jobs: r.retry ? 0 : -1, outcomes: r.outcomes.length }, r.now, rules);
        if (written === undefined) {
          const { rows } = await db.query<{ s: number | null }>(
            prepared('SELECT max(first_seq + count - 1) AS s FROM device_outcome_batches WHERE hub_key = $1 AND notification_id = $2'),
            [job.hub, job.notificationId],
          );
          written = rows[0]?.s ?? 0;
        }
        await insertOutcomes(db, job.hub, job.notificationId, written, r.outcomes);
        return 'done' as const;
      }),
    listOutcomes: async (hub, notificationId, filter, page) => {
      // Rows start at most OUTCOMES_PER_ROW before the cursor's outcome: reading from there finds its row.
      const after = page.after === undefined ? 0 : OUTCOME_CURSOR.decode(page.after)[0]!;
      const items: Array<DeviceOutcomeRecord & { seq: number }> = [];
      const wanted = filter.outcome === undefined ? undefined : `,${filter.outcome},`;
      let from = after - OUTCOMES_PER_ROW;
      // Rows a few at a time, so a page near the start does not read the whole notification's outcomes.
      for (;;) {
        const { rows } = await pool.query<{ first_seq: number; count: number; kinds: string; outcomes: string }>(
          prepared(`SELECT first_seq, count, kinds, outcomes FROM device_outcome_batches
           WHERE hub_key = $1 AND notification_id = $2 AND first_seq > $3 ${wanted === undefined ? '' : 'AND strpos(kinds, $5) > 0'}
           ORDER BY first_seq LIMIT $4`),
          [key(hub), notificationId, from, 8, ...(wanted === undefined ? [] : [wanted])],
        );
        for (const row of rows) {
          if (row.first_seq + row.count - 1 <= after) continue;
          const tuples = JSON.parse(row.outcomes) as OutcomeTuple[];
          for (let i = 0; i < tuples.length && items.length <= page.limit; i++) {
            const seq = row.first_seq + i;
            if (seq <= after || (filter.outcome !== undefined && tuples[i]![3] !== filter.outcome)) continue;
            items.push({ ...toOutcome(tuples[i]!), seq });
          }
          if (items.length > page.limit) break;
        }
        if (items.length > page.limit || rows.length < 8) break;
        from = rows[rows.length - 1]!.first_seq;
      }
      const more = items.length > page.limit;
      const shown = items.slice(0, page.limit).map(({ seq: _seq, ...o }) => o);
      return more ? { items: shown, next: OUTCOME_CURSOR.encode(items[page.limit - 1]!.seq) } : { items: shown };
    },
    listFeedback: async (hub, limit) =>
      (
        await pool.query<{ at: number; platform: string; handle: string; registration_id: string | null; installation_id: string | null; notification_id: string | null; error: string }>(
          prepared('SELECT at, platform, handle, registration_id, installation_id, notification_id, error FROM pns_feedback WHERE hub_key = $1 ORDER BY seq DESC LIMIT $2'),
          [key(hub), limit],
        )
      ).rows.map((r) => ({
        at: r.at,
        platform: r.platform,
        handle: r.handle,
        ...(r.registration_id === null ? {} : { registrationId: r.registration_id }),
        ...(r.installation_id === null ? {} : { installationId: r.installation_id }),
        ...(r.notification_id === null ? {} : { notificationId: r.notification_id }),
        error: r.error,
      })),
    wasDelivered: async (hub, notificationId, ids, since = 0) => {
      if (ids.length === 0) return false;
      const wanted = new Set(ids);
      const { rows } = await pool.query<{ outcomes: string }>(
        prepared(`SELECT outcomes FROM device_outcome_batches WHERE hub_key = $1 AND notification_id = $2 AND strpos(kinds, ',Success,') > 0 ORDER BY first_seq`),
        [key(hub), notificationId],
      );
      for (const row of rows) {
        for (const t of JSON.parse(row.outcomes) as OutcomeTuple[]) if (t[3] === 'Success' && t[0] !== null && t[6] >= since && wanted.has(t[0])) return true;
      }
      return false;
    },
    recordSecureRead: async (hub, notificationId, installationId, at) => {
      await pool.query(prepared('INSERT INTO secure_reads (hub_key, notification_id, installation_id, at) VALUES ($1, $2, $3, $4)'), [key(hub), notificationId, installationId, at]);
    },
    listSecureReads: async (hub, notificationId) =>
      (await pool.query<{ installation_id: string; at: number }>(prepared('SELECT installation_id, at FROM secure_reads WHERE hub_key = $1 AND notification_id = $2 ORDER BY at'), [key(hub), notificationId])).rows.map(
        (r) => ({ installationId: r.installation_id, at: r.at }),
      ),
    // Hub by hub through each hub's (hub_key, at) index. `limit` counts rows of up to OUTCOMES_PER_ROW
    // outcomes; the answer counts outcomes.
    pruneOutcomes: async (before, limit) => {
      const { rows } = await pool.query<{ n: number | null }>(
        prepared(`WITH doomed AS (
           SELECT o.hub_key, o.notification_id, o.first_seq FROM hubs h CROSS JOIN LATERAL (
             SELECT hub_key, notification_id, first_seq FROM device_outcome_batches WHERE hub_key = h.name_key AND at < $1 LIMIT $2) o
           LIMIT $2),
         gone AS (
           DELETE FROM device_outcome_batches b USING doomed d
           WHERE b.hub_key = d.hub_key AND b.notification_id = d.notification_id AND b.first_seq = d.first_seq RETURNING b.count)
         SELECT sum(count) AS n FROM gone`),
        [before, Math.max(1, Math.ceil(limit / OUTCOMES_PER_ROW))],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}
