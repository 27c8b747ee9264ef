/**
 * `herald send`: a notification through the hub's Azure surface with the Full rule (wire spec §7), as
 * a back end sends one. Without --format it sends natively to each platform the target has registrations
 * of (or says why none match); `--wait` follows the telemetry (§9) and exits non-zero unless every device
 * got it; `--test` is Azure's test send (§7.5): at most 10 devices, each one's outcome at once.
 */
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { EXIT, fail, print } from '../output.ts';
import { describePlatforms, platformOf, type Platform } from '../platforms.ts';
import { AzureHubClient, ruleKeyOf, type NotificationRequest, type TestSendOutcome } from '../../devices/azure-hub.ts';
import { wnsTypeOf } from '../../devices/simulated-device.ts';
import { findDevelopmentCa } from '../../devices/trust.ts';
import { allSucceeded, countTargets, describeOutcome, FINAL_STATES, formatOf, readFailures, whyNoTarget, type SentNotification } from './send-outcome.ts';

const FULL_RULE = 'DefaultFullSharedAccessSignature';
const POLL_INTERVAL_MS = 250;
const JSON_TYPE = 'application/json;charset=utf-8';

type Format = Platform | 'template';

interface SendFlags extends ClientOptions {
  hub: string;
  tags?: string;
  user?: string;
  format?: string;
  message?: string;
  body?: string;
  property?: string[];
  wait?: boolean;
  test?: boolean;
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

/** `--tags` and `--user` as one tag expression (`--user 42` is the installation tag `$UserId:{42}`). */
export function targetExpression(o: Pick<SendFlags, 'tags' | 'user'>): string | undefined {
  const tags = o.tags?.trim() || undefined;
  if (o.user === undefined) return tags;
  if (!o.user.trim() || /[{}]/.test(o.user)) throw new Error(`--user must be a user id without braces, got "${o.user}"`);
  const user = `$UserId:{${o.user.trim()}}`;
  return tags ? `(${tags}) && ${user}` : user;
}

/** The request of each format, with a default body from `--message` (§7.2 body formats). */
export function notificationRequest(platform: Format, o: SendFlags, tagExpression: string | undefined): NotificationRequest {
  const tags = tagExpression ? { tagExpression } : {};
  if (platform === 'template') return { format: 'template', body: JSON.stringify(propertyBag(o)), contentType: JSON_TYPE, ...tags };
  if ((o.property ?? []).length > 0) throw new Error('--property is for template sends only (--format template)');
  const text = o.message ?? '';
  const format = formatOf(platform);
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
    default:
      // A platform of the table without a default payload here: its payload must be given.
      if (o.body === undefined) throw new Error(`give the whole ${platform} payload with --body`);
      return { format, body: o.body, contentType: JSON_TYPE, ...tags };
  }
}

