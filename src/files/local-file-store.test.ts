import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileStoreContract } from './file-store-contract.ts';
import { LocalFileStore } from './local-file-store.ts';

fileStoreContract(
  'local',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-files-'));
    return { store: new LocalFileStore(join(dir, 'files')), done: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-files-'));
    return { stores: [new LocalFileStore(join(dir, 'files')), new LocalFileStore(join(dir, 'files'))], done: async () => rmSync(dir, { recursive: true, force: true }) };
  },
);

test('local file store: an aborted or refused upload leaves no partial file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-files-'));
  try {
    const store = new LocalFileStore(dir);
    const w = await store.create('in/a.txt', { whole: true });
    await w.write('half');
    await w.abort();
    await store.create('in/a.txt', { whole: false }).then((o) => o.close());
    const dirW = await store.create('in', { whole: true });
    await assert.rejects(dirW.close());
    assert.deepEqual(readdirSync(dir).sort(), ['in']);
    assert.deepEqual(readdirSync(join(dir, 'in')), ['a.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
