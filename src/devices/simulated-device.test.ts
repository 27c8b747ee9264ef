/** A simulated Windows device requests its channel as a Windows App SDK app does (#14 item 5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa } from '../tls/dev-ca.ts';
import { startWnsEmulator } from '../emulators/wns/wns-emulator.ts';
import { WnsConnector } from '../pns/wns/wns-connector.ts';
import { mintDevice } from './simulated-device.ts';

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
