/**
 * The contract every FileStore adapter is held to (files/local-file-store.test.ts,
 * store/postgres/file-store.test.ts), with no mocks: exported as a function, like the store contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HubError } from '../shared/errors.ts';
import type { FileStore } from './file-store.ts';

async function readAll(store: FileStore, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of store.read(name)) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

async function writeWhole(store: FileStore, name: string, data: Buffer | string): Promise<void> {
  const w = await store.create(name, { whole: true });
  await w.write(data);
  await w.close();
}

const isConflict = (err: unknown) => err instanceof HubError && err.code === 'file_conflict';

/**
 * `open` gives a store on a fresh, empty area; `pair` two stores on one area, as two nodes of a cluster
 * see it (each is closed by `done`).
 */
export function fileStoreContract(name: string, open: () => Promise<{ store: FileStore; done(): Promise<void> }>, pair: () => Promise<{ stores: [FileStore, FileStore]; done(): Promise<void> }>): void {
  const withStore = (title: string, body: (store: FileStore) => Promise<void>) =>
    test(`${name} file store: ${title}`, async () => {
      const { store, done } = await open();
      try {
        await body(store);
      } finally {
        await done();
      }
    });

  withStore('a whole file appears only when closed, and reads back byte for byte across many chunks', async (store) => {
    // Over 2 MiB in uneven pieces: several of the PostgreSQL adapter's chunks, not aligned to them.
    const data = randomBytes(2 * 1024 * 1024 + 12_345);
    const w = await store.create('hubs/h/in/devices.txt', { whole: true });
    for (let at = 0; at < data.length; at += 100_003) await w.write(data.subarray(at, at + 100_003));
    assert.equal(await store.stat('hubs/h/in/devices.txt'), undefined, 'not before close');
    await w.close();
    assert.deepEqual(await store.stat('hubs/h/in/devices.txt'), { bytes: data.length });
    assert.ok((await readAll(store, 'hubs/h/in/devices.txt')).equals(data));
    assert.equal(await store.stat('hubs/h/in'), undefined, 'a folder is no file');
  });

  withStore('an aborted file never appears; a file written again is replaced whole', async (store) => {
    const w = await store.create('a.txt', { whole: true });
    await w.write('half');
    await w.abort();
    assert.equal(await store.stat('a.txt'), undefined);
    await writeWhole(store, 'a.txt', 'first version, longer than the second');
    await writeWhole(store, 'a.txt', 'second');
    assert.equal((await readAll(store, 'a.txt')).toString(), 'second');
  });

  withStore('of two writers of one name the last to close wins, never a mix', async (store) => {
    const a = await store.create('same.txt', { whole: true });
    const b = await store.create('same.txt', { whole: true });
    await a.write('A'.repeat(1000));
    await b.write('B'.repeat(500));
    await b.close();
    await a.close();
    assert.equal((await readAll(store, 'same.txt')).toString(), 'A'.repeat(1000));
  });

  withStore("a job's output shows from its creation on, with what was written once closed", async (store) => {
    const w = await store.create('jobs/h/1/Output.txt', { whole: false });
    assert.ok(await store.stat('jobs/h/1/Output.txt'), 'there at once');
    await w.write('1\tSucceeded\tid-1\n');
    await w.write('2\tSucceeded\tid-2\n');
    await w.close();
    assert.equal((await readAll(store, 'jobs/h/1/Output.txt')).toString(), '1\tSucceeded\tid-1\n2\tSucceeded\tid-2\n');
    assert.deepEqual(await store.stat('jobs/h/1/Output.txt'), { bytes: 34 });
  });

  withStore('a file where a folder is needed, or a folder where the file would go, is file_conflict and writes nothing', async (store) => {
    await writeWhole(store, 'blocked', 'in the way');
    for (const whole of [true, false]) {
      await assert.rejects(async () => {
        const w = await store.create('blocked/h/1/Output.txt', { whole });
        await w.write('x');
        await w.close();
      }, isConflict);
    }
    assert.equal(await store.stat('blocked/h/1/Output.txt'), undefined);
    await writeWhole(store, 'dir/file.txt', 'x');
    for (const whole of [true, false]) {
      await assert.rejects(async () => {
        const w = await store.create('dir', { whole });
        await w.write('x');
        await w.close();
      }, isConflict);
    }
    assert.equal((await readAll(store, 'dir/file.txt')).toString(), 'x');
  });

  withStore('reading a file that is not there fails with not_found', async (store) => {
    await assert.rejects(readAll(store, 'nothing.txt'), (err: unknown) => err instanceof HubError && err.code === 'not_found');
  });

  withStore("a hub's folder goes whatever the case of its name; other hubs' and area files stay", async (store) => {
    await writeWhole(store, 'hubs/Gone/in.txt', 'a');
    await writeWhole(store, 'hubs/gone/out/Output.txt', 'b');
    await writeWhole(store, 'hubs/other/in.txt', 'c');
    await writeWhole(store, 'hubs/gone-not/in.txt', 'd');
    await writeWhole(store, 'jobs/gone/1/Output.txt', 'e');
    await store.removeHubFolder('GONE');
    assert.equal(await store.stat('hubs/Gone/in.txt'), undefined);
    assert.equal(await store.stat('hubs/gone/out/Output.txt'), undefined);
    for (const kept of ['hubs/other/in.txt', 'hubs/gone-not/in.txt', 'jobs/gone/1/Output.txt']) assert.ok(await store.stat(kept), kept);
    await store.removeHubFolder('never-had-files');
  });

  test(`${name} file store: a file uploaded through one node is read through another`, async () => {
    const { stores, done } = await pair();
    try {
      const data = randomBytes(300_000);
      await writeWhole(stores[0], 'hubs/h/import.txt', data);
      assert.deepEqual(await stores[1].stat('hubs/h/import.txt'), { bytes: data.length });
      assert.ok((await readAll(stores[1], 'hubs/h/import.txt')).equals(data));
      await stores[1].removeHubFolder('h');
      assert.equal(await stores[0].stat('hubs/h/import.txt'), undefined);
    } finally {
      await done();
    }
  });
}
