/**
 * `herald serve --store postgres://...` as real processes: two nodes on one database are one hub; a shared
 * store without the keys from configuration, or a PostgreSQL nobody answers, stops the start with one line.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { removeTempDir, tempDir } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';
import { heraldBin } from './cli-bin.ts';

const bin = heraldBin;
const postgres = usePostgresServer();
const keys = { HERALD_ADMIN_KEY: 'a'.repeat(40), HERALD_SECRET_KEY: randomBytes(32).toString('base64') };
const withoutKeys = { HERALD_ADMIN_KEY: '', HERALD_SECRET_KEY: '' };

function herald(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, HERALD_STORE: '', ...env }, timeout: 60_000 });
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a node and resolves with its banner once it listens; `stop` sends SIGTERM and waits for the exit. */
async function node(data: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, 'serve', '--data', data, '--port', '0', '--tls-port', '0', '--json'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  const banner = await new Promise<{ httpUrl: string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"httpUrl"'));
      if (line) resolve(JSON.parse(line));
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return {
    banner,
    log: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

describe('herald serve --store', () => {
  test('two nodes on one PostgreSQL database are one hub: a hub created on one is served by the other', async (t) => {
    const url = await postgres.createDatabase();
    const [d1, d2] = [tempDir(), tempDir()];
    t.after(() => [d1, d2].forEach(removeTempDir));
    const env = { ...keys, HERALD_STORE: url };
    const a = await node(d1, env);
    const b = await node(d2, env);
    try {
      const auth = { authorization: `Bearer ${keys.HERALD_ADMIN_KEY}`, 'content-type': 'application/json' };
      const created = await fetch(`${a.banner.httpUrl}/_admin/v1/hubs`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'shared' }) });
      assert.equal(created.status, 201);
      const seen = await fetch(`${b.banner.httpUrl}/_admin/v1/hubs/shared`, { headers: auth });
      assert.equal(seen.status, 200);
      assert.match(a.log(), /"store":"postgres"/);
      // Keys come from configuration: no node writes key files of its own.
      for (const d of [d1, d2]) assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.key')), []);
    } finally {
      assert.equal(await a.stop(), 0);
      assert.equal(await b.stop(), 0);
    }
  });

  test('HERALD_STORE does what --store does; a store URL that is not postgres:// is a configuration error', () => {
    const r = herald(['serve', '--data', tempDir(), '--port', '0', '--tls-port', '0'], { ...keys, HERALD_STORE: 'mysql://u:p@h/db' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^herald: invalid configuration: store\.url: must be a postgres:\/\/.*\(from environment HERALD_STORE\)\n$/);
  });

  test('a shared store without HERALD_ADMIN_KEY and HERALD_SECRET_KEY: exit 1 naming both, nothing generated', () => {
    const data = tempDir();
    const r = herald(['serve', '--data', data, '--port', '0', '--tls-port', '0', '--store', 'postgres://u:p@127.0.0.1:1/db'], withoutKeys);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^herald: a shared store \(--store\) needs HERALD_ADMIN_KEY \(adminKey\) and HERALD_SECRET_KEY \(secretKey\)/);
    assert.ok(!existsSync(join(data, 'admin.key')) && !existsSync(join(data, 'secret.key')));
    const one = herald(['serve', '--data', data, '--port', '0', '--tls-port', '0', '--store', 'postgres://u:p@127.0.0.1:1/db'], { ...withoutKeys, HERALD_ADMIN_KEY: keys.HERALD_ADMIN_KEY });
    assert.equal(one.status, 1);
    assert.match(one.stderr, /needs HERALD_SECRET_KEY \(secretKey\), the same/);
  });

  test('sandbox mode on a shared store is refused', () => {
    const r = herald(['serve', '--sandbox', '--data', tempDir(), '--port', '0', '--tls-port', '0', '--store', 'postgres://u:p@127.0.0.1:1/db'], keys);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^herald: sandbox mode runs its PNS emulators inside one node/);
  });

  test('PostgreSQL unreachable at start: exit 1 naming the URL without its password, and the reason', async () => {
    const port = await freePort();
    const password = 's3cret-pw';
    const r = herald(['serve', '--data', tempDir(), '--port', '0', '--tls-port', '0', '--store', `postgres://herald:${password}@127.0.0.1:${port}/herald`], keys);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^herald: cannot open the PostgreSQL store postgres://herald:\\*\\*\\*@127\\.0\\.0\\.1:${port}/herald: .*ECONNREFUSED`));
    assert.ok(!r.stderr.includes(password));
  });
});
