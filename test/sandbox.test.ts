/**
 * Sandbox mode: the PNS emulators run beside the hub, every hub gets emulator credentials unless it
 * has real ones, and those credentials really work against the emulators.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  NotificationHubsClient,
  createAppleNotification,
  createAppleRegistrationDescription,
  createBrowserNotification,
  createBrowserRegistrationDescription,
  createFcmV1Notification,
  createFcmV1RegistrationDescription,
  createWindowsRawNotification,
  createWindowsRegistrationDescription,
} from '@azure/notification-hubs';
import { Agent, request } from 'node:https';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startHerald } from '../src/main.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, tempDir, type TestHerald } from './helpers.ts';

function httpsJson(url: string, method: string, ca: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('sandbox mode', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald();
  });
  after(() => h.close());

  test('GET /_admin/v1/sandbox lists the five emulators, each answering its control plane', async () => {
    const res = await h.admin('GET', '/sandbox');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body.emulators).sort(), ['adm', 'apns', 'browser', 'fcmv1', 'wns']);
    for (const url of Object.values(res.body.emulators) as string[]) {
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  test('the sandbox hub and every new hub get emulator credentials for each platform', async () => {
    const creds = (await h.admin('GET', '/hubs/sandbox/credentials')).body.credentials;
    assert.deepEqual(creds.map((c: { platform: string }) => c.platform), ['adm', 'apns', 'browser', 'fcmv1', 'wns']);
    const urls = (await h.admin('GET', '/sandbox')).body.emulators;
    for (const c of creds) {
      assert.equal(c.summary.source, 'sandbox emulator');
      assert.equal(c.endpoint, urls[c.platform]);
    }
    await h.admin('POST', '/hubs', { name: 'second' });
    assert.equal((await h.admin('GET', '/hubs/second/credentials')).body.credentials.length, 5);
  });

  test('the minted Web Push keys are accepted by the emulator: an encrypted push arrives and decrypts', async () => {
    const webpush = (await import('web-push')).default;
    const creds = await h.hubs.openCredentials('sandbox', 'browser');
    assert.ok(creds.platform === 'browser');
    const ca = readFileSync(h.caCertPath!, 'utf8');
    const agent = new Agent({ ca });
    const urls = h.emulatorUrls!;
    const device = (await httpsJson(`${urls.browser}/_emulator/devices`, 'POST', ca, {})) as { handle: string; endpoint: string; keys: { p256dh: string; auth: string } };
    const res = await webpush.sendNotification({ endpoint: device.endpoint, keys: device.keys }, 'hello from the sandbox', {
      vapidDetails: { subject: creds.subject, publicKey: creds.publicKey, privateKey: creds.privateKey },
      agent,
    });
    assert.equal(res.statusCode, 201);
    const got = (await httpsJson(`${urls.browser}/_emulator/deliveries?handle=${encodeURIComponent(device.handle)}`, 'GET', ca)) as { deliveries: Array<{ payload: string }> };
    assert.equal(got.deliveries[0]?.payload, 'hello from the sandbox');
  });
});

describe('sandbox credentials across restarts', () => {
  test('a restart on the same data directory keeps the emulators\' ports, devices and credentials: registered devices still receive', async (t) => {
    const dir = tempDir();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startTestHerald({ 'data.dir': dir });
    let second: TestHerald | undefined;
    t.after(async () => {
      await first.close();
      await second?.close();
    });
    const urls = { ...first.emulatorUrls! };
    const credsBefore = (await first.admin('GET', '/hubs/sandbox/credentials')).body.credentials;
    const apple = await emulatorCall(first, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    const fcm = await emulatorCall(first, 'fcmv1', '/_emulator/devices', 'POST', {});
    const wns = await emulatorCall(first, 'wns', '/_emulator/devices', 'POST', {});
    const web = await emulatorCall(first, 'browser', '/_emulator/devices', 'POST', {});
    const client = new NotificationHubsClient(await httpConnectionString(first), 'sandbox', allowHttpPolicy as never);
    await client.createRegistration(createAppleRegistrationDescription({ deviceToken: apple.handle, tags: ['all'] }));
    await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: fcm.token, tags: ['all'] }));
    await client.createRegistration(createWindowsRegistrationDescription({ channelUri: wns.channelUri, tags: ['all'] }));
    await client.createRegistration(createBrowserRegistrationDescription({ endpoint: web.endpoint, p256dh: web.keys.p256dh, auth: web.keys.auth, tags: ['all'] }));
    const sendAll = async (c: NotificationHubsClient, text: string) => {
      await c.sendNotification(createAppleNotification({ body: { aps: { alert: text } }, headers: { 'apns-push-type': 'alert' } }), { tagExpression: 'all' });
      await c.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { text } } }) }), { tagExpression: 'all' });
      await c.sendNotification(createWindowsRawNotification({ body: text }), { tagExpression: 'all' });
      await c.sendNotification(createBrowserNotification({ body: JSON.stringify({ title: text }) }), { tagExpression: 'all' });
    };
    await sendAll(client, 'before the restart');
    await first.settle();
    await first.close();

    second = await startTestHerald({ 'data.dir': dir });
    assert.deepEqual(second.emulatorUrls, urls, 'each emulator listens where it did before');
    const credsAfter = (await second.admin('GET', '/hubs/sandbox/credentials')).body.credentials;
    assert.deepEqual(credsAfter, credsBefore, 'the hub keeps the sandbox credentials it had: the emulators still accept them');
    await sendAll(new NotificationHubsClient(await httpConnectionString(second), 'sandbox', allowHttpPolicy as never), 'after the restart');
    await second.settle();
    for (const [platform, device] of [['apns', apple], ['fcmv1', fcm], ['wns', wns], ['browser', web]] as const) {
      const got = await emulatorCall(second, platform, `/_emulator/deliveries?handle=${encodeURIComponent(device.handle)}`);
      assert.equal(got.deliveries.length, 1, `${platform}: the device minted before the restart received the push sent after it`);
      assert.match(got.deliveries[0].payload, /after the restart/, platform);
    }
    const state = JSON.parse(readFileSync(join(dir, 'emulators', 'browser.json'), 'utf8'));
    assert.equal(state.devices.length, 1);
    assert.equal(statSync(join(dir, 'emulators', 'browser.json')).mode & 0o777, 0o600, 'the state holds private keys');
  });

  test('sandbox credentials the emulator no longer knows are minted again at start, real ones are kept', async () => {
    const dir = tempDir();
    const config = loadConfig({ flags: { 'data.dir': dir, 'server.port': 0, 'server.tlsPort': 0, sandbox: true } });
    const first = await startHerald(config, { logger: createLogger('silent') });
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const real = { subject: 'mailto:me@example.com', publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: ecdh.getPrivateKey().toString('base64url') };
    await first.hubs.setCredentials('sandbox', 'browser', real);
    const apnsBefore = (await first.hubs.getCredentials('sandbox', 'apns')).summary.keyId;
    await first.close();
    // The emulators' state is gone (a backup without emulators/): the old keys would be refused.
    rmSync(join(dir, 'emulators'), { recursive: true, force: true });

    const second = await startHerald(config, { logger: createLogger('silent') });
    try {
      const browser = await second.hubs.getCredentials('sandbox', 'browser');
      assert.equal(browser.summary.publicKey, real.publicKey, 'real credentials are never replaced');
      assert.equal(browser.summary.source, undefined);
      const apns = await second.hubs.getCredentials('sandbox', 'apns');
      assert.equal(apns.summary.source, 'sandbox emulator');
      assert.notEqual(apns.summary.keyId, apnsBefore, 'minted again by the new emulator');
      assert.equal(apns.endpoint, second.emulatorUrls!.apns);
    } finally {
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a configured emulator port is used; a port in use fails the start with the key to change it', async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as AddressInfo).port;
    t.after(() => blocker.close());
    const dir = tempDir();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const config = loadConfig({ flags: { 'data.dir': dir, 'server.port': 0, 'server.tlsPort': 0, sandbox: true }, env: { HERALD_EMULATOR_WNS_PORT: String(busy) } });
    assert.equal(config.emulators.ports.wns, busy);
    await assert.rejects(startHerald(config, { logger: createLogger('silent') }), (err: Error) => {
      assert.match(err.message, new RegExp(`the wns emulator cannot listen on port ${busy}, the configured port: the port is in use \\(EADDRINUSE\\)`));
      assert.match(err.message, /emulators\.ports\.wns \(environment HERALD_EMULATOR_WNS_PORT\)/);
      return true;
    });
  });

  test('sandbox mode without TLS is refused with a reason', async () => {
    const config = loadConfig({ flags: { 'data.dir': tempDir(), 'server.port': 0, 'server.tlsPort': 0, sandbox: true, 'tls.mode': 'off' } });
    await assert.rejects(startHerald(config, { logger: createLogger('silent') }), /sandbox mode needs TLS/);
  });
});
