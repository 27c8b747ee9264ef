/**
 * Uploads into the file area (issue 10, item 16): each request writes its own partial file, renamed into
 * place when it succeeds and removed when it fails, so two uploads to one path never interleave.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { startTestHerald, type TestHerald } from './helpers.ts';

/** Waits (polling the disk, no deadline of its own) until `ready` holds. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}

describe('uploads', () => {
  let h: TestHerald;
  let files: string;
  before(async () => {
    h = await startTestHerald();
    files = join(h.dataDir, 'files');
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  function upload(path: string, length: number): { req: ClientRequest; response: Promise<{ status: number; body: string }> } {
    const url = new URL(`${h.adminUrl}/_admin/v1/files/${path}`);
    const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'text/plain', 'content-length': String(length) } });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res: IncomingMessage) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
    });
    return { req, response };
  }

  /** Partial files of `target` on disk, with their contents. */
  const partials = (target: string) =>
    readdirSync(dirname(target))
      .filter((n) => n.startsWith(`${basename(target)}.`))
      .map((n) => readFileSync(join(dirname(target), n), 'latin1'));

  test('two concurrent uploads to one path: the file is one of them whole, never a mix', async () => {
    const target = join(files, 'race', 'devices.txt');
    const a = ['A'.repeat(1000), 'a'.repeat(1000)];
    const b = ['B'.repeat(3000), 'b'.repeat(3000)];
    const first = upload('race/devices.txt', 2000);
    first.req.write(a[0]);
    await until(() => existsSync(dirname(target)) && partials(target).some((p) => p.startsWith(a[0]!)));
    const second = upload('race/devices.txt', 6000);
    second.req.write(b[0]);
    await until(() => partials(target).some((p) => p.startsWith(b[0]!)));
    // Both are half written: the first ends, then the second.
    first.req.end(a[1]);
    assert.equal((await first.response).status, 201);
    assert.equal(readFileSync(target, 'latin1'), a.join(''));
    second.req.end(b[1]);
    const res = await second.response;
    assert.equal(res.status, 201, res.body);
    assert.equal(readFileSync(target, 'latin1'), b.join(''), 'the last upload, whole');
    assert.deepEqual(partials(target), [], 'no partial file is left');
    assert.equal((statSync(target).mode & 0o777).toString(8), '600');
  });

  test('an upload cut off midway leaves neither the file nor a partial one', async () => {
    const target = join(files, 'cut', 'devices.txt');
    const cut = upload('cut/devices.txt', 5000);
    cut.response.catch(() => undefined);
    cut.req.write('x'.repeat(1000));
    await until(() => existsSync(dirname(target)) && partials(target).some((p) => p.length === 1000));
    cut.req.destroy();
    await until(() => partials(target).length === 0);
    assert.equal(existsSync(target), false);
  });
});
