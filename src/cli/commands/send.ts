/**
 * `herald send`: a notification through the hub's Azure surface with the Full rule (wire spec §7), as
 * a back end sends one; `--wait` follows its telemetry (§9) until it ends and prints the outcomes.
 */
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { fail, print } from '../output.ts';
import { AzureHubClient, ruleKeyOf, type NotificationDetails, type NotificationRequest } from '../../devices/azure-hub.ts';
import { wnsTypeOf } from '../../devices/simulated-device.ts';
import { findDevelopmentCa } from '../../devices/trust.ts';

const FULL_RULE = 'DefaultFullSharedAccessSignature';
const FORMATS = ['apple', 'fcmv1', 'windows', 'browser', 'template'] as const;
type Format = (typeof FORMATS)[number];
/** States after which nothing changes (§9). */
const FINAL_STATES = new Set(['Completed', 'NoTargetFound', 'Abandoned', 'Cancelled', 'Canceled']);
const POLL_INTERVAL_MS = 250;
const JSON_TYPE = 'application/json;charset=utf-8';

interface SendFlags extends ClientOptions {
  hub: string;
  tags?: string;
  format: string;
  message?: string;
  body?: string;
  property?: string[];
  wait?: boolean;
  waitSeconds: string;
  json?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The template send's flat property bag (§7.2): `--body` as given, then `message`, then each `--property`. */
function propertyBag(o: SendFlags): Record<string, string> {
  const bag: Record<string, string> = {};
  if (o.body !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.body);
    } catch {
      throw new Error('--body of a template send must be a JSON object of string properties');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
      throw new Error('--body of a template send must be a flat JSON object of string properties');
    }
    Object.assign(bag, parsed);
  }
  if (o.message !== undefined) bag.message = o.message;
  for (const p of o.property ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--property must be KEY=VALUE, got "${p}"`);
    bag[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return bag;
}

/** The request of each format, with a default body from `--message` (§7.2 body formats). */
export function notificationRequest(format: Format, o: SendFlags): NotificationRequest {
  const tags = o.tags?.trim() ? { tagExpression: o.tags.trim() } : {};
  if (format === 'template') return { format, body: JSON.stringify(propertyBag(o)), contentType: JSON_TYPE, ...tags };
  if ((o.property ?? []).length > 0) throw new Error('--property is for template sends only (--format template)');
  const text = o.message ?? '';
  switch (format) {
    case 'apple':
      return o.body !== undefined
        ? { format, body: o.body, contentType: JSON_TYPE, ...tags }
        : { format, body: JSON.stringify({ aps: { alert: text } }), contentType: JSON_TYPE, headers: { 'apns-push-type': 'alert', 'apns-priority': '10' }, ...tags };
    case 'fcmv1':
      return { format, body: o.body ?? JSON.stringify({ message: { notification: { body: text } } }), contentType: JSON_TYPE, ...tags };
    case 'browser':
      return { format, body: o.body ?? JSON.stringify({ title: 'Herald', body: text }), contentType: JSON_TYPE, ...tags };
    case 'windows': {
      const body = o.body ?? `<toast><visual><binding template="ToastGeneric"><text>${escapeXml(text)}</text></binding></visual></toast>`;
      const type = wnsTypeOf(body);
      return { format, body, contentType: type === 'wns/raw' ? 'application/octet-stream' : 'application/xml', headers: { 'X-WNS-Type': type }, ...tags };
    }
  }
}

function describeOutcome(id: string, d: NotificationDetails): string {
  const lines = [`Notification ${id}: ${d.state}`];
  for (const [platform, counts] of Object.entries(d.outcomeCounts)) {
    lines.push(`  ${platform.padEnd(8)} ${Object.entries(counts).map(([name, n]) => `${name} ${n}`).join(', ')}`);
  }
  return lines.join('\n');
}

async function waitForOutcome(client: AzureHubClient, id: string, seconds: number): Promise<NotificationDetails> {
  const deadline = Date.now() + seconds * 1000;
  let last: NotificationDetails | undefined;
  for (;;) {
    last = (await client.notificationDetails(id)) ?? last;
    if (last && FINAL_STATES.has(last.state)) return last;
    if (Date.now() >= deadline) throw new Error(`notification ${id} is still ${last?.state ?? 'unknown to the hub'} after ${seconds} s`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

async function runSend(o: SendFlags): Promise<void> {
  const format = o.format.toLowerCase() as Format;
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, got "${o.format}"`);
  if (o.message !== undefined && o.body !== undefined && format !== 'template') throw new Error('give --message or --body, not both');
  if (o.message === undefined && o.body === undefined && !(format === 'template' && (o.property ?? []).length > 0)) {
    throw new Error('nothing to send: give --message TEXT or --body');
  }
  const waitSeconds = Number(o.waitSeconds);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) throw new Error(`--wait-seconds must be a positive number, got "${o.waitSeconds}"`);
  const request = notificationRequest(format, o);

  const admin = AdminClient.from(o);
  const full = await admin.request<{ primary: string }>('GET', `/hubs/${encodeURIComponent(o.hub)}/rules/${FULL_RULE}/connection-strings`);
  const client = new AzureHubClient(admin.baseUrl, o.hub, ruleKeyOf(full.primary), findDevelopmentCa(o.data));
  const notificationId = await client.send(request);
  if (!o.wait) {
    print(o, { notificationId }, () => `Notification ${notificationId} accepted.`);
    return;
  }
  const outcome = await waitForOutcome(client, notificationId, waitSeconds);
  print(o, { notificationId, state: outcome.state, outcomeCounts: outcome.outcomeCounts }, () => describeOutcome(notificationId, outcome));
}

export function registerSend(program: Command): void {
  program
    .command('send')
    .description('send a notification through the Azure surface with the Full rule')
    .requiredOption('--hub <hub>', 'the hub')
    .option('--tags <expr>', 'a tag or tag expression (default: everyone)')
    .option('--format <format>', `${FORMATS.join(' | ')}`, 'template')
    .option('--message <text>', 'the text: the template property "message", or the alert/body of a native default payload')
    .option('--body <payload>', 'the whole native payload (JSON, or XML for windows); for template, a flat JSON object of properties')
    .option('--property <key=value>', 'a template property (repeatable)', collect)
    .option('--wait', 'wait until the notification is done and print its outcome counts')
    .option('--wait-seconds <n>', 'give up waiting after this many seconds', '60')
    .option('--url <url>', 'the hub (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
    .option('--data <dir>', 'data directory of the local hub (default: HERALD_DATA or ./data)')
    .option('--json', 'machine-readable output')
    .action(async (o: SendFlags) => {
      try {
        await runSend(o);
      } catch (err) {
        fail(err, o);
      }
    });
}
