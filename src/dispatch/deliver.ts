/**
 * Delivering one batch (design: "Deliver"): load its registrations, render each device's push, hand
 * the pushes to the platform's connector, and turn the outcomes into one recorded result: counts per
 * PNS, per-device outcomes, feedback for dead handles, and the targets to retry as a smaller batch.
 */
import { deliveryEvents } from '../events/model.ts';
import type { HubService } from '../hubs/hub-service.ts';
import type { Platform, PnsCredentials } from '../hubs/credentials.ts';
import type { PnsConnector, DeliveryOutcome } from '../pns/connector.ts';
import type { PnsHandle, Registration } from '../registry/model.ts';
import type { Clock } from '../shared/clock.ts';
import type { DeliveryResult, DeviceOutcomeRecord, FeedbackRecord, Store } from '../store/store.ts';
import { connectorPlatform, NOT_SENT, type RenderedTarget, type Renderer, type StoredRequest } from './render.ts';
import { RetryPolicy, type RetryState } from './retry-policy.ts';
import { ReportBuilder, type BatchReport } from './batch-report.ts';

/**
 * A target of a batch: a registration by id (with the store's opaque hint `s` of where it is), or a direct
 * send's handle. A batch queued before hints were opaque has numbers there: they are left out.
 */
export type TargetRef = { r: string; s?: string | number } | { d: PnsHandle };

export interface BatchPayload {
  targets: TargetRef[];
  retry: RetryState;
}

export type Connectors = Partial<Record<Platform, PnsConnector>>;

/** How long a node trusts its read of a PNS back-off (another node's 429 is seen within this). */
const BACKOFF_CACHE_MS = 1_000;
/** Hubs and platforms whose back-off read is kept (a few per hub at most). */
const MAX_CACHED_BACKOFFS = 10_000;

/** What one device got, for a test send's NotificationOutcome (§7.5) and for counting. */
export interface TargetOutcome {
  target: RenderedTarget | { platform: string; handle: string; registrationId?: string };
  outcome: DeliveryOutcome;
}

function outcomeOf(kind: DeliveryOutcome['kind'], azure: DeliveryOutcome['azure'], reason: string): DeliveryOutcome {
  return { kind, azure, reason };
}

export class Deliverer {
  constructor(
    private readonly store: Store,
    private readonly hubs: HubService,
    private readonly connectors: Connectors,
    private readonly renderer: Renderer,
    private readonly retry: RetryPolicy,
    private readonly clock: Clock,
  ) {}

  /** Back-offs read from the store, kept briefly: one read per hub and platform per second at most. */
  private readonly backoffs = new Map<string, { until: number | undefined; readAt: number }>();

  private async backoffUntil(hub: string, platform: string): Promise<number | undefined> {
    const k = `${hub.toLowerCase()}\n${platform}`;
    const now = this.clock.now();
    let entry = this.backoffs.get(k);
    if (!entry || now - entry.readAt >= BACKOFF_CACHE_MS) {
      entry = { until: await this.store.dispatch.pnsBackoffUntil(hub, platform, now), readAt: now };
      if (this.backoffs.size >= MAX_CACHED_BACKOFFS) this.backoffs.clear();
      this.backoffs.set(k, entry);
    }
    return entry.until !== undefined && entry.until > now ? entry.until : undefined;
  }

  private async backOff(hub: string, platform: string, until: number): Promise<void> {
    await this.store.dispatch.setPnsBackoff(hub, platform, until);
    this.backoffs.set(`${hub.toLowerCase()}\n${platform}`, { until, readAt: this.clock.now() });
  }

