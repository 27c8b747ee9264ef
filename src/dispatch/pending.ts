/**
 * The targets of a notification that are still in the queue (issue 12 item 4): a send that waits for a
 * retry shows each waiting target with its attempts, its last error and when it runs again, instead of
 * `Processing` and nothing else. Read from the queued jobs (both stores), so it is exact and needs no table.
 */
import type { Store } from '../store/store.ts';
import type { BatchPayload } from './deliver.ts';

export interface PendingTarget {
  registrationId?: string;
  platform?: string;
  handle?: string;
  /** Attempts made so far (0: not tried yet). */
  attempts: number;
  lastError?: { outcome: string; reason: string; status?: number; at: string };
  /** When the next attempt is due (ISO time); a target being sent now has `sending: true`. */
  nextAttemptAt: string;
  sending?: true;
}

export interface PendingTargets {
  items: PendingTarget[];
  /** More targets wait than `items` shows. */
  more: boolean;
  /** Targets are still being resolved from the registry (a planning step is queued). */
  planning: boolean;
}

/** Jobs read per call: with 500 targets a batch, more than enough to fill the answer. */
const MAX_JOBS = 50;

export async function pendingTargets(store: Store, hub: string, notificationId: string, limit: number): Promise<PendingTargets> {
  const jobs = await store.queue.pendingOf(hub, notificationId, MAX_JOBS);
  const out: PendingTargets = { items: [], more: jobs.length === MAX_JOBS, planning: false };
  const byRegistration = new Map<string, PendingTarget>();
  for (const job of jobs) {
    if (job.kind === 'plan') {
      out.planning = true;
      continue;
    }
    const batch: BatchPayload = job.payload;
    const last = batch.retry.lastError;
    for (const t of batch.targets) {
      if (out.items.length >= limit) {
        out.more = true;
        break;
      }
      const item: PendingTarget = {
        attempts: batch.retry.attempts,
        ...(last ? { lastError: { outcome: last.outcome, reason: last.reason, ...(last.status === undefined ? {} : { status: last.status }), at: new Date(last.atMs).toISOString() } } : {}),
        nextAttemptAt: new Date(job.runAt).toISOString(),
        ...(job.running ? { sending: true as const } : {}),
      };
      if ('r' in t) {
        item.registrationId = t.r;
        byRegistration.set(t.r, item);
      } else {
        item.platform = t.d.platform;
        item.handle = t.d.value;
      }
      out.items.push(item);
    }
  }
  if (byRegistration.size > 0) {
    for (const r of await store.registrations.getMany(hub, [...byRegistration.keys()])) {
      const item = byRegistration.get(r.id);
      if (item) {
        item.platform = r.handle.platform;
        item.handle = r.handle.value;
      }
    }
  }
  return out;
}
