/**
 * A PNS back-off seen by every node (issue 11 item 3): APNs answers one node's push with 429 and a
 * Retry-After; the other node, whose own pushes never met the 429, sends nothing to APNs for that hub until
 * then. Two Herald nodes in this process on one PostgreSQL database, on a ManualClock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startApnsEmulator, type ApnsEmulator } from '../src/emulators/apns/apns-emulator.ts';
import { ManualClock } from '../src/shared/clock.ts';
import type { SendRequest } from '../src/dispatch/send-model.ts';
import { parseSendRequest } from '../src/api/wire/send-request.ts';
import { ensureDevCa } from '../src/tls/dev-ca.ts';
import { startTestHerald, tempDir, removeTempDir, type TestHerald } from './helpers.ts';
import { usePostgresServer } from './postgres-server.ts';

const postgres = usePostgresServer();
const TOPIC = 'com.example.backoff';

describe('PNS back-off across nodes', () => {
  let a: TestHerald;
  let b: TestHerald;
  let emu: ApnsEmulator;
  let dir: string;
  let startB: () => Promise<TestHerald>;
  const clock = new ManualClock(Date.now());
  before(async () => {
    dir = tempDir();
    const ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
    emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
    const url = await postgres.createDatabase();
    const flags = { 'store.url': url, sandbox: false, 'tls.mode': 'off', 'pns.caFile': ca.caCertPath, adminKey: 'k'.repeat(40), secretKey: randomBytes(32).toString('base64') };
    a = await startTestHerald(flags, { clock });
    // Node b starts once node a has met the 429 (in the test): until then only a can claim the first send.
    startB = () => startTestHerald(flags, { clock });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await emu?.close();
    removeTempDir(dir);
  });

  const directSend = async (h: TestHerald, handle: string): Promise<string> => {
    const req: SendRequest = parseSendRequest({
      headers: { 'content-type': 'application/json', 'servicebusnotification-format': 'apple', 'servicebusnotification-devicehandle': handle },
      query: new URLSearchParams('direct'),
      body: Buffer.from('{"aps":{"alert":"hi"}}'),
      batch: false,
      scheduled: false,
    });
    return (await h.sends.accept(await h.hubs.getHub('backoff'), req)).id;
  };

  test("a 429 with Retry-After met by one node holds every node's pushes to that PNS for the hub", async () => {
    await a.hubs.createHub('backoff');
    const k = (await emu.mintCredentials({ topic: TOPIC })) as { keyId: string; teamId: string; key: string };
    await a.hubs.setCredentials('backoff', 'apns', { auth: 'token', endpoint: emu.url, environment: 'development', keyId: k.keyId, teamId: k.teamId, bundleId: TOPIC, key: k.key });
    const [d1, d2] = [(await emu.mintDevice({ topic: TOPIC })).handle, (await emu.mintDevice({ topic: TOPIC })).handle];

    emu.core.faults.add({ status: 429, retryAfter: 60 });
    await directSend(a, d1);
    await a.settle({ horizonMs: 0 });
    const seen = emu.core.stats.snapshot().requests;
    assert.ok(seen >= 1, 'node a met the 429');
    emu.core.faults.clear();

    // Node b has never been throttled itself: it learns of the back-off from the store.
    b = await startB();
    await b.hubs.getHub('backoff');
    const id = await directSend(b, d2);
    await b.settle({ horizonMs: 0 });
    assert.equal(emu.core.stats.snapshot().requests, seen, 'node b sent nothing to APNs during the back-off');
    assert.equal(emu.core.deliveries.list(d2).length, 0);

    // After the Retry-After both deliver again.
    await b.settle({ horizonMs: 120_000 });
    await a.settle({ horizonMs: 120_000 });
    assert.equal(emu.core.deliveries.list(d2).length, 1);
    assert.equal(emu.core.deliveries.list(d1).length, 1);
    assert.deepEqual((await b.sends.get(await b.hubs.getHub('backoff'), id)).counts, { apns: { Success: 1 } });
  });
});