  /**
   * Renders and sends to these targets; one outcome per target, never throws for one target. The
   * notification id goes to every connector as the collapse id, the same on every attempt (issue 14 item 7).
   */
  async sendNow(hub: string, req: StoredRequest, regs: readonly Registration[], direct: readonly PnsHandle[], notificationId?: string): Promise<TargetOutcome[]> {
    const results: TargetOutcome[] = [];
    const byPlatform = new Map<Platform, RenderedTarget[]>();
    const rendered: RenderedTarget[] = [];
    for (const reg of regs) {
      try {
        rendered.push(this.renderer.render(req, reg));
      } catch (err) {
        // A template that cannot render for this device (it was valid when stored): this device only.
        results.push({ target: { platform: reg.handle.platform, handle: reg.handle.value, registrationId: reg.id }, outcome: outcomeOf('rejected', 'UnknownError', `the template could not be rendered: ${(err as Error).message}`) });
      }
    }
    for (const h of direct) rendered.push(this.renderer.renderDirect(req, h));
    for (const t of rendered) {
      const p = connectorPlatform(t.platform);
      if (!p || !this.connectors[p]) {
        results.push({ target: t, outcome: outcomeOf('rejected', 'PnsUnavailable', NOT_SENT[t.platform] ?? `Herald has no connector for ${t.platform}`) });
        continue;
      }
      const list = byPlatform.get(p) ?? [];
      list.push(t);
      byPlatform.set(p, list);
    }
    await Promise.all(
      [...byPlatform].map(async ([platform, targets]) => {
        let credentials: PnsCredentials | undefined;
        try {
          credentials = await this.hubs.openCredentials(hub, platform);
        } catch {
          credentials = undefined; // the connector answers InvalidCredentials for every target, no network call
        }
        // A PNS that asked this hub to back off (429 with Retry-After, seen by any node) gets nothing until then.
        const until = await this.backoffUntil(hub, platform);
        if (until !== undefined) {
          const wait: DeliveryOutcome = { ...outcomeOf('retry', 'Throttled', 'the PNS asked to back off (Retry-After)'), retryAfterMs: until - this.clock.now() };
          for (const t of targets) results.push({ target: t, outcome: wait });
          return;
        }
        const outcomes = await this.connectors[platform]!.send({
          credentials,
          targets: targets.map((t) => ({ handle: t.connectorHandle, payload: t.payload, headers: t.headers, ...(notificationId === undefined ? {} : { collapseId: notificationId }) })),
        });
        targets.forEach((t, i) => results.push({ target: t, outcome: outcomes[i] ?? outcomeOf('retry', 'PnsUnreachable', 'no outcome from the connector') }));
        const throttled = Math.max(0, ...outcomes.map((o) => (o.kind === 'retry' && o.status === 429 && o.retryAfterMs !== undefined ? o.retryAfterMs : 0)));
        if (throttled > 0) await this.backOff(hub, platform, this.clock.now() + throttled);
      }),
    );
    return results;
  }

