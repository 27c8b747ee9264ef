import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:https';
import { request } from 'node:https';
import { ensureDevCa } from './dev-ca.ts';

/** Temporary directories of this file, removed when its tests are done. */
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-ca-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('dev CA signs a server certificate that a client trusting only the CA accepts', async () => {
  const dir = join(tempDir(), 'tls');
  const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  assert.equal(statSync(ca.keyPath).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);

  const server = createServer({ cert: ca.cert, key: ca.key }, (_req, res) => res.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    for (const host of ['localhost', '127.0.0.1']) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host, port, ca: ca.ca, path: '/', agent: false }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve(s));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'hello');
    }
  } finally {
    server.close();
  }
});

test('dev CA is kept across starts and the server certificate is renewed for a new host name', async () => {
  const dir = join(tempDir(), 'tls');
  const first = await ensureDevCa(dir, ['localhost']);
  const again = await ensureDevCa(dir, ['localhost']);
  assert.equal(again.cert, first.cert, 'same hosts: certificate kept');
  const wider = await ensureDevCa(dir, ['localhost', 'herald.test']);
  assert.equal(wider.ca, first.ca, 'the CA never changes');
  assert.notEqual(wider.cert, first.cert);
  assert.equal(readFileSync(wider.caCertPath, 'utf8'), first.ca);
});
