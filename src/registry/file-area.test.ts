/**
 * Every path and URI parser of the file area, fuzzed (issue 10, item 12): whatever comes in, the answer
 * is a path inside the area (inside the hub's folder for a hub's job) or a 400 HubError whose message
 * names no absolute server path; never another exception (a 500).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { HubError } from '../shared/errors.ts';
import { FileArea, type FileScope } from './file-area.ts';

const FRAGMENTS = [
  '..', '.', 'a', 'in.txt', 'hubs', 'sandbox', 'other', '/', '//', '\\', '..\\', '%2e%2e', '%2E%2E', '%2F', '%2f', '%5C', '%00', '\0', '%',
  '%E0%A4%A', '%ZZ', '%C3%BC', 'ü', '\u0001', '\n', '?x=1', '#frag', ' ', '%20', 'x'.repeat(300), 'y'.repeat(1100), ':', '~', '$', '*',
];

/** A fixed-seed generator: the same inputs on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

function paths(count: number): string[] {
  const next = random(10);
  const out: string[] = ['', '.', '..', '../x', 'hubs/other/in.txt', 'hubs/sandbox/../other/in.txt', 'hubs/sandbox/in.txt', 'a/../../b', 'x'.repeat(5000)];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(next() * 6);
    let p = '';
    for (let j = 0; j < n; j++) p += FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]! + (next() < 0.5 ? '/' : '');
    out.push(p);
  }
  return out;
}

test('every path and URI the file area parses ends inside the area (or the hub folder) or as a 400 naming no server path', () => {
  const data = mkdtempSync(join(tmpdir(), 'herald-file-area-'));
  try {
    const area = new FileArea(data);
    const hub: FileScope = { kind: 'hub', hub: 'sandbox' };
    const inside = (path: string, folder: string) => {
      const rel = relative(folder, path);
      return !rel.startsWith('..') && !isAbsolute(rel);
    };
    let accepted = 0;
    let refused = 0;
    const check = (what: string, run: () => string, folder: string) => {
      let path: string;
      try {
        path = run();
      } catch (err) {
        assert.ok(err instanceof HubError, `${what}: ${(err as Error).stack}`);
        assert.equal(err.code, 'invalid_request', what);
        assert.ok(!err.message.includes(data), `${what}: the message shows a server path: ${err.message}`);
        assert.ok(!JSON.stringify(err.details).includes(data), what);
        refused++;
        return;
      }
      assert.ok(inside(path, folder), `${what} -> ${path}`);
      accepted++;
    };
    const hubFolder = join(area.root, 'hubs', 'sandbox');
    for (const p of paths(3000)) {
      check(`path ${JSON.stringify(p)}`, () => area.resolvePath(p, 'path'), area.root);
      for (const uri of [`file://${area.root}/${p}`, `file://${hubFolder}/${p}`, `file://${p}`, `file://host${area.root}/${p}`, `file:${p}`, `https://h:1/_admin/v1/files/${p}`, `http://h/_admin/v1/files/hubs/sandbox/${p}`, p]) {
        check(`uri ${JSON.stringify(uri)}`, () => area.resolveUri(uri, 'ImportFileUri'), area.root);
        check(`hub uri ${JSON.stringify(uri)}`, () => area.resolveUri(uri, 'ImportFileUri', hub), hubFolder);
      }
    }
    assert.ok(accepted > 1000 && refused > 1000, `both answers are exercised (${accepted} accepted, ${refused} refused)`);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('a hub reaches its own folder only, and the admin scope the whole area', () => {
  const data = mkdtempSync(join(tmpdir(), 'herald-file-area-'));
  try {
    const area = new FileArea(data);
    const hub: FileScope = { kind: 'hub', hub: 'sandbox' };
    const url = (rel: string) => `file://${area.root}/${rel}`;
    assert.equal(area.resolveUri(url('hubs/sandbox/in.txt'), 'ImportFileUri', hub), join(area.root, 'hubs', 'sandbox', 'in.txt'));
    assert.equal(area.resolveUri('https://h/_admin/v1/files/hubs/sandbox/out', 'OutputContainerUri', hub), join(area.root, 'hubs', 'sandbox', 'out'));
    for (const rel of ['in.txt', 'hubs/other/in.txt', 'hubs/sandbox-2/in.txt', 'hubs/sandbox/../other/in.txt', 'hubs', '']) {
      assert.throws(() => area.resolveUri(url(rel), 'ImportFileUri', hub), (e: HubError) => e.details?.reason === 'outside_hub_folder' || e.details?.reason === 'outside_file_area', rel);
      assert.throws(() => area.resolveUri(`https://h/_admin/v1/files/${rel}`, 'ImportFileUri', hub), HubError, rel);
    }
    assert.equal(area.resolveUri(url('hubs/other/in.txt'), 'ImportFileUri'), join(area.root, 'hubs', 'other', 'in.txt'));
    assert.throws(() => area.resolveUri('file://remote-host/etc/passwd', 'ImportFileUri'), (e: HubError) => e.code === 'invalid_request' && e.details?.reason === 'invalid_field');
    assert.throws(() => area.resolveUri(`file://${area.root}/a%2Fb`, 'ImportFileUri'), (e: HubError) => e.code === 'invalid_request');
    assert.throws(() => area.resolveUri('https://h/_admin/v1/files/%E0%A4%A', 'ImportFileUri'), (e: HubError) => e.code === 'invalid_request' && e.details?.reason === 'invalid_field');
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test('failures name paths relative to the area', () => {
  const data = mkdtempSync(join(tmpdir(), 'herald-file-area-'));
  try {
    const area = new FileArea(data);
    const err = Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${area.root}/out/sandbox'`), { code: 'ENOTDIR', syscall: 'mkdir', path: `${area.root}/out/sandbox` });
    assert.equal(area.describe(err), 'mkdir out/sandbox: a file stands where a folder is needed');
    assert.equal(area.describe(Object.assign(new Error('x'), { code: 'EACCES', syscall: 'open', path: '/etc/shadow' })), 'open (a path outside the file area): permission denied');
    assert.equal(area.describe(new Error(`cannot read ${area.root}/a/b`)), 'cannot read a/b');
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