  /**
   * A queued batch, from its payload to the result the store records in one transaction, and the report of
   * what happened (per platform, outcome and reason) for the log and the metrics.
   */
  async deliverBatch(hub: string, notificationId: string, req: StoredRequest, batch: BatchPayload, attemptOfJob: number): Promise<{ result: DeliveryResult; report: BatchReport }> {
    const now = this.clock.now();
    const result: DeliveryResult = { outcomes: [], counts: {}, expired: [], now };
    const lines = new ReportBuilder();
    const report = (): BatchReport => ({
      hub,
      notificationId,
      lines: lines.build(),
      ...(result.retry ? { nextAttemptAt: result.retry.runAt } : {}),
      acceptedAt: batch.retry.acceptedAtMs,
      now,
    });
    const count = (platform: string, name: string) => {
      const p = (result.counts[platform] ??= {});
      p[name] = (p[name] ?? 0) + 1;
    };
    const record = (t: TargetOutcome['target'], name: string, reason: string, attempts: number, pns?: Record<string, string>) => {
      const o: DeviceOutcomeRecord = { handle: t.handle, platform: t.platform, outcome: name, reason, attempts, at: now };
      if (t.registrationId) o.registrationId = t.registrationId;
      if (pns !== undefined) o.pns = pns;
      result.outcomes.push(o);
      count(t.platform, name);
      lines.add(t.platform, name, reason, false);
    };
    const attempts = batch.retry.attempts + 1;

    const ids = batch.targets.flatMap((t) => ('r' in t ? [t.r] : []));
    const at = batch.targets.flatMap((t) => ('r' in t && typeof t.s === 'string' ? [t.s] : []));
    const direct = batch.targets.flatMap((t) => ('d' in t ? [t.d] : []));
    const regs = ids.length > 0 ? (await this.store.registrations.getMany(hub, ids, at.length === ids.length ? at : undefined)).filter((r) => r.expiresAt === undefined || r.expiresAt > now) : [];
    // A registration deleted or expired since planning is simply no longer a target.

    const late = this.retry.checkDeadline(batch.retry);
    if (late && late.kind === 'abandon') {
      for (const r of regs) record({ platform: r.handle.platform, handle: r.handle.value, registrationId: r.id }, 'AbandonedNotificationMessages', late.message, batch.retry.attempts);
      for (const d of direct) record({ platform: d.platform, handle: d.value }, 'AbandonedNotificationMessages', late.message, batch.retry.attempts);
      return { result: await this.withEvents(hub, notificationId, result), report: report() };
    }

    const outcomes = await this.sendNow(hub, req, regs, direct, notificationId);
    const retry: TargetRef[] = [];
    let retryAfterMs: number | undefined;
    let firstRetry: DeliveryOutcome | undefined;
    for (const { target, outcome } of outcomes) {
      switch (outcome.kind) {
        case 'delivered':
          record(target, 'Success', outcome.reason, attempts + attemptOfJob, outcome.pns);
          break;
        case 'rejected':
          record(target, outcome.azure, outcome.reason, attempts + attemptOfJob, outcome.pns);
          break;
        case 'handle-expired': {
          record(target, outcome.azure, outcome.reason, attempts + attemptOfJob, outcome.pns);
          const f: FeedbackRecord = { at: outcome.expiredAt ?? now, platform: target.platform, handle: target.handle, notificationId, error: outcome.azure === 'WrongToken' ? 'WrongToken' : 'ExpiredChannel' };
          if (target.registrationId) f.registrationId = target.registrationId;
          if ('installationId' in target && target.installationId) f.installationId = target.installationId;
          result.expired.push(f);
          break;
        }
        case 'retry':
          retry.push(target.registrationId ? { r: target.registrationId } : { d: direct.find((d) => d.value === target.handle)! });
          firstRetry ??= outcome;
          if (outcome.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, outcome.retryAfterMs);
          break;
      }
    }
    if (retry.length > 0 && firstRetry) {
      const decision = this.retry.onFailure(batch.retry, {
        outcome: firstRetry.azure,
        reason: firstRetry.reason,
        ...(firstRetry.status === undefined ? {} : { status: firstRetry.status }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
      if (decision.kind === 'retry') {
        result.retry = { payload: { targets: retry, retry: decision.state } satisfies BatchPayload, runAt: decision.atMs };
        for (const { target, outcome } of outcomes) if (outcome.kind === 'retry') lines.add(target.platform, outcome.azure, outcome.reason, true);
      } else {
        for (const { target, outcome } of outcomes) {
          if (outcome.kind === 'retry') record(target, 'AbandonedNotificationMessages', `${decision.message}; last: ${outcome.azure} ${outcome.reason}`, decision.state.attempts);
        }
      }
    }
    return { result: await this.withEvents(hub, notificationId, result), report: report() };
  }

  /**
   * The batch's events (events/model.ts), recorded in its step commit; success events only if the hub asks.
   * A hub with `deviceSuccessOutcomes: false` keeps per-device rows of failures only: its successes are in
   * the counts (and in success events, if it asks for those). The settings come from the hub cache.
   */
  private async withEvents(hub: string, notificationId: string, result: DeliveryResult): Promise<DeliveryResult> {
    const anySuccess = result.outcomes.some((o) => o.outcome === 'Success');
    const settings = anySuccess ? (await this.hubs.authContext(hub)).hub?.settings : undefined;
    result.events = deliveryEvents(notificationId, result, settings?.deviceSuccessEvents === true);
    if (settings?.deviceSuccessOutcomes === false) result.outcomes = result.outcomes.filter((o) => o.outcome !== 'Success');
    return result;
  }
}
