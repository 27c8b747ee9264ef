import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import * as http from 'node:http';
import { DeliveryWatcher } from './simulated-device.ts';

test('after an emulator restart (its delivery log begins again) the watcher hands out the new deliveries', async (t) => {
  let log: Array<{ time: string; headers: Record<string, string>; payload: string }> = [];
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ handle: 'h', deliveries: log }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const watcher = new DeliveryWatcher('fcmv1', url, 'h');
  log = [1, 2].map((i) => ({ time: `t${i}`, headers: {}, payload: `before ${i}` }));
  assert.deepEqual((await watcher.next()).map((d) => d.payload), ['before 1', 'before 2']);
  assert.deepEqual(await watcher.next(), [], 'nothing new');
  log = [{ time: 't3', headers: {}, payload: 'after the restart' }];
  assert.deepEqual((await watcher.next()).map((d) => d.payload), ['after the restart']);
});
