/**
 * Secure push (issue 6): the payload never travels through the PNS; a device reads it with a credential
 * scoped to its own installation, only if the push reached it, within the TTL; reads are recorded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NotificationHubsClient, createFcmV1Installation, createFcmV1Notification } from '@azure/notification-hubs';
import Database from 'better-sqlite3';
import { createSasToken } from '../src/auth/sas.ts';
import { RETENTION_INTERVAL_MS } from '../src/dispatch/retention.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { allowHttpPolicy, emulatorCall, httpConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

const SECRET = 'the account balance is 4,217.08';

describe('secure push', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let devices: Array<{ handle: string; token: string }>;
  const token = async (rule: string) => {
    const r = await h.hubs.getRule('sandbox', rule);
    return createSasToken('https://localhost/', r.name, r.primaryKey, Math.floor(Date.now() / 1000) + 3600);
  };
  const credential = async (installationId: string, sas?: string) =>
    fetch(`${h.httpUrl}/sandbox/installations/${installationId}/credential?api-version=2020-06`, { method: 'POST', headers: { authorization: sas ?? (await token('DefaultFullSharedAccessSignature')) } });
  const read = (id: string, cred?: string, hub = 'sandbox') =>
    fetch(`${h.httpUrl}/_device/v1/hubs/${hub}/payloads/${id}`, { headers: cred ? { authorization: `Bearer ${cred}` } : {} }).then(async (r) => ({ status: r.status, text: await r.text() }));

  // The TTL runs on the hub's clock: the test moves it past the expiry instead of waiting.
  const clock = new ManualClock(Date.now());
  before(async () => {
    h = await startTestHerald({}, { clock });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    devices = await Promise.all([0, 1, 2].map(() => emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {})));
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'alice-phone', pushChannel: devices[0]!.token, tags: ['secret'] }));
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'alice-tablet', pushChannel: devices[1]!.token, tags: ['secret'] }));
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'mallory', pushChannel: devices[2]!.token, tags: ['other'] }));
  });
  after(() => h.close());

  test('only the id travels; the targeted device reads the payload with its own credential; others cannot', async () => {
    const issued = await credential('alice-phone');
    assert.equal(issued.status, 201);
    const alice = (await issued.json()) as { credential: string; payloads: string };
    assert.equal(alice.payloads, `${h.httpUrl}/_device/v1/hubs/sandbox/payloads/{notificationId}`, 'a URL the device can call as it is');
    const mallory = ((await (await credential('mallory')).json()) as { credential: string }).credential;
    assert.equal((await credential('mallory', await token('DefaultListenSharedAccessSignature'))).status, 401, 'a Listen key cannot issue credentials');
    assert.equal((await credential('nobody')).status, 404);

    const body = JSON.stringify({ message: { notification: { title: 'Balance', body: SECRET } } });
    const res = await client.sendNotification(createFcmV1Notification({ body, headers: { 'X-Herald-Secure': 'true', 'X-Herald-Secure-TTL': '2' } }), { tagExpression: 'secret' });
    const id = res.notificationId!;
    await h.settle();

    const got = (await emulatorCall(h, 'fcmv1', `/_emulator/deliveries?handle=${encodeURIComponent(devices[0]!.handle)}`)).deliveries as Array<{ payload: string }>;
    assert.equal(got.length, 1);
    assert.ok(!got[0]!.payload.includes('4,217.08'), 'the payload did not go through the PNS');
    assert.match(got[0]!.payload, new RegExp(`"heraldSecureId":"${id}"`));

    const ok = await read(id, alice.credential);
    assert.equal(ok.status, 200);
    assert.equal(ok.text, body);
    const other = await read(id, mallory);
    assert.equal(other.status, 403, "another device's credential cannot read it");
    assert.match(other.text, /not delivered to this installation/);
    assert.equal((await read(id)).status, 401);
    assert.equal((await read(id, alice.credential.slice(0, -3) + 'AAA')).status, 401, 'a forged credential');
    await h.admin('POST', '/hubs', { name: 'elsewhere' });
    assert.equal((await read(id, alice.credential, 'elsewhere')).status, 401, 'a credential of another hub');

    const reads = (await h.admin('GET', `/hubs/sandbox/messages/${id}/secure-reads`)).body.items;
    assert.deepEqual(reads.map((r: { installationId: string }) => r.installationId), ['alice-phone']);
    const details = await client.getNotificationOutcomeDetails(id);
    assert.ok(!JSON.stringify(details).includes('4,217.08'), 'telemetry does not show it');
    const stored = readdirSync(h.dataDir).filter((f) => f.startsWith('herald.db')).map((f) => readFileSync(join(h.dataDir, f)).toString('latin1')).join('');
    assert.ok(!stored.includes('4,217.08'), 'it is sealed at rest');
  });

  test('a credential dies with its installation: deleted and re-created, or revoked, it reads nothing (#10 item 13)', async () => {
    const device = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'bob-phone', pushChannel: device.token, tags: ['bob'] }));
    const issue = async () => ((await (await credential('bob-phone')).json()) as { credential: string }).credential;
    const send = async () => {
      const res = await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { m: SECRET } } }), headers: { 'X-Herald-Secure': 'true' } }), { tagExpression: 'bob' });
      await h.worker.idle();
      return res.notificationId!;
    };
    const old = await issue();
    assert.equal((await read(await send(), old)).status, 200);
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'bob-phone', pushChannel: device.token, tags: ['bob', 'again'] }));
    const before = await send();
    assert.equal((await read(before, old)).status, 200, 'a PUT of the same installation keeps its credentials');

    // Someone deletes the installation and creates one with the same id: the old credential is not theirs.
    await client.deleteInstallation('bob-phone');
    const other = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'bob-phone', pushChannel: other.token, tags: ['bob'] }));
    const id = await send();
    const stale = await read(id, old);
    assert.equal(stale.status, 401);
    assert.match(stale.text, /revoked|deleted/);
    const fresh = await issue();
    assert.equal((await read(id, fresh)).status, 200, 'a credential of the new installation reads');
    assert.equal((await read(before, fresh)).status, 403, 'but not what was delivered to the installation before it (same id, same registration ids)');

    // Revocation, on the surface that issues: Manage only; every credential of the installation stops.
    const revoke = async (installationId: string, sas?: string) =>
      fetch(`${h.httpUrl}/sandbox/installations/${installationId}/credential?api-version=2020-06`, { method: 'DELETE', headers: { authorization: sas ?? (await token('DefaultFullSharedAccessSignature')) } });
    assert.equal((await revoke('bob-phone', await token('DefaultListenSharedAccessSignature'))).status, 401, 'a Listen key cannot revoke');
    assert.equal((await read(id, fresh)).status, 200, 'still valid after the refused revocation');
    assert.equal((await revoke('bob-phone')).status, 204);
    assert.equal((await read(id, fresh)).status, 401, 'revoked');
    assert.equal((await revoke('nobody')).status, 404);
    assert.equal((await read(id, await issue())).status, 200, 'a credential issued after the revocation reads');
  });

  test('secure sends that cannot be secure are refused', async () => {
    const direct = await fetch(`${h.httpUrl}/sandbox/messages/?direct&api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: await token('DefaultFullSharedAccessSignature'), 'ServiceBusNotification-Format': 'fcmv1', 'ServiceBusNotification-DeviceHandle': devices[0]!.token, 'X-Herald-Secure': 'true', 'content-type': 'application/json' },
      body: '{"message":{"data":{"a":"b"}}}',
    });
    assert.equal(direct.status, 400);
    assert.match(await direct.text(), /cannot be direct/);
    const badTtl = await fetch(`${h.httpUrl}/sandbox/messages/?api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: await token('DefaultFullSharedAccessSignature'), 'ServiceBusNotification-Format': 'fcmv1', 'X-Herald-Secure': 'true', 'X-Herald-Secure-TTL': 'forever', 'content-type': 'application/json' },
      body: '{"message":{"data":{"a":"b"}}}',
    });
    assert.equal(badTtl.status, 400);
    assert.match(await badTtl.text(), /X-Herald-Secure-TTL|x-herald-secure-ttl/i);
  });
});

describe('secure push on virtual time', () => {
  const clock = new ManualClock(Date.now());
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald({}, { clock });
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  test('a payload is refused from its TTL on and erased from the store by the purge (#10 item 14)', async () => {
    const client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    const device = await emulatorCall(h, 'fcmv1', '/_emulator/devices', 'POST', {});
    await client.createOrUpdateInstallation(createFcmV1Installation({ installationId: 'carol', pushChannel: device.token, tags: ['c'] }));
    const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    const sas = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(clock.now() / 1000) + 3600);
    const issued = (await (await fetch(`${h.httpUrl}/sandbox/installations/carol/credential?api-version=2020-06`, { method: 'POST', headers: { authorization: sas } })).json()) as { credential: string };
    const res = await client.sendNotification(createFcmV1Notification({ body: JSON.stringify({ message: { data: { m: SECRET } } }), headers: { 'X-Herald-Secure': 'true', 'X-Herald-Secure-TTL': '60' } }), { tagExpression: 'c' });
    const id = res.notificationId!;
    await h.worker.idle();
    const read = () => fetch(`${h.httpUrl}/_device/v1/hubs/sandbox/payloads/${id}`, { headers: { authorization: `Bearer ${issued.credential}` } });
    const db = new Database(`${h.dataDir}/herald.db`, { readonly: true });
    const stored = () => (db.prepare('SELECT count(*) AS n FROM secure_payloads').get() as { n: number }).n;
    try {
      await clock.advanceAsync(59_000);
      assert.equal((await read()).status, 200, 'readable within its TTL');
      assert.equal(stored(), 1);
      await clock.advanceAsync(1000);
      const late = await read();
      assert.equal(late.status, 410, 'refused from its TTL on, before the purge has run');
      assert.match(await late.text(), /secure_payload_gone|expired/);
      await clock.advanceAsync(RETENTION_INTERVAL_MS);
      // The purge's write commits in a later turn of the event loop.
      for (let i = 0; i < 100 && stored() > 0; i++) await new Promise((r) => setImmediate(r));
      assert.equal(stored(), 0, 'the sealed payload is erased');
      assert.equal((await read()).status, 410);
    } finally {
      db.close();
    }
  });
});
