/**
 * `herald serve` and the CLI as real processes: start-up, the printed connection strings, restart,
 * clean shutdown on SIGTERM with a request in flight, and start-up failures that name their cause.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;

interface Banner {
  httpUrl: string;
  httpsUrl: string;
  dataDir: string;
  caCertPath: string;
  connectionStrings: { full: string; listen: string };
}

function herald(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

async function serve(data: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; banner: Banner; stdout: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, 'serve', '--sandbox', '--data', data, '--port', '0', '--tls-port', '0', '--json'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const banner = await new Promise<Banner>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${err}`)), 120_000);
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (line.includes('"connectionStrings"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      }
    });
    child.stderr!.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, banner, stdout: () => out, exit };
}

/** Waits until `cond` holds, looking again every few ms; the bound only stops a hung test. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const bound = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > bound) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('herald serve', () => {
  test('prints working connection strings; the CLI prints the same; a restart keeps hubs and keys', async () => {
    const data = tempDir();
    const first = await serve(data);
    assert.match(first.banner.connectionStrings.full, /^Endpoint=sb:\/\/localhost:\d+\/;SharedAccessKeyName=DefaultFullSharedAccessSignature;SharedAccessKey=/);
    assert.equal(first.banner.caCertPath, join(data, 'tls', 'ca.crt'));
    assert.equal(statSync(join(data, 'admin.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(data, 'secret.key')).mode & 0o777, 0o600);

    const cli = herald(['hub', 'connection-string', 'sandbox', '--data', data]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), first.banner.connectionStrings.full);
    const listen = herald(['hub', 'connection-string', 'sandbox', '--rule', 'DefaultListenSharedAccessSignature', '--data', data]);
    assert.equal(listen.stdout.trim(), first.banner.connectionStrings.listen);

    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    assert.ok(!existsSync(join(data, 'server.json')), 'the runtime file goes with the process');
    assert.match(first.stdout(), /"msg":"herald stopped"/);

    const second = await serve(data);
    const key = (cs: string) => cs.split('SharedAccessKey=')[1];
    assert.equal(key(second.banner.connectionStrings.full), key(first.banner.connectionStrings.full));
    const list = JSON.parse(herald(['hub', 'list', '--json', '--data', data]).stdout);
    assert.deepEqual(list.hubs.map((x: { name: string }) => x.name), ['sandbox']);
    second.child.kill('SIGINT');
    assert.equal(await second.exit, 0);
  });

  test('SIGTERM stops accepting but finishes the request in flight', async () => {
    const data = tempDir();
    const s = await serve(data);
    const url = new URL(s.banner.httpUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let response = '';
    socket.on('data', (c) => (response += c));
    const ended = new Promise<void>((r) => socket.on('close', () => r()));
    // Headers, then half of the body once the server has read them (its 100 Continue says so): the request
    // is in flight when the signal comes, however long the server took to get there.
    socket.write('POST /sandbox/messages/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n');
    await until(() => response.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 'the server to read the request headers');
    socket.write('{"a":');
    s.child.kill('SIGTERM');
    await until(() => s.stdout().includes('shutting down'), 'the server to start shutting down');
    // The listener closes as shutdown begins; look until it has (each look is a connect, no fixed wait).
    const refusedNow = () =>
      new Promise<boolean>((resolve) => {
        const c = connect(Number(url.port), url.hostname);
        c.on('connect', () => {
          c.destroy();
          resolve(false);
        });
        c.on('error', () => resolve(true));
      });
    let refused = false;
    const bound = Date.now() + 60_000;
    while (!(refused = await refusedNow()) && Date.now() < bound) await new Promise((r) => setTimeout(r, 20));
    assert.ok(refused, 'no new connections after the signal');
    socket.write('"b"}');
    await ended;
    assert.match(response.replace('HTTP/1.1 100 Continue\r\n\r\n', ''), /^HTTP\/1\.1 401 /, 'the in-flight request got its answer');
    assert.match(response, /MissingToken/);
    assert.equal(await s.exit, 0);
  });

  test('HERALD_ADMIN_KEY replaces the generated key', async () => {
    const data = tempDir();
    const adminKey = 'an-admin-key-given-by-the-environment-0123456789';
    const s = await serve(data, { HERALD_ADMIN_KEY: adminKey });
    assert.ok(!existsSync(join(data, 'admin.key')));
    const res = await fetch(`${s.banner.httpUrl}/_admin/v1/hubs`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 200);
    const cli = herald(['hub', 'list', '--data', data], { HERALD_ADMIN_KEY: adminKey });
    assert.equal(cli.stdout.trim().split('  ')[0], 'sandbox');
    s.child.kill('SIGTERM');
    await s.exit;
  });
});

/** Starts `herald serve` and tells whether it came up or exited, and with what. */
async function tryServe(data: string): Promise<{ started: Awaited<ReturnType<typeof serve>> } | { code: number | null; stderr: string }> {
  try {
    return { started: await serve(data) };
  } catch (err) {
    const m = /^exited (\S+): ([\s\S]*)$/.exec((err as Error).message);
    if (!m) throw err;
    return { code: m[1] === 'null' ? null : Number(m[1]), stderr: m[2]! };
  }
}

