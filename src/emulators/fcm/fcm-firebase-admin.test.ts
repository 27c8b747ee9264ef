/**
 * The FCM emulator driven by the standard sender, firebase-admin, aimed at it as §6.2 describes: an
 * https.Agent that connects every request to the emulator.
 *
 * The agent given to cert(serviceAccount, agent) does not reach the OAuth exchange with firebase-admin 13.10
 * and google-auth-library 10.9: populateGoogleAuth() hands it to GoogleAuth's clientOptions, but then builds
 * the JWT client with fromJSON(keyFile) and no options. So the test also installs the agent as
 * https.globalAgent, which node-fetch (gaxios) falls back to (§6.3 recipe 1). Each test file runs in its own
 * process, so this touches nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initializeApp, cert, deleteApp, type App } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { control, RedirectAgent } from '../shared/testing.ts';
import { startFcmEmulator, type FcmEmulator } from './fcm-emulator.ts';
import type { ServiceAccountJson } from './fcm-auth.ts';

/** Sends fcm.googleapis.com and oauth2.googleapis.com traffic to the emulator (§6.3 recipe 1). */
let dir: string;
let ca: DevCa;
let emu: FcmEmulator;
let agent: RedirectAgent;
let app: App;
let serviceAccount: ServiceAccountJson;
let previousGlobalAgent: https.Agent;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-fcm-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  emu = await startFcmEmulator({ tls: { cert: ca.cert, key: ca.key } });
  agent = new RedirectAgent(Number(new URL(emu.url).port), ca.ca);
  previousGlobalAgent = https.globalAgent;
  https.globalAgent = agent;
  const minted = await control(emu.url, 'POST', 'credentials', { project: 'herald-test' }, ca.ca);
  assert.equal(minted.status, 201);
  serviceAccount = minted.json as ServiceAccountJson;
  app = initializeApp(
    { credential: cert(serviceAccount as unknown as Parameters<typeof cert>[0], agent), projectId: serviceAccount.project_id, httpAgent: agent },
    `fcm-emulator-test-${process.pid}`,
  );
});
after(async () => {
  await deleteApp(app);
  https.globalAgent = previousGlobalAgent;
  agent.destroy();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function device(project = 'herald-test'): Promise<string> {
  const r = await control(emu.url, 'POST', 'devices', { project }, ca.ca);
  assert.equal(r.status, 201);
  return (r.json as { handle: string }).handle;
}

test('the minted service account points token_uri at the emulator', () => {
  assert.equal(serviceAccount.type, 'service_account');
  assert.equal(serviceAccount.project_id, 'herald-test');
  assert.equal(serviceAccount.token_uri, `${emu.url}/token`);
  assert.match(serviceAccount.client_email, /@herald-test\.iam\.gserviceaccount\.com$/);
  assert.match(serviceAccount.private_key, /^-----BEGIN PRIVATE KEY-----/);
});

test('firebase-admin send(): OAuth exchange, then a message the device receives', async () => {
  const token = await device();
  const name = await getMessaging(app).send({
    token,
    notification: { title: 'Hello', body: 'from Herald' },
    data: { orderId: '42' },
    android: { priority: 'high', ttl: 60_000, collapseKey: 'orders' },
  });
  assert.match(name, /^projects\/herald-test\/messages\/0:\d+%[0-9a-f]{16}$/);
  const log = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(token)}`, undefined, ca.ca);
  const { deliveries } = log.json as { deliveries: Array<{ payload: string }> };
  assert.equal(deliveries.length, 1);
  const message = JSON.parse(deliveries[0]!.payload) as Record<string, Record<string, unknown>>;
  assert.deepEqual(message.notification, { title: 'Hello', body: 'from Herald' });
  assert.deepEqual(message.data, { orderId: '42' });
  assert.equal(message.android?.collapse_key, 'orders');
  assert.equal(message.android?.ttl, '60s');
});

test('firebase-admin dry run returns fake_message_id and delivers nothing', async () => {
  const token = await device();
  const name = await getMessaging(app).send({ token, data: { a: 'b' } }, true);
  assert.equal(name, 'projects/herald-test/messages/fake_message_id');
  assert.equal(emu.core.deliveries.list(token).length, 0);
});

test('an expired token gives messaging/registration-token-not-registered', async () => {
  const token = await device();
  const expired = await control(emu.url, 'POST', `devices/${encodeURIComponent(token)}/expire`, {}, ca.ca);
  assert.equal(expired.status, 200);
  await assert.rejects(getMessaging(app).send({ token, data: { a: 'b' } }), (err: { code: string }) => {
    assert.equal(err.code, 'messaging/registration-token-not-registered');
    return true;
  });
  // Dry runs check the token too (§3.2).
  await assert.rejects(getMessaging(app).send({ token, data: { a: 'b' } }, true), { code: 'messaging/registration-token-not-registered' });
});

test('a token of another project gives messaging/mismatched-credential', async () => {
  const token = await device('other-project');
  await assert.rejects(getMessaging(app).send({ token, data: { a: 'b' } }), { code: 'messaging/mismatched-credential' });
});

test('sendEach over the legacy HTTP/1.1 transport reports per-message outcomes', async () => {
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();
  const good = await device();
  const gone = await device();
  emu.core.registry.expire(gone);
  const batch = await messaging.sendEach([
    { token: good, data: { n: '1' } },
    { token: gone, data: { n: '2' } },
    { topic: 'news', notification: { title: 'to a topic' } },
  ]);
  assert.equal(batch.successCount, 2);
  assert.equal(batch.responses[1]?.error?.code, 'messaging/registration-token-not-registered');
});

test('firebase-admin: directBootOk, bandwidthConstrainedOk, restrictedSatelliteOk and apns.liveActivityToken reach the device (#14 item 3)', async () => {
  const token = await device();
  await getMessaging(app).send({
    token,
    data: { a: 'b' },
    android: { directBootOk: true, bandwidthConstrainedOk: true, restrictedSatelliteOk: false },
    apns: { liveActivityToken: 'a1b2c3d4e5f60718', payload: { aps: { 'content-available': 1 } } },
  });
  const [d] = emu.core.deliveries.list(token);
  const message = JSON.parse(d!.payload) as { android: Record<string, unknown>; apns: Record<string, unknown> };
  assert.deepEqual(message.android, { direct_boot_ok: true, bandwidth_constrained_ok: true, restricted_satellite_ok: false });
  assert.equal(message.apns.live_activity_token, 'a1b2c3d4e5f60718');
  // firebase-admin checks nothing about the token's form; the emulator answers as FCM for a wrong one.
  await assert.rejects(getMessaging(app).send({ token, apns: { liveActivityToken: 'not-hex' } }), { code: 'messaging/invalid-argument' });
});
