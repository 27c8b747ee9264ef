/**
 * The data directory holds every SAS key and PNS credential (issue 10, item 16): its files are private
 * to their owner whatever the umask, a directory others can read is reported, and the sandbox
 * emulators (whose control planes have no auth) listen on loopback only, whatever `--host` says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HubError } from '../src/shared/errors.ts';
import { startTestHerald, tempDir } from './helpers.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

test('the store, its WAL and SHM, and the key files are 0600 in a directory others can read, and that is reported', async (t) => {
  const parent = tempDir();
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const data = join(parent, 'data');
  // A directory the user made with mkdir under umask 022, holding an admin key copied in with cp.
  mkdirSync(data);
  chmodSync(data, 0o755);
  writeFileSync(join(data, 'admin.key'), 'an-admin-key-copied-in-by-hand-0123456789abcdef\n', { mode: 0o644 });
  chmodSync(join(data, 'admin.key'), 0o644);

  const h = await startTestHerald({ 'data.dir': data });
  try {
    // A write makes sure the WAL has been written to (it exists from the first connection on).
    assert.equal((await h.admin('POST', '/hubs', { name: 'perm-hub' })).status, 201);
    for (const file of ['herald.db', 'herald.db-wal', 'herald.db-shm', 'secret.key', 'admin.key', 'server.json', 'herald.lock', 'tls/ca.key', 'tls/server.key']) {
      assert.equal(mode(join(data, file)).toString(8), '600', file);
    }
    const warnings = h.logLines.filter((l) => l.level === 40).map((l) => ({ msg: l.msg, path: l.path, mode: l.mode }));
    assert.deepEqual(
      warnings.filter((w) => w.path !== undefined),
      [
        { msg: 'the data directory can be read by other users: chmod 700 it', path: data, mode: '755' },
        { msg: 'a secret file in the data directory could be read by other users: it was made 0600', path: join(data, 'admin.key'), mode: '644' },
      ],
    );
  } finally {
    await h.close();
  }
});

test('the sandbox emulators listen on loopback only, whatever --host says', async (t) => {
  const data = tempDir();
  t.after(() => rmSync(data, { recursive: true, force: true }));
  // 127.0.0.2 stands for "an interface other than the loopback one the emulators must keep to".
  const h = await startTestHerald({ 'data.dir': data, 'server.host': '127.0.0.2' });
  try {
    assert.match(h.httpUrl!, /^http:\/\/127\.0\.0\.2:/, 'the hub itself follows --host');
    for (const [platform, url] of Object.entries(h.emulatorUrls!)) {
      const u = new URL(url);
      assert.equal(u.hostname, '127.0.0.1', platform);
      const reached = await new Promise<boolean>((resolve) => {
        const s = connect(Number(u.port), '127.0.0.2');
        s.on('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      assert.equal(reached, false, `${platform}: not reachable on the --host interface`);
    }
  } finally {
    await h.close();
  }
});

test('a second start in the same process on a directory in use is refused; after close, a start works', async (t) => {
  const data = tempDir();
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const first = await startTestHerald({ 'data.dir': data });
  try {
    await assert.rejects(startTestHerald({ 'data.dir': data }), (e: HubError) => e.code === 'data_dir_in_use' && e.message.includes(`pid ${process.pid}, ${first.adminUrl}`));
    assert.equal((await first.admin('GET', '/hubs')).status, 200, 'the first one is untouched');
  } finally {
    await first.close();
  }
  const again = await startTestHerald({ 'data.dir': data });
  await again.close();
});
