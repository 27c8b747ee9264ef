/**
 * `herald device` and `herald send` as real processes against a sandbox hub: simulated devices get
 * their handles from the emulators and register as installations, sends through the Azure surface
 * reach exactly the devices they target, and bad input is a one-line reason with exit status 1.
 * The hub runs in this process, so every CLI call is asynchronous (a spawnSync would block it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emulatorCall, startTestHerald, type TestHerald } from './helpers.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;
/** Upper bound of any one wait here; a bound, not a timing goal. */
const BOUND_MS = 60_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliEnv(h: TestHerald): NodeJS.ProcessEnv {
  return { ...process.env, HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey, HERALD_DATA: h.dataDir };
}

function herald(h: TestHerald, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: cliEnv(h), timeout: BOUND_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

type DeviceEvent = { event: 'registered'; installationId: string; handle: string; platform: string; pns: string } | { event: 'notification'; time: string; headers: Record<string, string>; payload: string } | { event: 'stopped'; received: number };

interface RunningDevice {
  events: DeviceEvent[];
  registered: Promise<Extract<DeviceEvent, { event: 'registered' }>>;
  exit: Promise<{ code: number | null; stderr: string }>;
  kill(): void;
}

/** Starts `herald device ... --json` and reads its JSON lines as they come. */
function startDevice(h: TestHerald, args: string[]): RunningDevice {
  const child = spawn(process.execPath, [bin, 'device', ...args, '--json'], { env: cliEnv(h), stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DeviceEvent[] = [];
  let stderr = '';
  let buffered = '';
  let onRegistered: (e: Extract<DeviceEvent, { event: 'registered' }>) => void = () => {};
  let onFailed: (e: Error) => void = () => {};
  const registered = new Promise<Extract<DeviceEvent, { event: 'registered' }>>((resolve, reject) => {
    onRegistered = resolve;
    onFailed = reject;
  });
  const timer = setTimeout(() => onFailed(new Error(`device ${args.join(' ')} did not register in time: ${stderr}`)), BOUND_MS);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const event = JSON.parse(line) as DeviceEvent;
      events.push(event);
      if (event.event === 'registered') onRegistered(event);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      onFailed(new Error(`device ${args.join(' ')} exited (${code}) before registering: ${stderr}`));
      resolve({ code, stderr });
    });
  });
  return { events, registered, exit, kill: () => child.kill('SIGTERM') };
}

function notifications(d: RunningDevice): Array<Extract<DeviceEvent, { event: 'notification' }>> {
  return d.events.filter((e): e is Extract<DeviceEvent, { event: 'notification' }> => e.event === 'notification');
}

async function installationCount(h: TestHerald, hub: string): Promise<number> {
  const res = await h.admin('GET', `/hubs/${hub}/installations?count=true`);
  assert.equal(res.status, 200);
  return res.body.total;
}

/** A failure is exit status 1 and exactly one line on stderr. */
function assertOneLineFailure(r: Result, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^herald: [^\n]+\n$/);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, '');
}

