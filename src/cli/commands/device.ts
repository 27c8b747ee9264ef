/**
 * `herald device <apns|fcmv1|wns|browser>` (or ios, android, windows, web: src/cli/platforms.ts): a
 * simulated device on a sandbox hub. It gets a handle from its platform's emulator as an app would, registers it as an installation with the Listen rule
 * (as a device does, wire spec §2.4), then prints every notification the emulator delivers to it.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { fail } from '../output.ts';
import { HubError } from '../../shared/errors.ts';
import { AzureHubClient, ruleKeyOf } from '../../devices/azure-hub.ts';
import { buildInstallation, DeliveryWatcher, DEVICE_PLATFORMS, mintDevice, type AppIdentity, type DevicePlatform, type ReceivedNotification } from '../../devices/simulated-device.ts';
import { describePlatforms, platformOf, PLATFORMS, type Platform } from '../platforms.ts';
import { findDevelopmentCa } from '../../devices/trust.ts';
import { AppBackend, secureIdOf } from '../../devices/app-backend.ts';

const POLL_INTERVAL_MS = 250;
/** Consecutive failed polls (about a second) before the device gives up on the emulator. */
const MAX_POLL_FAILURES = 4;
const LISTEN_RULE = 'DefaultListenSharedAccessSignature';

interface DeviceFlags extends ClientOptions {
  hub: string;
  tags?: string;
  user?: string;
  template?: string[];
  installationId?: string;
  listenSeconds?: string;
  count?: string;
  backend?: string;
  topics?: string;
  json?: boolean;
}

interface CredentialView {
  platform: string;
  endpoint: string | null;
  summary: Record<string, string>;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseTemplates(specs: string[]): Record<string, string> {
  const templates: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) throw new Error(`--template must be NAME=BODY, got "${spec}"`);
    templates[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return templates;
}

function parseListenSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`--listen-seconds must be a positive number of seconds, got "${value}"`);
  return n;
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*[1-9]\d*\s*$/.test(value)) throw new Error(`--count must be a positive whole number of notifications, got "${value}"`);
  return Number(value);
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** What the app of this hub is, from the credentials the sandbox minted (identifiers only). */
function appIdentity(cred: CredentialView): AppIdentity {
  return {
    ...(cred.summary.bundleId ? { topic: cred.summary.bundleId } : {}),
    ...(cred.summary.projectId ? { project: cred.summary.projectId } : {}),
    ...(cred.summary.publicKey ? { applicationServerKey: cred.summary.publicKey } : {}),
    // Entra credentials (a tenant): the client id is the Azure AppId a Windows App SDK app requests its channel with.
    ...(cred.platform === 'wns' && cred.summary.tenantId && cred.summary.clientId ? { remoteId: cred.summary.clientId } : {}),
  };
}

function printLine(o: DeviceFlags, event: Record<string, unknown>, text: string): void {
  process.stdout.write(o.json ? `${JSON.stringify(event)}\n` : `${text}\n`);
}

function describeNotification(n: ReceivedNotification): string {
  const headers = Object.entries(n.headers).map(([k, v]) => `${k}: ${v}`);
  return [`[${n.time}]${headers.length > 0 ? `  ${headers.join('  ')}` : ''}`, `  ${n.payload}`].join('\n');
}

const hasDevice = (p: Platform) => 'device' in PLATFORMS[p];

