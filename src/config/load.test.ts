import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './load.ts';
import { HubError } from '../shared/errors.ts';

/** Temporary directories of this file, removed when its tests are done. */
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cfg-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const here = dirname(fileURLToPath(import.meta.url));

test('the sample config loads and equals the defaults', () => {
  const sample = loadConfig({ file: join(here, 'herald.sample.yaml') });
  assert.deepEqual(sample, loadConfig({}));
  assert.equal(sample.server.tlsPort, 8443);
  assert.equal(sample.data.dir, './data');
});

test('precedence is file < environment < flags', () => {
  const dir = tempDir();
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'server:\n  port: 1000\n  tlsPort: 1001\n  host: 0.0.0.0\n');
  const cfg = loadConfig({
    file,
    env: { HERALD_PORT: '2000', HERALD_TLS_PORT: '2001' },
    flags: { 'server.tlsPort': 3001 },
  });
  assert.equal(cfg.server.host, '0.0.0.0');
  assert.equal(cfg.server.port, 2000);
  assert.equal(cfg.server.tlsPort, 3001);
});

test('a bad value names the key, the problem and where it came from', () => {
  assert.throws(
    () => loadConfig({ env: { HERALD_PORT: 'eighty' } }),
    (err: unknown) =>
      err instanceof HubError && err.code === 'config_invalid' && /server\.port: .*environment HERALD_PORT/.test(err.message),
  );
  assert.throws(() => loadConfig({ flags: { 'server.tlsPort': 70000 } }), /server\.tlsPort: .*command line/);
  assert.throws(() => loadConfig({ flags: { 'log.level': 'loud' } }), /log\.level: /);
  assert.throws(() => loadConfig({ flags: { sandbox: 'maybe' } }), /sandbox: /);
  assert.equal(loadConfig({ flags: { sandbox: 'false' } }).sandbox, false);
});

test('unknown keys and broken YAML are refused with the file path', () => {
  const dir = tempDir();
  const unknown = join(dir, 'u.yaml');
  writeFileSync(unknown, 'server:\n  prot: 1\n');
  assert.throws(() => loadConfig({ file: unknown }), /server: unknown key\(s\) prot/);
  const broken = join(dir, 'b.yaml');
  writeFileSync(broken, 'server: [1, 2\n');
  assert.throws(() => loadConfig({ file: broken }), new RegExp(`config file ${broken} is not valid YAML`));
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml') }), /cannot read config file/);
  const list = join(dir, 'l.yaml');
  writeFileSync(list, '- a\n- b\n');
  assert.throws(() => loadConfig({ file: list }), /mapping/);
});

test('tls mode files needs both paths; secret key must be 32 bytes', () => {
  assert.throws(() => loadConfig({ flags: { 'tls.mode': 'files' } }), /tls: mode "files" needs both certFile and keyFile/);
  assert.throws(() => loadConfig({ env: { HERALD_SECRET_KEY: 'c2hvcnQ=' } }), /secretKey: must be 32 bytes/);
  assert.throws(() => loadConfig({ env: { HERALD_ADMIN_KEY: 'short' } }), /adminKey: must be at least 32/);
});

test('store.url from HERALD_STORE (absent: embedded SQLite); dispatch.leaseSeconds defaults to 30', () => {
  assert.equal(loadConfig({}).store.url, undefined);
  assert.equal(loadConfig({ env: { HERALD_STORE: 'postgres://u:p@db:5432/herald' } }).store.url, 'postgres://u:p@db:5432/herald');
  assert.equal(loadConfig({ flags: { 'store.url': 'postgresql://db/herald' } }).store.url, 'postgresql://db/herald');
  assert.throws(() => loadConfig({ flags: { 'store.url': 'sqlite:herald.db' } }), /store\.url: must be a postgres:\/\//);
  assert.equal(loadConfig({}).dispatch.leaseSeconds, 30);
  assert.equal(loadConfig({ flags: { 'dispatch.leaseSeconds': '3' } }).dispatch.leaseSeconds, 3);
  assert.throws(() => loadConfig({ flags: { 'dispatch.leaseSeconds': 0 } }), /dispatch\.leaseSeconds/);
});
