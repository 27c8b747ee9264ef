/**
 * The compiled `herald` command as a user runs it (bin/herald.js -> dist/cli.js), against a sandbox hub in
 * this process: the version, the platform words and their aliases, the README's walkthrough, sends that
 * pick their format and exit non-zero unless every device got the push, test sends, jobs, downloads into
 * a closed pipe, Ctrl+C during long work, rules and settings, and one-line failures. Every CLI call is
 * asynchronous (a spawnSync would block the hub that answers it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestHerald, tempDir, type TestHerald } from './helpers.ts';
import { checkBuild, heraldBin } from './cli-bin.ts';
import { AzureHubClient, ruleKeyOf } from '../src/devices/azure-hub.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
/** Upper bound of any one wait here; a bound, not a timing goal. */
const BOUND_MS = 60_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv, bin = heraldBin): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: BOUND_MS, encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const envOf = (h: TestHerald) => ({ HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey, HERALD_DATA: h.dataDir });
const herald = (h: TestHerald, args: string[]) => run(args, envOf(h));

function assertOneLineFailure(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** `herald device ... --json --count 1`: resolves when it registered; `done` when it got its one push. */
function startDevice(h: TestHerald, args: string[]) {
  const child = spawn(process.execPath, [heraldBin, 'device', ...args, '--json', '--count', '1'], { env: { ...process.env, ...envOf(h) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Array<Record<string, any>> = [];
  let stderr = '';
  let buffered = '';
  const registered = new Promise<Record<string, any>>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as Record<string, any>;
        events.push(event);
        if (event.event === 'registered') resolve(event);
      }
    });
    child.on('close', (code) => reject(new Error(`device ${args.join(' ')} exited ${code} before registering: ${stderr}`)));
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { events, registered, done, kill: () => child.kill('SIGTERM') };
}

/** A management API that answers like a hub whose job never ends: for Ctrl+C during long work. */
async function startStuckHub(): Promise<{ url: string; requests: string[]; server: Server; polled: (n: number) => Promise<void> }> {
  const requests: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const job = { id: 'j1', type: 'ImportCreateRegistrations', status: 'Running', progress: 40, outputContainerUri: 'file:///x' };
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      for (const w of waiters.filter((w) => requests.filter((r) => r.startsWith('GET /_admin/v1/hubs/h/jobs/j1')).length >= w.n)) w.resolve();
      res.setHeader('content-type', 'application/json');
      if (req.method === 'PUT') res.end(JSON.stringify({ path: 'imports/x', bytes: 1 }));
      else if (req.method === 'POST') res.writeHead(201).end(JSON.stringify(job));
      else res.end(JSON.stringify(job));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    polled: (n) => new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

/** A hub whose one notification stays in `state` (Azure surface and management API, as the CLI reads them). */
async function startFakeHub(state: string, counts = ''): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.startsWith('/_admin/v1/hubs/h/rules/')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ primary: 'Endpoint=sb://localhost/;SharedAccessKeyName=DefaultFullSharedAccessSignature;SharedAccessKey=a2V5' }));
      } else if (url.startsWith('/_admin/v1/hubs/h/messages/n1/outcomes')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ items: [{ platform: 'apns', handle: 'ab'.repeat(32), outcome: 'PnsUnavailable', reason: '503 Service Unavailable', attempts: 7 }] }));
      } else if (req.method === 'POST' && url.startsWith('/h/messages/')) {
        res.writeHead(201, { location: `http://${req.headers.host}/h/messages/n1?api-version=2020-06` }).end();
      } else if (url.startsWith('/h/messages/n1')) {
        res.setHeader('content-type', 'application/xml');
        res.end(`<NotificationDetails xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><NotificationId>n1</NotificationId><Location>x</Location><State>${state}</State>${counts}</NotificationDetails>`);
      } else res.writeHead(404).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe('the compiled herald command', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald();
  });
  after(() => h.close());

  test('--version prints package.json version, the one GET /_health shows; --help lists the commands', async () => {
    const v = await herald(h, ['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout, `${version}\n`);
    assert.equal(((await (await fetch(`${h.adminUrl}/_health`)).json()) as { version: string }).version, version);
    const help = await herald(h, ['--help']);
    assert.equal(help.code, 0);
    for (const command of ['serve', 'hub', 'send', 'device', 'jobs', 'import', 'export', 'download']) assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
  });

  test('without dist/ (an install with --ignore-scripts), bin/herald.js runs the sources through tsx and says so', async () => {
    const clone = tempDir('herald-nodist-');
    mkdirSync(join(clone, 'bin'));
    cpSync(join(root, 'bin/herald.js'), join(clone, 'bin/herald.js'));
    for (const name of ['src', 'node_modules', 'package.json']) symlinkSync(join(root, name), join(clone, name));
    const r = await run(['--version'], {}, join(clone, 'bin/herald.js'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
    assert.match(r.stderr, /^herald: dist\/ is missing \(installed with --ignore-scripts\?\), running the sources through tsx; "npm run build" makes every start faster\n$/);
  });

  test('the build: import.meta.url in compiled code is its source file URL; a changed source makes dist/ stale', async () => {
    const project = tempDir('herald-build-');
    mkdirSync(join(project, 'scripts'));
    mkdirSync(join(project, 'src/cli'), { recursive: true });
    cpSync(join(root, 'scripts/build.js'), join(project, 'scripts/build.js'));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    writeFileSync(join(project, 'src/cli/data.txt'), 'read beside the source\n');
    writeFileSync(join(project, 'src/cli/main.ts'), "import { readFileSync } from 'node:fs';\nprocess.stdout.write(readFileSync(new URL('./data.txt', import.meta.url), 'utf8'));\n");
    const built = await new Promise<Result>((resolve) => execFile(process.execPath, [join(project, 'scripts/build.js')], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })));
    assert.equal(built.code, 0, built.stderr);
    const ran = await run([], {}, join(project, 'dist/cli.js'));
    assert.equal(ran.stdout, 'read beside the source\n', ran.stderr);
    checkBuild(project);
    writeFileSync(join(project, 'src/cli/main.ts'), 'process.stdout.write("changed");\n');
    assert.throws(() => checkBuild(project), /^Error: dist\/ is stale \(the sources changed since it was built\): run "npm run build"$/);
  });

  test("the README's walkthrough: a device registered with --user 42 gets the send to --user 42, in the format of its registration", async () => {
    const device = startDevice(h, ['ios', '--user', '42']);
    try {
      const reg = await device.registered;
      assert.equal(reg.pns, 'apns');
      const sent = await herald(h, ['send', '--hub', 'sandbox', '--user', '42', '--message', 'hi', '--wait']);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^Notification \S+ \(apns\): Completed\n {2}Apns {5}Success 1\n$/);
      assert.equal(await device.done, 0);
      const got = device.events.filter((e) => e.event === 'notification');
      assert.equal(got.length, 1);
      assert.deepEqual(JSON.parse(got[0]!.payload), { aps: { alert: 'hi' } });
    } finally {
      device.kill();
    }
  });

  test('platform aliases: web and android devices, --format apple|windows|fcm, credentials --platform ios; one send per platform when no --format', async () => {
    const web = startDevice(h, ['web', '--tags', 'aliases']);
    const android = startDevice(h, ['android', '--tags', 'aliases']);
    try {
      const [w, a] = await Promise.all([web.registered, android.registered]);
      assert.equal(w.pns, 'browser');
      assert.equal(a.pns, 'fcmv1');
      const r = await herald(h, ['send', '--hub', 'sandbox', '--tags', 'aliases', '--message', 'both', '--wait', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.ok, true);
      assert.deepEqual(out.notifications.map((n: { format: string; state: string }) => [n.format, n.state]).sort(), [['browser', 'Completed'], ['fcmv1', 'Completed']]);
      assert.deepEqual([await web.done, await android.done], [0, 0]);
      assert.deepEqual(JSON.parse(android.events.find((e) => e.event === 'notification')!.payload).notification, { body: 'both' });
    } finally {
      web.kill();
      android.kill();
    }
    const creds = await herald(h, ['hub', 'credentials', 'sandbox', '--platform', 'iOS', '--json']);
    assert.equal(creds.code, 0, creds.stderr);
    assert.equal(JSON.parse(creds.stdout).platform, 'apns');
    // --format fcm is fcmv1; a target nobody has: the telemetry says NoTargetFound, the CLI says why.
    const fcm = await herald(h, ['send', '--hub', 'sandbox', '--tags', 'nobody-here', '--format', 'fcm', '--message', 'x', '--wait']);
    assert.equal(fcm.code, 2);
    assert.match(fcm.stdout, /^Notification \S+ \(fcmv1\): NoTargetFound\n {2}next: no registration matches "nobody-here" on hub "sandbox" \(it has \d+ in all\)\n$/);
  });

  test('send says exactly why nothing matched, exits 2, and sends nothing', async () => {
    const sends = async () => /herald_http_requests_total\{method="POST",route="azure:sendNotification",status="201"\} (\d+)/.exec(await (await fetch(`${h.adminUrl}/_metrics`)).text())?.[1] ?? '0';
    const before = await sends();
    const r = await herald(h, ['send', '--hub', 'sandbox', '--tags', 'UserId:42', '--message', 'hi', '--wait']);
    assertOneLineFailure(r, 2, /^herald: no registration matches "UserId:42" on hub "sandbox" \(it has \d+ in all\); a device registered with --user 42 carries the tag \$UserId:\{42\}: send with --user 42\n$/);
    assert.equal(r.stdout, '');
    assert.equal(await sends(), before, 'no notification was sent');

    assert.equal((await h.admin('POST', '/hubs', { name: 'empty-hub' })).status, 201);
    assertOneLineFailure(await herald(h, ['send', '--hub', 'empty-hub', '--message', 'hi']), 2, /^herald: hub "empty-hub" has no registrations at all: start a device \(herald device browser --hub empty-hub\) or register one\n$/);
  });

  describe('a hub whose APNs credentials are gone', () => {
    before(async () => {
      assert.equal((await h.admin('POST', '/hubs', { name: 'nocreds' })).status, 201);
      assert.equal((await h.admin('DELETE', '/hubs/nocreds/credentials/apns')).status, 204);
      const listen = (await h.admin('GET', '/hubs/nocreds/rules/DefaultListenSharedAccessSignature/connection-strings')).body.primary;
      await new AzureHubClient(h.httpUrl!, 'nocreds', ruleKeyOf(listen)).putInstallation({ installationId: 'i-1', platform: 'apns', pushChannel: 'ab'.repeat(32), tags: ['t'] });
    });

    test('send --wait prints the per-PNS outcome, the device and the next step, and exits 2', async () => {
      const r = await herald(h, ['send', '--hub', 'nocreds', '--tags', 't', '--message', 'hi', '--wait']);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stdout.split('\n');
      assert.match(lines[0]!, /^Notification \S+ \(apns\): Completed$/);
      assert.equal(lines[1], '  Apns     InvalidCredentials 1');
      assert.match(lines[2]!, /^ {2}failed: apns (AB){18}A\.\.\. {2}InvalidCredentials: no APNs credentials for this hub \(1 attempt\(s\)\)$/);
      assert.equal(lines[3], '  next: the apns service refused the hub\'s credentials: check them with "herald hub credentials nocreds" and set them again with "herald hub credentials nocreds --platform apns ..."');
      const json = JSON.parse((await herald(h, ['send', '--hub', 'nocreds', '--tags', 't', '--message', 'hi', '--wait', '--json'])).stdout);
      assert.equal(json.ok, false);
      assert.deepEqual(json.notifications[0].outcomeCounts, { Apns: { InvalidCredentials: 1 } });
    });

    test('send --test answers with each device and exits 2 when one failed, 0 when all succeeded', async () => {
      const failed = await herald(h, ['send', '--hub', 'nocreds', '--tags', 't', '--format', 'ios', '--message', 'hi', '--test', '--json']);
      assert.equal(failed.code, 2, failed.stderr);
      const t = JSON.parse(failed.stdout).tests[0];
      assert.equal(t.format, 'apns');
      assert.equal(t.success, 0);
      assert.equal(t.failure, 1);
      assert.equal(t.results.length, 1);
      assert.equal(t.results[0].handle.toLowerCase(), 'ab'.repeat(32));

      const device = startDevice(h, ['browser', '--tags', 'tested']);
      try {
        await device.registered;
        const ok = await herald(h, ['send', '--hub', 'sandbox', '--tags', 'tested', '--message', 'hi', '--test']);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^Test send \(browser\): 1 succeeded, 0 failed\.\n {2}browser {2}https:\/\/127\.0\.0\.1:\d+\/push\/\S+ {2}\S+ {2}Success\n$/);
        assert.equal(await device.done, 0);
      } finally {
        device.kill();
      }
      assertOneLineFailure(await herald(h, ['send', '--hub', 'nocreds', '--message', 'x', '--test', '--wait']), 1, /^herald: give --wait or --test, not both/);
    });
  });

  test('bad words are one line with every accepted word; a usage error too', async () => {
    assertOneLineFailure(
      await herald(h, ['device', 'blackberry']),
      1,
      /^herald: unknown platform "blackberry": use apns \(ios, apple\), fcmv1 \(android, fcm\), wns \(windows\), browser \(web, webpush\), adm \(kindle, amazon\)\n$/,
    );
    assertOneLineFailure(await herald(h, ['send', '--hub', 'sandbox', '--format', 'carrier-pigeon', '--message', 'x']), 1, /^herald: --format must be template or a platform \(apns \(ios, apple\), .*\), got "carrier-pigeon"\n$/);
    assertOneLineFailure(await herald(h, ['hub', 'credentials', 'sandbox', '--platform', 'pager']), 1, /^herald: --platform "pager" is not a platform: use one of apns \(ios, apple\)/);
    assertOneLineFailure(await herald(h, ['send', '--hub', 'sandbox', '--body', '{}']), 1, /^herald: --body is one platform's payload: name it with --format/);
    assertOneLineFailure(await herald(h, ['hub', 'lis']), 1, /^herald: unknown command 'lis' \(add --help for usage\)\n$/);
    assertOneLineFailure(await run(['hub', 'list', '--url', 'http://127.0.0.1:1', '--admin-key', 'k'], {}), 1, /^herald: cannot reach the hub at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\); is "herald serve" running\?\n$/);
  });

  test('jobs: an import with a bad line exits 2; herald jobs lists, shows and follows it; download --json', async () => {
    const dir = tempDir();
    const file = join(dir, 'devices.txt');
    writeFileSync(file, 'not a registration\n');
    const imported = await herald(h, ['import', file, '--hub', 'sandbox', '--json']);
    assert.equal(imported.code, 2, imported.stderr);
    const { job, failed, failedLinesFile } = JSON.parse(imported.stdout);
    assert.equal(failed, 1);

    const list = await herald(h, ['jobs', '--hub', 'sandbox']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${job}  ImportCreateRegistrations  Completed  \\(created \\S+\\)\\n  lines: 0 succeeded, 1 failed\\n`));
    const shown = await herald(h, ['jobs', job, '--hub', 'sandbox', '--follow', '--json']);
    assert.equal(shown.code, 2, 'a job with a failed line');
    assert.equal(JSON.parse(shown.stdout).status, 'Completed');
    assertOneLineFailure(await herald(h, ['jobs', 'no-such-job', '--hub', 'sandbox']), 1, /^herald: Job 'no-such-job' was not found\.\n$/);
    assertOneLineFailure(await herald(h, ['jobs', '--hub', 'sandbox', '--follow']), 1, /^herald: --follow needs a job id/);

    const lines = await herald(h, ['download', failedLinesFile, '--json']);
    assert.equal(lines.code, 0, lines.stderr);
    const parsed = lines.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].line, 1);
    assert.match(parsed[0].text, /^1\t.*\tnot a registration$/);
  });

  test('download into a pipe that closes early (| head -1) ends quietly with status 0', async () => {
    const big = `${'x'.repeat(99)}\n`.repeat(20_000); // 2 MB: far more than a pipe holds
    const put = await fetch(`${h.adminUrl}/_admin/v1/files/big.txt`, { method: 'PUT', headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/octet-stream' }, body: big });
    assert.equal(put.status, 201, await put.text());
    const child = spawn(process.execPath, [heraldBin, 'download', 'big.txt'], { env: { ...process.env, ...envOf(h) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  test('Ctrl+C during an import or a follow says the job goes on in the hub, and exits 130', async () => {
    const stuck = await startStuckHub();
    try {
      const dir = tempDir();
      const file = join(dir, 'devices.txt');
      writeFileSync(file, 'x\n');
      for (const args of [['import', file, '--hub', 'h'], ['jobs', 'j1', '--hub', 'h', '--follow']]) {
        const polled = stuck.polled(stuck.requests.filter((r) => r.startsWith('GET /_admin/v1/hubs/h/jobs/j1')).length + 2);
        const child = spawn(process.execPath, [heraldBin, ...args, '--url', stuck.url, '--admin-key', 'k'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        await polled; // the CLI is in its wait loop
        child.kill('SIGINT');
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        assert.equal(code, 130, stderr);
        assert.equal(stderr.trim(), 'herald: stopped watching; job j1 goes on in the hub (a job cannot be cancelled): follow it with "herald jobs j1 --hub h --follow"');
      }
    } finally {
      stuck.server.close();
    }
  });

  test('hub rules: list, add, regenerate, delete; bad rights store nothing', async () => {
    const names = async () => (await h.admin('GET', '/hubs/sandbox/rules')).body.rules.map((r: { name: string }) => r.name).sort();
    const listed = await herald(h, ['hub', 'rules', 'sandbox']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, 'DefaultFullSharedAccessSignature  Listen, Send, Manage\nDefaultListenSharedAccessSignature  Listen\n');

    const added = await herald(h, ['hub', 'rules', 'add', 'sandbox', 'backend', '--rights', 'send,listen', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const rule = JSON.parse(added.stdout);
    assert.deepEqual([...rule.rights].sort(), ['Listen', 'Send']);
    assert.match(rule.connectionString, /;SharedAccessKeyName=backend;SharedAccessKey=/);
    assert.deepEqual(await names(), ['DefaultFullSharedAccessSignature', 'DefaultListenSharedAccessSignature', 'backend']);

    const regenerated = JSON.parse((await herald(h, ['hub', 'rules', 'regenerate', 'sandbox', 'backend', '--secondary', '--json'])).stdout);
    assert.equal(regenerated.primaryKey, rule.primaryKey, 'the primary key is kept');
    assert.notEqual(regenerated.secondaryKey, rule.secondaryKey);

    assertOneLineFailure(await herald(h, ['hub', 'rules', 'add', 'sandbox', 'other', '--rights', 'fly']), 1, /^herald: --rights must be a comma-separated list of Listen, Send, Manage, got "fly"\n$/);
    assert.deepEqual(await names(), ['DefaultFullSharedAccessSignature', 'DefaultListenSharedAccessSignature', 'backend']);

    const deleted = await herald(h, ['hub', 'rules', 'delete', 'sandbox', 'backend']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(await names(), ['DefaultFullSharedAccessSignature', 'DefaultListenSharedAccessSignature']);
  });

  test('hub settings: show, change TTL and rate limits, "never"/"none" clear them; bad values change nothing', async () => {
    assert.equal((await h.admin('POST', '/hubs', { name: 'tuned' })).status, 201);
    // What is stored, with an unset setting as null.
    const stored = async () => ({ registrationTtlSeconds: null, sendsPerSecond: null, registrationsPerSecond: null, ...(await h.admin('GET', '/hubs/tuned')).body.settings });
    const shown = await herald(h, ['hub', 'settings', 'tuned']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, 'Hub "tuned":\n  registration TTL          never (registrations do not expire)\n  sends per second          no limit\n  registrations per second  no limit\n');
    const set = await herald(h, ['hub', 'settings', 'tuned', '--registration-ttl', '3600', '--sends-per-second', '5', '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await stored(), { registrationTtlSeconds: 3600, sendsPerSecond: 5, registrationsPerSecond: null });

    assertOneLineFailure(await herald(h, ['hub', 'settings', 'tuned', '--registration-ttl', '0']), 1, /^herald: registrationTtlSeconds must be null \(never expire\) or a whole number of seconds from 1 to 315360000\.\n$/);
    assertOneLineFailure(await herald(h, ['hub', 'settings', 'tuned', '--sends-per-second', 'lots']), 1, /^herald: --sends-per-second must be a number or "none", got "lots"\n$/);
    assert.deepEqual(await stored(), { registrationTtlSeconds: 3600, sendsPerSecond: 5, registrationsPerSecond: null });

    const cleared = await herald(h, ['hub', 'settings', 'tuned', '--registration-ttl', 'never', '--sends-per-second', 'none']);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.deepEqual(await stored(), { registrationTtlSeconds: null, sendsPerSecond: null, registrationsPerSecond: null });
  });
  test('send --wait: Abandoned exits 2 with the device, its reason and the next step; still Processing at --wait-seconds exits 3', async () => {
    const abandoned = await startFakeHub('Abandoned', '<ApnsOutcomeCounts><Outcome><Name>PnsUnavailable</Name><Count>1</Count></Outcome></ApnsOutcomeCounts>');
    const processing = await startFakeHub('Processing');
    try {
      const a = await run(['send', '--hub', 'h', '--format', 'apns', '--message', 'x', '--wait', '--url', abandoned.url, '--admin-key', 'k'], {});
      assert.equal(a.code, 2, a.stderr);
      assert.equal(
        a.stdout,
        [
          'Notification n1 (apns): Abandoned',
          '  Apns     PnsUnavailable 1',
          `  failed: apns ${'AB'.repeat(18).toLowerCase()}a...  PnsUnavailable: 503 Service Unavailable (7 attempt(s))`,
          '  next: the apns service did not take the push in time and Herald gave up retrying: check the service (and the hub\'s credentials endpoint), then send again',
          '  next: Herald gave up on it after retrying; see why per device: GET /_admin/v1/hubs/h/messages/n1/outcomes',
          '',
        ].join('\n'),
      );
      // The bound is the command's own --wait-seconds; the hub never finishes, so it is always reached.
      const p = await run(['send', '--hub', 'h', '--format', 'apns', '--message', 'x', '--wait', '--wait-seconds', '0.3', '--url', processing.url, '--admin-key', 'k', '--json'], {});
      assert.equal(p.code, 3, p.stderr);
      const out = JSON.parse(p.stdout);
      assert.equal(out.ok, false);
      assert.equal(out.timedOut, 'notification n1 is still Processing after 0.3 s');
    } finally {
      abandoned.server.close();
      processing.server.close();
    }
  });
});