async function waitForOutcome(client: AzureHubClient, sent: SentNotification, deadline: number, seconds: number): Promise<SentNotification> {
  for (;;) {
    const d = await client.notificationDetails(sent.notificationId);
    if (d) Object.assign(sent, { state: d.state, outcomeCounts: d.outcomeCounts });
    if (sent.state && FINAL_STATES.has(sent.state)) return sent;
    if (Date.now() >= deadline) throw new WaitTimeout(`notification ${sent.notificationId} is still ${sent.state ?? 'unknown to the hub'} after ${seconds} s`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

class WaitTimeout extends Error {}

/** Which formats to send: the one asked for, or each platform the target has registrations of. */
async function chooseFormats(o: SendFlags, admin: AdminClient, tagExpression: string | undefined): Promise<Format[]> {
  if (o.format !== undefined) return [formatFlag(o.format)];
  if ((o.property ?? []).length > 0) return ['template'];
  if (o.body !== undefined) throw new Error('--body is one platform\'s payload: name it with --format (or send --message to every platform)');
  const counts = await countTargets(admin, o.hub, tagExpression);
  const platforms = Object.keys(counts.byPlatform) as Platform[];
  if (platforms.length === 0) throw new NothingMatched(whyNoTarget(o.hub, tagExpression, counts));
  return platforms;
}

class NothingMatched extends Error {}

function formatFlag(word: string): Format {
  if (word.trim().toLowerCase() === 'template') return 'template';
  const platform = platformOf(word);
  if (!platform) throw new Error(`--format must be template or a platform (${describePlatforms()}), got "${word}"`);
  return platform;
}

function describeTest(format: Format, t: TestSendOutcome): string {
  const lines = [`Test send (${format}): ${t.success} succeeded, ${t.failure} failed.`];
  for (const r of t.results) lines.push(`  ${r.platform.padEnd(8)} ${r.handle.length > 40 ? `${r.handle.slice(0, 37)}...` : r.handle}  ${r.registrationId}  ${r.outcome}`);
  return lines.join('\n');
}

async function runSend(o: SendFlags): Promise<number> {
  if (o.wait && o.test) throw new Error('give --wait or --test, not both: a test send answers with every outcome at once');
  if (o.message !== undefined && o.body !== undefined && o.format?.toLowerCase() !== 'template') throw new Error('give --message or --body, not both');
  if (o.message === undefined && o.body === undefined && (o.property ?? []).length === 0) throw new Error('nothing to send: give --message TEXT or --body');
  const waitSeconds = Number(o.waitSeconds);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) throw new Error(`--wait-seconds must be a positive number, got "${o.waitSeconds}"`);
  const tagExpression = targetExpression(o);
  if (o.format !== undefined) notificationRequest(formatFlag(o.format), o, tagExpression);

  const admin = AdminClient.from(o);
  const formats = await chooseFormats(o, admin, tagExpression);
  const full = await admin.request<{ primary: string }>('GET', `/hubs/${encodeURIComponent(o.hub)}/rules/${FULL_RULE}/connection-strings`);
  const client = new AzureHubClient(admin.baseUrl, o.hub, ruleKeyOf(full.primary), findDevelopmentCa(o.data));

  if (o.test) {
    const tests: Array<TestSendOutcome & { format: Format }> = [];
    for (const format of formats) tests.push({ format, ...(await client.testSend(notificationRequest(format, o, tagExpression))) });
    print(o, { tests }, () => tests.map((t) => describeTest(t.format, t)).join('\n'));
    return tests.every((t) => t.failure === 0 && t.success > 0) ? EXIT.ok : EXIT.notAllSucceeded;
  }

  const sent: SentNotification[] = [];
  for (const format of formats) sent.push({ format, notificationId: await client.send(notificationRequest(format, o, tagExpression)) });
  if (!o.wait) {
    print(o, { notifications: sent }, () => sent.map((n) => `Notification ${n.notificationId} (${n.format}) accepted.`).join('\n'));
    return EXIT.ok;
  }
  const deadline = Date.now() + waitSeconds * 1000;
  let timedOut: string | undefined;
  for (const n of sent) {
    try {
      await waitForOutcome(client, n, deadline, waitSeconds);
      if (!allSucceeded(n) && n.state !== 'NoTargetFound') n.failures = await readFailures(admin, o.hub, n.notificationId);
    } catch (err) {
      if (!(err instanceof WaitTimeout)) throw err;
      timedOut ??= err.message;
    }
  }
  const why = sent.some((n) => n.state === 'NoTargetFound') ? whyNoTarget(o.hub, tagExpression, await countTargets(admin, o.hub, tagExpression), formats[0]) : undefined;
  const ok = sent.every(allSucceeded);
  print(o, { ok, notifications: sent, ...(why ? { noTarget: why } : {}), ...(timedOut ? { timedOut } : {}) }, () =>
    [...sent.map((n) => describeOutcome(o.hub, n, why)), ...(timedOut ? [`Stopped waiting: ${timedOut}; it goes on in the hub (GET /_admin/v1/hubs/${o.hub}/messages/<id>/outcomes).`] : [])].join('\n'),
  );
  if (timedOut) return EXIT.stillRunning;
  return ok ? EXIT.ok : EXIT.notAllSucceeded;
}

export function registerSend(program: Command): void {
  program
    .command('send')
    .description('send a notification through the Azure surface with the Full rule')
    .requiredOption('--hub <hub>', 'the hub')
    .option('--tags <expr>', 'a tag or tag expression (default: everyone)')
    .option('--user <id>', "the devices registered with --user ID (the tag $UserId:{ID}); with --tags, both must match")
    .option('--format <format>', `template, or a platform: ${describePlatforms()} (default: each platform the target has registrations of)`)
    .option('--message <text>', 'the text: the template property "message", or the alert/body of a native default payload')
    .option('--body <payload>', 'the whole native payload (JSON, or XML for windows); for template, a flat JSON object of properties')
    .option('--property <key=value>', 'a template property (repeatable)', collect)
    .option('--wait', 'wait until the notification is done, print its outcome per PNS; exit 2 unless every device got it')
    .option('--test', "Azure's test send: at most 10 devices, each one's outcome at once; exit 2 unless all succeeded")
    .option('--wait-seconds <n>', 'give up waiting after this many seconds', '60')
    .option('--url <url>', 'the hub (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
    .option('--data <dir>', 'data directory of the local hub (default: HERALD_DATA or ./data)')
    .option('--json', 'machine-readable output')
    .action(async (o: SendFlags) => {
      let code: number;
      try {
        code = await runSend(o);
      } catch (err) {
        if (err instanceof NothingMatched) fail(err, o, EXIT.notAllSucceeded);
        fail(err, o);
      }
      process.exitCode = code;
    });
}