describe('one process per data directory', () => {
  test('a second herald serve on a directory in use exits 1 naming the running one, and changes nothing', async () => {
    const data = tempDir();
    const first = await serve(data);
    try {
      const runtime = readFileSync(join(data, 'server.json'), 'utf8');
      const credentials = () => herald(['hub', 'credentials', 'sandbox', '--json', '--data', data]).stdout;
      const before = credentials();
      const second = await tryServe(data);
      if ('started' in second) {
        second.started.child.kill('SIGKILL');
        assert.fail('the second herald started');
      }
      assert.equal(second.code, 1);
      assert.equal(
        second.stderr,
        `herald: data directory ${data} is in use by another Herald (pid ${first.child.pid}, ${first.banner.httpUrl}); stop it first, or give this one another --data\n`,
      );
      assert.equal(readFileSync(join(data, 'server.json'), 'utf8'), runtime, 'server.json is the first one\'s');
      assert.equal(credentials(), before, 'the sandbox credentials were not minted again');
      const hubs = await fetch(`${first.banner.httpUrl}/_health`);
      assert.equal(hubs.status, 200, 'the first one still answers');
    } finally {
      first.child.kill('SIGTERM');
      await first.exit;
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('a killed herald leaves no lock behind: the next start works', async () => {
    const data = tempDir();
    try {
      const first = await serve(data);
      first.child.kill('SIGKILL');
      await first.exit;
      const second = await tryServe(data);
      assert.ok('started' in second, `the second start failed: ${'stderr' in second ? second.stderr : ''}`);
      second.started.child.kill('SIGTERM');
      assert.equal(await second.started.exit, 0);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('start-up failures name the path and the reason, and exit non-zero', () => {
  test('the data directory is a file', () => {
    const path = join(tempDir(), 'not-a-dir');
    writeFileSync(path, 'x');
    const r = herald(['serve', '--data', path, '--port', '0', '--tls-port', '0']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `herald: data directory ${path}: exists but is not a directory`);
  });

  test('the store is not a database', () => {
    const data = tempDir();
    writeFileSync(join(data, 'herald.db'), 'garbage '.repeat(1000));
    const r = herald(['serve', '--data', data, '--port', '0', '--tls-port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^herald: cannot open the store ${join(data, 'herald.db')}: file is not a database`));
  });

  test('the secret key file is damaged', () => {
    const data = tempDir();
    writeFileSync(join(data, 'secret.key'), 'not base64 at all');
    const r = herald(['serve', '--data', data, '--port', '0', '--tls-port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`the secret key file ${join(data, 'secret.key')} is damaged`));
  });

  test('the store path is a directory', () => {
    const data = tempDir();
    mkdirSync(join(data, 'herald.db'));
    const r = herald(['serve', '--data', data, '--port', '0', '--tls-port', '0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`cannot open the store ${join(data, 'herald.db')}`));
  });

  test('a bad configuration value', () => {
    const r = herald(['serve', '--data', tempDir(), '--tls-port', '0'], { HERALD_PORT: 'eighty' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^herald: invalid configuration: server\.port: .*\(from environment HERALD_PORT\)/);
  });

  test('the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = herald(['serve', '--data', tempDir(), '--port', '0', '--tls-port', String(port)]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      blocker.close();
    }
  });
});

describe('the CLI', () => {
  test('hub create, list, delete and credentials against a running hub, with --json', async () => {
    const data = tempDir();
    const s = await serve(data);
    try {
      const created = herald(['hub', 'create', 'cli-hub', '--json', '--data', data]);
      assert.equal(created.status, 0, created.stderr);
      assert.match(JSON.parse(created.stdout).connectionStrings.full, /SharedAccessKeyName=DefaultFullSharedAccessSignature/);
      const text = herald(['hub', 'list', '--data', data]);
      assert.match(text.stdout, /^cli-hub {2}\(created .*\)\nsandbox {2}\(created .*\)$/m);

      const dup = herald(['hub', 'create', 'cli-hub', '--data', data]);
      assert.equal(dup.status, 1);
      assert.equal(dup.stderr, "herald: A hub named 'cli-hub' already exists.\n");
      const bad = herald(['hub', 'create', 'bad name', '--json', '--data', data]);
      assert.equal(bad.status, 1);
      assert.equal(JSON.parse(bad.stderr).error.code, 'invalid_hub_name');

      const creds = herald(['hub', 'credentials', 'cli-hub', '--platform', 'wns', '--client-id', 'ms-app://x', '--client-secret', 'cli-secret', '--endpoint', 'http://127.0.0.1:1/', '--data', data]);
      assert.equal(creds.status, 0, creds.stderr);
      assert.match(creds.stdout, /^Set: wns {2}clientId=ms-app:\/\/x {2}secretFingerprint=sha256:[0-9a-f]{16} {2}endpoint=http:\/\/127\.0\.0\.1:1\//);
      assert.ok(!creds.stdout.includes('cli-secret'));
      const shown = herald(['hub', 'credentials', 'cli-hub', '--json', '--data', data]);
      const wns = JSON.parse(shown.stdout).credentials.find((c: { platform: string }) => c.platform === 'wns');
      assert.equal(wns.summary.clientId, 'ms-app://x');
      // Kindle (#14 item 6): the security profile's client id and secret.
      const adm = herald(['hub', 'credentials', 'cli-hub', '--platform', 'adm', '--client-id', 'amzn1.application-oa2-client.x', '--client-secret', 'adm-cli-secret', '--data', data]);
      assert.equal(adm.status, 0, adm.stderr);
      assert.match(adm.stdout, /^Set: adm {2}clientId=amzn1\.application-oa2-client\.x {2}secretFingerprint=sha256:[0-9a-f]{16}/);
      assert.ok(!adm.stdout.includes('adm-cli-secret'));

      assert.equal(herald(['hub', 'delete', 'cli-hub', '--data', data]).status, 0);
      const gone = herald(['hub', 'delete', 'cli-hub', '--data', data]);
      assert.equal(gone.status, 1);
      assert.equal(gone.stderr, "herald: Notification hub 'cli-hub' was not found.\n");
    } finally {
      s.child.kill('SIGTERM');
      await s.exit;
    }
  });

  test('--help for every command; no running hub is a one-line error', () => {
    for (const args of [['--help'], ['serve', '--help'], ['hub', '--help'], ['hub', 'create', '--help'], ['hub', 'list', '--help'], ['hub', 'delete', '--help'], ['hub', 'connection-string', '--help'], ['hub', 'credentials', '--help'], ['hub', 'rules', '--help'], ['hub', 'rules', 'add', '--help'], ['hub', 'settings', '--help'], ['jobs', '--help'], ['import', '--help'], ['export', '--help'], ['download', '--help'], ['emulators', '--help'], ['device', '--help'], ['send', '--help'], ['registrations', '--help'], ['installations', '--help']]) {
      const r = herald(args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: herald/, args.join(' '));
    }
    const r = herald(['hub', 'list', '--data', tempDir()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^herald: no running hub found for .* start one with "herald serve" or pass --url\n$/);
    assert.equal(herald(['no-such-command']).status, 1);
  });
});
