/**
 * What `herald send` tells a person once a notification is done: the outcome per PNS, the devices that
 * failed with the PNS's reason, and the next step for each kind of failure. Also why nothing matched when
 * no registration is targeted.
 */
import type { AdminClient } from '../admin-client.ts';
import { PLATFORM_NAMES, PLATFORMS, platformOfTelemetry, type Platform } from '../platforms.ts';

/** Telemetry states after which nothing changes (wire spec §9). */
export const FINAL_STATES = new Set(['Completed', 'NoTargetFound', 'Abandoned', 'Cancelled', 'Canceled']);

export interface SentNotification {
  format: string;
  notificationId: string;
  state?: string;
  outcomeCounts?: Record<string, Record<string, number>>;
  /** Up to ten devices that did not get it, from the per-device outcomes. */
  failures?: Array<{ platform: string; handle: string; outcome: string; reason?: string; attempts?: number }>;
}

/** True when every targeted device got it. */
export function allSucceeded(n: SentNotification): boolean {
  if (n.state !== 'Completed') return false;
  return Object.values(n.outcomeCounts ?? {}).every((counts) => Object.entries(counts).every(([name, count]) => name === 'Success' || count === 0));
}

/** The next step for an outcome (the telemetry's outcome names, wire spec §9; Herald's `AzureOutcome`). */
function nextStep(outcome: string, platform: Platform | undefined, hub: string): string {
  const p = platform ?? '<platform>';
  switch (outcome) {
    case 'InvalidCredentials':
      return `the ${p} service refused the hub's credentials: check them with "herald hub credentials ${hub}" and set them again with "herald hub credentials ${hub} --platform ${p} ..."`;
    case 'WrongToken':
    case 'ExpiredChannel':
    case 'BadChannel':
    case 'ChannelDisconnected':
      return `the ${p} service no longer knows these handles; Herald removed their registrations (feedback): the apps must register again`;
    case 'Throttled':
    case 'ChannelThrottled':
    case 'PnsUnavailable':
    case 'PnsUnreachable':
    case 'PnsServerError':
      return `the ${p} service did not take the push in time and Herald gave up retrying: check the service (and the hub's credentials endpoint), then send again`;
    case 'InvalidNotificationSize':
      return `the payload is too large for ${p}: send a smaller one`;
    case 'PnsInterfaceError':
    case 'Dropped':
    case 'UnknownError':
      return `the ${p} service refused the payload: check that --body is a valid ${p} payload`;
    default:
      return `see the per-device outcomes: GET /_admin/v1/hubs/${hub}/messages/<id>/outcomes`;
  }
}

/** Reads up to ten devices that did not get the notification (the management API's per-device outcomes). */
export async function readFailures(admin: AdminClient, hub: string, id: string): Promise<SentNotification['failures']> {
  const page = await admin.request<{ items: Array<{ platform?: string; handle?: string; outcome?: string; reason?: string; attempts?: number }> }>(
    'GET',
    `/hubs/${encodeURIComponent(hub)}/messages/${encodeURIComponent(id)}/outcomes?top=100`,
  );
  return page.items
    .filter((o) => o.outcome !== 'Success')
    .slice(0, 10)
    .map((o) => ({ platform: o.platform ?? '', handle: o.handle ?? '', outcome: o.outcome ?? '', ...(o.reason ? { reason: o.reason } : {}), ...(o.attempts ? { attempts: o.attempts } : {}) }));
}

const short = (handle: string) => (handle.length > 40 ? `${handle.slice(0, 37)}...` : handle);

/** The text of one notification's outcome: the state, a line per PNS, failing devices, next steps. */
export function describeOutcome(hub: string, n: SentNotification, noTargetWhy?: string): string {
  const lines = [`Notification ${n.notificationId} (${n.format}): ${n.state ?? 'accepted'}`];
  const steps = new Set<string>();
  for (const [element, counts] of Object.entries(n.outcomeCounts ?? {})) {
    lines.push(`  ${element.padEnd(8)} ${Object.entries(counts).map(([name, count]) => `${name} ${count}`).join(', ')}`);
    for (const [name, count] of Object.entries(counts)) if (name !== 'Success' && count > 0) steps.add(nextStep(name, platformOfTelemetry(element), hub));
  }
  for (const f of n.failures ?? []) {
    lines.push(`  failed: ${f.platform} ${short(f.handle)}  ${f.outcome}${f.reason ? `: ${f.reason}` : ''}${f.attempts ? ` (${f.attempts} attempt(s))` : ''}`);
  }
  if (n.state === 'NoTargetFound') steps.add(noTargetWhy ?? 'no registration matched: list them with "herald registrations --hub ' + hub + '"');
  if (n.state === 'Abandoned') steps.add(`Herald gave up on it after retrying; see why per device: GET /_admin/v1/hubs/${hub}/messages/${n.notificationId}/outcomes`);
  if (n.state === 'Cancelled' || n.state === 'Canceled') steps.add('it was cancelled before it was sent');
  for (const step of steps) lines.push(`  next: ${step}`);
  return lines.join('\n');
}

export interface TargetCounts {
  /** Matching registrations per platform (only platforms with some). */
  byPlatform: Partial<Record<Platform, number>>;
  /** Registrations of the hub in all. */
  total: number;
}

/** How many registrations the send's target matches, per platform (the management API's counts). */
export async function countTargets(admin: AdminClient, hub: string, tagExpression: string | undefined): Promise<TargetCounts> {
  const count = async (filter: Record<string, string>) => {
    const q = new URLSearchParams({ ...filter, top: '1', count: 'true' });
    return (await admin.request<{ total?: number }>('GET', `/hubs/${encodeURIComponent(hub)}/registrations?${q.toString()}`)).total ?? 0;
  };
  const expr: Record<string, string> = tagExpression ? { tagExpression } : {};
  const [total, ...counts] = await Promise.all([count({}), ...PLATFORM_NAMES.map((p) => count({ ...expr, platform: p }))]);
  const byPlatform: TargetCounts['byPlatform'] = {};
  PLATFORM_NAMES.forEach((p, i) => {
    if (counts[i]! > 0) byPlatform[p] = counts[i]!;
  });
  return { byPlatform, total: total! };
}

/** Why a send reaches nobody, in one line: what the target was, what the hub has, what to try. */
export function whyNoTarget(hub: string, tagExpression: string | undefined, counts: TargetCounts, format?: Platform | 'template'): string {
  const target = tagExpression ? `matches "${tagExpression}"` : 'is registered';
  const matching = Object.entries(counts.byPlatform).map(([p, n]) => `${p} ${n}`);
  if (counts.total === 0) return `hub "${hub}" has no registrations at all: start a device (herald device browser --hub ${hub}) or register one`;
  if (format !== undefined && format !== 'template' && matching.length > 0) {
    return `no ${format} registration ${target} on hub "${hub}"; the target has ${matching.join(', ')}: send with --format ${Object.keys(counts.byPlatform).join(' or ')}, or without --format`;
  }
  if (format === 'template') {
    return `no registration with a template ${target} on hub "${hub}" (the target has ${matching.length > 0 ? matching.join(', ') : 'none'}): register a template (herald device ... --template NAME=BODY) or send natively without --format`;
  }
  const hint = tagExpression && /(^|[^$])UserId:/i.test(tagExpression) ? '; a device registered with --user 42 carries the tag $UserId:{42}: send with --user 42' : '';
  return `no registration ${target} on hub "${hub}" (it has ${counts.total} in all)${hint}`;
}

export function formatOf(platform: Platform): string {
  return PLATFORMS[platform].sendFormat;
}