async function runDevice(platformArg: string, o: DeviceFlags): Promise<void> {
  const named = platformOf(platformArg);
  if (named === undefined || !hasDevice(named)) throw new Error(`unknown platform "${platformArg}": use ${describePlatforms(hasDevice)}`);
  const platform: DevicePlatform = PLATFORMS[named].device;
  const listenSeconds = parseListenSeconds(o.listenSeconds);
  const count = parseCount(o.count);
  if (o.backend && !o.user) throw new Error('--backend needs --user: the app signs in to its backend as a user');
  const templates = parseTemplates(o.template ?? []);
  const tags = (o.tags ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  const pns = DEVICE_PLATFORMS[platform];

  const admin = AdminClient.from(o);
  let emulators: Record<string, string>;
  try {
    emulators = (await admin.request<{ emulators: Record<string, string> }>('GET', '/sandbox')).emulators;
  } catch (err) {
    if (err instanceof HubError && err.code === 'not_found' && /sandbox/.test(err.message)) {
      throw new HubError('not_found', `the hub at ${admin.baseUrl} does not run in sandbox mode (start it with "herald serve --sandbox"): a simulated device needs its emulators`);
    }
    throw err;
  }
  const emulatorUrl = emulators[pns];
  if (!emulatorUrl) throw new Error(`the sandbox runs no ${pns} emulator`);

  const hubPath = `/hubs/${encodeURIComponent(o.hub)}`;
  const { credentials } = await admin.request<{ credentials: CredentialView[] }>('GET', `${hubPath}/credentials`);
  const cred = credentials.find((c) => c.platform === pns);
  if (!cred) throw new Error(`hub "${o.hub}" has no ${pns} credentials, so nothing could reach a ${platform} device`);
  if (!cred.endpoint || trimSlash(cred.endpoint) !== trimSlash(emulatorUrl)) {
    throw new Error(`hub "${o.hub}" is not in the sandbox for ${pns}: its credentials send to ${cred.endpoint ?? 'the real service'}, not to the emulator at ${emulatorUrl}`);
  }
  const listen = await admin.request<{ primary: string }>('GET', `${hubPath}/rules/${LISTEN_RULE}/connection-strings`);

  const ca = findDevelopmentCa(o.data);
  const device = await mintDevice(platform, emulatorUrl, appIdentity(cred), ca);
  const installationId = o.installationId ?? randomUUID();
  const topics = (o.topics ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  // Through the app's backend, as a real app registers (it holds no hub credential), or straight to the hub.
  const backend = o.backend ? new AppBackend(o.backend.replace(/\/+$/, ''), o.user!, ca) : undefined;
  if (backend) await backend.register(installationId, platform, device, topics);
  else {
    const installation = buildInstallation({ installationId, platform, device, tags, ...(o.user !== undefined ? { userId: o.user } : {}), templates });
    await new AzureHubClient(admin.baseUrl, o.hub, ruleKeyOf(listen.primary), ca).putInstallation(installation);
  }

  printLine(
    o,
    { event: 'registered', hub: o.hub, platform, pns, installationId, handle: device.handle, tags, ...(o.user !== undefined ? { userId: o.user } : {}), templates: Object.keys(templates) },
    [
      `Simulated ${pns} (${platform}) device registered on hub "${o.hub}".`,
      `  installation  ${installationId}`,
      `  handle        ${device.handle}`,
      ...(tags.length > 0 ? [`  tags          ${tags.join(', ')}`] : []),
      ...(o.user !== undefined ? [`  user          ${o.user}`] : []),
      ...(Object.keys(templates).length > 0 ? [`  templates     ${Object.keys(templates).join(', ')}`] : []),
      `Listening for ${count === undefined ? 'notifications' : `${count} notification(s)`}${listenSeconds === undefined ? '' : ` for at most ${listenSeconds} s`} (Ctrl+C to stop)...`,
    ].join('\n'),
  );

  const watcher = new DeliveryWatcher(pns, emulatorUrl, device.handle, ca);
  const deadline = listenSeconds === undefined ? Infinity : Date.now() + listenSeconds * 1000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let received = 0;
  let failures = 0;
  const show = async (n: ReceivedNotification) => {
    received += 1;
    printLine(o, { event: 'notification', ...n }, describeNotification(n));
    // A secure push carries only an id: the app fetches the payload with its installation's credential.
    const secureId = secureIdOf(n.payload);
    if (secureId && backend) {
      try {
        const payload = await backend.readSecure(installationId, secureId, ca);
        printLine(o, { event: 'secure-payload', notificationId: secureId, payload }, `  secure payload: ${payload}`);
      } catch (err) {
        printLine(o, { event: 'secure-payload-error', notificationId: secureId, error: (err as Error).message }, `  secure payload not readable: ${(err as Error).message}`);
      }
    }
  };
  try {
    // A script (or a test) that knows how many notifications to expect stops when they are here, not after a window.
    while (!stopped && Date.now() < deadline && (count === undefined || received < count)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(0, Math.min(POLL_INTERVAL_MS, deadline - Date.now())));
      });
      try {
        for (const n of await watcher.next()) {
          if (count !== undefined && received >= count) break;
          await show(n);
        }
        failures = 0;
      } catch (err) {
        failures += 1;
        // A sandbox restart (Ctrl+C, npm start) takes a few seconds; its emulators come back with this device.
        if (failures === MAX_POLL_FAILURES) printLine(o, { event: 'waiting', reason: (err as Error).message }, `The ${pns} emulator does not answer (is the hub restarting?); waiting up to ${EMULATOR_RESTART_WAIT_S} s for it.`);
        if (failures >= (EMULATOR_RESTART_WAIT_S * 1000) / POLL_INTERVAL_MS) throw new Error(`lost the ${pns} emulator: ${(err as Error).message}`);
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  printLine(o, { event: 'stopped', installationId, received }, `Stopped after ${received} notification(s).`);
}

/** How long a device waits for its emulator to come back (a sandbox restart) before it gives up. */
const EMULATOR_RESTART_WAIT_S = 60;

export function registerDevice(program: Command): void {
  program
    .command('device <platform>')
    .description(`a simulated device on a sandbox hub: registers, then prints what it receives. Platforms: ${describePlatforms(hasDevice)}`)
    .option('--hub <hub>', 'the hub to register with', 'sandbox')
    .option('--tags <tags>', 'comma-separated tags of the installation')
    .option('--user <id>', 'the installation userId (tag $UserId:{id})')
    .option('--template <name=body>', 'a template of the installation (repeatable)', collect)
    .option('--installation-id <id>', 'the installation id (default: a new GUID)')
    .option('--listen-seconds <n>', 'stop after this many seconds (default: until Ctrl+C)')
    .option('--count <n>', 'stop after this many notifications (default: until Ctrl+C)')
    .option('--backend <url>', "register through this app backend (examples/notify-users) as --user, and read secure pushes' payloads")
    .option('--topics <topics>', 'with --backend: comma-separated topics to subscribe to (tags Event:<topic>)')
    .option('--url <url>', 'the hub (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
    .option('--data <dir>', 'data directory of the local hub, for its development CA (default: HERALD_DATA or ./data)')
    .option('--json', 'one JSON object per line: registered, then each notification, then stopped')
    .action(async (platform: string, o: DeviceFlags) => {
      try {
        await runDevice(platform, o);
      } catch (err) {
        fail(err, o);
      }
    });
}
