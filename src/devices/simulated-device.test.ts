/** Simulated devices: deliveries across an emulator restart; a Windows device requests its channel as a Windows App SDK app does (#14 item 5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa } from '../tls/dev-ca.ts';
import { startWnsEmulator } from '../emulators/wns/wns-emulator.ts';
import { WnsConnector } from '../pns/wns/wns-connector.ts';
import type { AddressInfo } from 'node:net';
import * as http from 'node:http';
import { DeliveryWatcher, mintDevice } from './simulated-device.ts';

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

test('with the app\'s Azure AppId the channel is that app\'s (its Entra credentials can push to it); without one it is the default app\'s', async () => {
  // Channel URIs are https (the connector sends to no other), so the emulator presents a dev CA's certificate.
  const dir = mkdtempSync(join(tmpdir(), 'herald-device-wns-'));
  const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  const emu = await startWnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    // An app of its own package: a channel minted for the emulator's default app would answer it 403.
    const app = await emu.mintCredentials({ package: 'Contoso.Chat_8wekyb3d8bbwe' });
    const creds = { platform: 'wns' as const, clientId: app.appId, clientSecret: app.appSecret, tenantId: app.tenantId, endpoint: emu.url };
    const toast = '<toast><visual><binding template="ToastGeneric"><text>hi</text></binding></visual></toast>';
    const device = await mintDevice('windows', emu.url, { remoteId: app.appId }, ca.ca);
    assert.equal(device.pushChannel, device.handle);
    const [o] = await wns.send({ credentials: creds, targets: [{ handle: device.handle, payload: toast }] });
    assert.equal(`${o!.kind}/${o!.status}`, 'delivered/200');
    const legacy = await mintDevice('windows', emu.url, {}, ca.ca);
    const [other] = await wns.send({ credentials: creds, targets: [{ handle: legacy.handle, payload: toast }] });
    assert.equal(other!.status, 403, 'a channel of another app');
    await assert.rejects(mintDevice('windows', emu.url, { remoteId: '00000000-0000-0000-0000-000000000000' }, ca.ca), /no Microsoft Entra app|404/);
  } finally {
    await wns.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