describe('herald device and herald send', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald();
  });
  after(() => h.close());

  test('each simulated device prints exactly the notifications sent to it', async () => {
    // Each device stops when its one notification is here (no listening window to outlast on a busy machine).
    const browser = startDevice(h, ['browser', '--tags', 'news', '--count', '1']);
    const android = startDevice(h, ['android', '--user', 'alice', '--count', '1']);
    const ios = startDevice(h, ['ios', '--tags', 'news', '--template', 'alert={"aps":{"alert":"$(message)"}}', '--count', '1']);
    try {
      const [b, a, i] = await Promise.all([browser.registered, android.registered, ios.registered]);
      assert.equal(b.pns, 'browser');
      assert.match(b.handle, /^https:\/\/127\.0\.0\.1:\d+\/push\//);
      assert.equal(a.pns, 'fcmv1');
      assert.equal(i.pns, 'apns');
      assert.match(i.handle, /^[0-9a-f]{64}$/);
      // The devices registered through the Azure surface, as installations of their platforms.
      const alice = await h.admin('GET', '/hubs/sandbox/installations?userId=alice');
      assert.deepEqual(alice.body.items.map((x: { installationId: string }) => x.installationId), [a.installationId]);

      // In parallel: each send returns only when the emulators have taken the pushes.
      const [news, toAlice, templated] = await Promise.all([
        herald(h, ['send', '--hub', 'sandbox', '--tags', 'news', '--format', 'browser', '--message', 'hello news', '--wait', '--json']),
        herald(h, ['send', '--hub', 'sandbox', '--tags', '$UserId:{alice}', '--format', 'fcmv1', '--message', 'hello alice', '--wait', '--json']),
        herald(h, ['send', '--hub', 'sandbox', '--tags', 'news', '--format', 'template', '--message', 'hello template', '--wait', '--json']),
      ]);
      for (const r of [news, toAlice, templated]) assert.equal(r.code, 0, r.stderr);
      const newsOutcome = JSON.parse(news.stdout).notifications[0];
      assert.match(newsOutcome.notificationId, /\S/);
      assert.equal(newsOutcome.state, 'Completed');
      assert.deepEqual(newsOutcome.outcomeCounts, { Browser: { Success: 1 } });
      assert.deepEqual(JSON.parse(toAlice.stdout).notifications[0].outcomeCounts, { FcmV1: { Success: 1 } });
      assert.deepEqual(JSON.parse(templated.stdout).notifications[0].outcomeCounts, { Apns: { Success: 1 } }, 'only the ios device has a template');

      const [be, ae, ie] = await Promise.all([browser.exit, android.exit, ios.exit]);
      for (const e of [be, ae, ie]) assert.equal(e.code, 0, e.stderr);

      const web = notifications(browser);
      assert.equal(web.length, 1);
      assert.deepEqual(JSON.parse(web[0]!.payload), { title: 'Herald', body: 'hello news' }, 'Web Push arrives decrypted');
      const fcm = notifications(android);
      assert.equal(fcm.length, 1);
      // The notification id as collapse_key (issue 14 item 7).
      assert.deepEqual(JSON.parse(fcm[0]!.payload), { notification: { body: 'hello alice' }, android: { collapse_key: JSON.parse(toAlice.stdout).notifications[0].notificationId }, token: a.handle });
      const apns = notifications(ios);
      assert.equal(apns.length, 1);
      assert.deepEqual(JSON.parse(apns[0]!.payload), { aps: { alert: 'hello template' } });
      assert.equal(apns[0]!.headers['apns-topic'], 'com.example.app');
      for (const [d, reg] of [[browser, b], [android, a], [ios, i]] as const) assert.deepEqual(d.events.at(-1), { event: 'stopped', installationId: reg.installationId, received: 1 });
      // Every send has completed (--wait), so the emulators hold all there is: one push per device, none more.
      for (const [pns, reg] of [['browser', b], ['fcmv1', a], ['apns', i]] as const) {
        const log = await emulatorCall(h, pns, `/_emulator/deliveries?handle=${encodeURIComponent(reg.handle)}`);
        assert.equal(log.deliveries.length, 1, `${pns}: exactly one push`);
      }
    } finally {
      for (const d of [browser, android, ios]) d.kill();
    }
  });

  test('a windows device requests its channel as a Windows App SDK app does; a kindle (adm) device gets an ADM registration id; both receive (#14 items 5, 6)', async () => {
    const toast = '<toast><visual><binding template="ToastGeneric"><text>$(message)</text></binding></visual></toast>';
    const windows = startDevice(h, ['windows', '--tags', 'appsdk', '--template', `toast=${toast}`, '--count', '1']);
    const kindle = startDevice(h, ['adm', '--tags', 'appsdk', '--template', 'msg={"data":{"message":"$(message)"}}', '--count', '1']);
    try {
      const [w, k] = await Promise.all([windows.registered, kindle.registered]);
      assert.equal(w.pns, 'wns');
      assert.equal(k.pns, 'adm');
      assert.match(k.handle, /^amzn1\.adm-registration\.v3\./);
      // The channel came from CreateChannelAsync(remoteId = the sandbox's Entra application id).
      const appId = (await h.admin('GET', '/hubs/sandbox/credentials/wns')).body.summary.clientId;
      const again = await emulatorCall(h, 'wns', '/_emulator/channels', 'POST', { remoteId: appId });
      assert.equal(new URL(again.channel.uri).origin, new URL(w.handle).origin, 'a channel of the same WNS');
      const sent = await herald(h, ['send', '--hub', 'sandbox', '--tags', 'appsdk', '--format', 'template', '--message', 'hello app sdk', '--wait', '--json']);
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(JSON.parse(sent.stdout).notifications[0].outcomeCounts, { Wns: { Success: 1 }, Adm: { Success: 1 } });
      const [we, ke] = await Promise.all([windows.exit, kindle.exit]);
      for (const e of [we, ke]) assert.equal(e.code, 0, e.stderr);
      assert.match(notifications(windows)[0]!.payload, /<text>hello app sdk<\/text>/);
      assert.deepEqual(JSON.parse(notifications(kindle)[0]!.payload).data, { message: 'hello app sdk' });
    } finally {
      for (const d of [windows, kindle]) d.kill();
    }
  });

  test('bad input: unknown platform, --listen-seconds not a number, --count 0, a hub not in the sandbox; nothing is registered', async () => {
    const before = await installationCount(h, 'sandbox');
    assertOneLineFailure(await herald(h, ['device', 'blackberry']), /^herald: unknown platform "blackberry": use apns \(ios, apple\), fcmv1 \(android, fcm\), wns \(windows\), browser \(web, webpush\), adm \(kindle, amazon\)\n$/);
    assertOneLineFailure(await herald(h, ['device', 'ios', '--listen-seconds', 'soon']), /^herald: --listen-seconds must be a positive number of seconds, got "soon"\n$/);
    assertOneLineFailure(await herald(h, ['device', 'ios', '--count', '0']), /^herald: --count must be a positive whole number of notifications, got "0"\n$/);
    assertOneLineFailure(await herald(h, ['device', 'ios', '--hub', 'no-such-hub']), /^herald: Notification hub 'no-such-hub' was not found\.\n$/);
    assert.equal(await installationCount(h, 'sandbox'), before);

    // A hub whose WNS credentials point elsewhere is not in the sandbox for Windows devices.
    assert.equal((await h.admin('POST', '/hubs', { name: 'real-wns' })).status, 201);
    const set = await h.admin('PUT', '/hubs/real-wns/credentials/wns', { clientId: 'ms-app://x', clientSecret: 'secret', endpoint: 'http://127.0.0.1:1/' });
    assert.equal(set.status, 200);
    assertOneLineFailure(await herald(h, ['device', 'windows', '--hub', 'real-wns']), /^herald: hub "real-wns" is not in the sandbox for wns: its credentials send to http:\/\/127\.0\.0\.1:1\/, not to the emulator at https:/);
    assert.equal(await installationCount(h, 'real-wns'), 0);

    const bad = await herald(h, ['send', '--hub', 'sandbox', '--format', 'carrier-pigeon', '--message', 'x']);
    assertOneLineFailure(bad, /^herald: --format must be template or a platform \(apns \(ios, apple\), fcmv1 \(android, fcm\), wns \(windows\), browser \(web, webpush\), adm \(kindle, amazon\)\), got "carrier-pigeon"\n$/);
    assertOneLineFailure(await herald(h, ['send', '--hub', 'sandbox', '--tags', 'a &&', '--format', 'apns', '--message', 'x']), /^herald: the hub refused the notification \(400: Tag expression error/);
    // Without --format the CLI first counts the target's registrations: the same reason, one line.
    assertOneLineFailure(await herald(h, ['send', '--hub', 'sandbox', '--tags', 'a &&', '--message', 'x']), /^herald: Tag expression error at position 4: expected a tag, '!' or '\(' but found end of expression\.\n$/);
  });

  test('a hub that does not run in sandbox mode has no simulated devices', async () => {
    const plain = await startTestHerald({ sandbox: false });
    try {
      await plain.hubs.createHub('plain');
      const r = await herald(plain, ['device', 'android', '--hub', 'plain']);
      assertOneLineFailure(r, /^herald: the hub at http:\/\/127\.0\.0\.1:\d+ does not run in sandbox mode \(start it with "herald serve --sandbox"\): a simulated device needs its emulators\n$/);
      assert.equal(await installationCount(plain, 'plain'), 0);
    } finally {
      await plain.close();
    }
  });
});
