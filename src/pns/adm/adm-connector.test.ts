/** The ADM connector against the ADM emulator over TLS (#14 item 6): token, messages, ADM's error answers, faults. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { control } from '../../emulators/shared/testing.ts';
import { startAdmEmulator, type AdmEmulator } from '../../emulators/adm/adm-emulator.ts';
import type { AdmApp } from '../../emulators/adm/adm-auth.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { AdmConnector, type AdmCredentials } from './adm-connector.ts';
import { admChecksum } from './adm-payload.ts';

const MESSAGE = JSON.stringify({ data: { message: 'Hey, Max. How are you?', from: 'Sam' }, consolidationKey: 'chat', expiresAfter: 86_400 });
const clock = new ManualClock(Date.now());
let dir: string;
let ca: DevCa;
let emu: AdmEmulator;
let app: AdmApp;
let creds: AdmCredentials;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-pns-adm-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startAdmEmulator({ tls: { cert: ca.cert, key: ca.key }, clock });
  app = await emu.mintCredentials({});
  creds = { platform: 'adm', clientId: app.clientId, clientSecret: app.clientSecret, endpoint: emu.url };
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const devices = (n: number, pkg?: string): Promise<string[]> => Promise.all(Array.from({ length: n }, async () => (await emu.mintDevice(pkg ? { package: pkg } : {})).registrationId));
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}`);
const requests = (): number => emu.core.stats.snapshot().requests;
async function deliveries(id: string): Promise<Array<{ payload: string; headers: Record<string, string> }>> {
  const r = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(id)}`, undefined, ca.ca);
  assert.equal(r.status, 200);
  return (r.json as { deliveries: Array<{ payload: string; headers: Record<string, string> }> }).deliveries;
}

test('a message reaches the registration with ADM\'s headers, consolidationKey, expiresAfter and the md5 of its data', async () => {
  const adm = new AdmConnector({ ca: ca.ca });
  try {
    const [id] = await devices(1);
    const [o] = await adm.send({ credentials: creds, targets: [{ handle: id!, payload: MESSAGE }] });
    assert.equal(`${o!.kind}/${o!.azure}/${o!.status}`, 'delivered/Success/200');
    assert.match(o!.pnsMessageId ?? '', /^[0-9a-f-]{36}$/, 'x-amzn-RequestId is the message id');
    assert.equal(o!.pns, undefined, 'ADM named the same registration id');
    const [d] = await deliveries(id!);
    const body = JSON.parse(d!.payload);
    assert.deepEqual(body.data, { message: 'Hey, Max. How are you?', from: 'Sam' });
    assert.equal(body.consolidationKey, 'chat');
    assert.equal(body.expiresAfter, 86_400);
    assert.equal(body.md5, admChecksum(body.data));
    assert.equal(d!.headers['x-amzn-type-version'], 'com.amazon.device.messaging.ADMMessage@1.0');
    assert.equal(d!.headers['x-amzn-accept-type'], 'com.amazon.device.messaging.ADMSendResult@1.0');
    assert.equal(d!.headers['content-type'], 'application/json');
  } finally {
    await adm.close();
  }
});

test('the md5 is ADM\'s: pairs sorted by key, "k:v" joined by commas, MD5, base64', () => {
  // base64(MD5("a:1,b:2")); the order of the keys in the object does not matter.
  assert.equal(admChecksum({ b: '2', a: '1' }), admChecksum({ a: '1', b: '2' }));
  assert.equal(admChecksum({ a: '1', b: '2' }), 'Xvb142mSeo7pSjdDDASyeA==');
});

test('one token request (scope messaging:push) per credential while it is fresh; renewed a minute before its hour ends', async () => {
  const adm = new AdmConnector({ ca: ca.ca, clock });
  try {
    const ids = await devices(3);
    const targets = ids.map((handle) => ({ handle, payload: MESSAGE }));
    const start = requests();
    assert.ok((await adm.send({ credentials: creds, targets })).every((o) => o.kind === 'delivered'));
    assert.ok((await adm.send({ credentials: creds, targets })).every((o) => o.kind === 'delivered'));
    assert.equal(requests() - start, 6 + 1);
    assert.equal(adm.tokens.requests, 1);
    clock.advance(3600_000 - 60_000 + 1);
    assert.equal((await adm.send({ credentials: creds, targets: targets.slice(0, 1) }))[0]!.kind, 'delivered');
    assert.equal(adm.tokens.requests, 2, 'renewed before it expired');
  } finally {
    await adm.close();
  }
});

test("ADM's answers: 400 InvalidRegistrationId and 410 Unregistered expire the handle; another app's id is invalid for this one", async () => {
  const adm = new AdmConnector({ ca: ca.ca });
  try {
    const [ok, gone] = await devices(2);
    const [foreign] = await devices(1, 'com.other.app');
    assert.equal((await control(emu.url, 'POST', `devices/${encodeURIComponent(gone!)}/expire`, {}, ca.ca)).status, 200);
    const out = await adm.send({ credentials: creds, targets: [ok!, gone!, 'amzn1.adm-registration.v3.unknown', foreign!].map((handle) => ({ handle, payload: MESSAGE })) });
    assert.deepEqual(kinds(out), ['delivered/Success', 'handle-expired/ExpiredChannel', 'handle-expired/WrongToken', 'handle-expired/WrongToken']);
    assert.deepEqual(out.map((o) => o.status), [200, 410, 400, 400]);
    assert.equal(out[1]!.reason, 'HTTP 410: Unregistered');
    assert.equal(out[2]!.reason, 'HTTP 400: InvalidRegistrationId');
  } finally {
    await adm.close();
  }
});

test('throttling: 429 TooManyRequests with Retry-After is a retry after that long; 503 and 500 retry; 413 and bad data are rejected', async () => {
  const adm = new AdmConnector({ ca: ca.ca });
  try {
    const [id] = await devices(1);
    const one = [{ handle: id!, payload: MESSAGE }];
    const cases: Array<[Record<string, unknown>, string, number | undefined, string]> = [
      [{ status: 429, retryAfter: 30 }, 'retry/Throttled', 30_000, 'HTTP 429: TooManyRequests'],
      [{ status: 429, reason: 'MaxRateExceeded' }, 'retry/Throttled', undefined, 'HTTP 429: MaxRateExceeded'],
      [{ status: 503, retryAfter: 5 }, 'retry/PnsUnavailable', 5000, 'HTTP 503: ServiceUnavailable'],
      [{ status: 500 }, 'retry/PnsServerError', undefined, 'HTTP 500: InternalServerError'],
      [{ status: 413 }, 'rejected/InvalidNotificationSize', undefined, 'HTTP 413: MessageTooLarge'],
      [{ status: 400, reason: 'Unregistered' }, 'handle-expired/ExpiredChannel', undefined, 'HTTP 400: Unregistered'],
      [{ status: 403 }, 'rejected/InvalidCredentials', undefined, 'HTTP 403: Forbidden'],
    ];
    for (const [fault, expected, after, reason] of cases) {
      emu.core.faults.add({ ...fault, count: 1 });
      const [o] = await adm.send({ credentials: creds, targets: one });
      assert.equal(kinds([o!])[0], expected, JSON.stringify(fault));
      assert.equal(o!.retryAfterMs, after, JSON.stringify(fault));
      assert.equal(o!.reason, reason);
    }
  } finally {
    emu.core.faults.clear();
    await adm.close();
  }
});

test('a 401 from a send renews the token once and resends once; a wrong secret rejects every target with no push', async () => {
  const adm = new AdmConnector({ ca: ca.ca });
  try {
    const [id] = await devices(1);
    const one = [{ handle: id!, payload: MESSAGE }];
    await adm.send({ credentials: creds, targets: one });
    emu.core.faults.add({ status: 401, count: 1 });
    let start = requests();
    assert.deepEqual(kinds(await adm.send({ credentials: creds, targets: one })), ['delivered/Success']);
    assert.equal(requests() - start, 3, '401, token request, resend');
    emu.core.faults.add({ status: 401, count: 2 });
    start = requests();
    const [o] = await adm.send({ credentials: creds, targets: one });
    assert.equal(`${o!.kind}/${o!.azure}/${o!.reason}`, 'rejected/InvalidCredentials/HTTP 401: AccessTokenExpired');
    assert.equal(requests() - start, 3, 'no second resend');

    start = requests();
    const before = (await deliveries(id!)).length;
    const bad = await adm.send({ credentials: { ...creds, clientSecret: 'revoked' }, targets: [...one, ...one] });
    assert.deepEqual(kinds(bad), ['rejected/InvalidCredentials', 'rejected/InvalidCredentials']);
    assert.match(bad[0]!.reason, /^ADM token endpoint: HTTP 401 invalid_client/);
    assert.equal(requests() - start, 1, 'the token request only');
    assert.equal((await deliveries(id!)).length, before, 'nothing pushed');
    const none = await adm.send({ credentials: undefined, targets: one });
    assert.deepEqual(kinds(none), ['rejected/InvalidCredentials']);
  } finally {
    emu.core.faults.clear();
    await adm.close();
  }
});

test('bad messages and handles are refused before the network, each with ADM\'s reason', async () => {
  const adm = new AdmConnector({ ca: ca.ca });
  try {
    const [id] = await devices(1);
    const start = requests();
    const out = await adm.send({
      credentials: creds,
      targets: [
        { handle: id!, payload: 'not json' },
        { handle: id!, payload: '{"data":{"n":1}}' },
        { handle: id!, payload: '{"consolidationKey":"k"}' },
        { handle: id!, payload: JSON.stringify({ data: {}, consolidationKey: 'k'.repeat(65) }) },
        { handle: id!, payload: JSON.stringify({ data: {}, expiresAfter: 0 }) },
        { handle: id!, payload: JSON.stringify({ data: { a: '1' }, md5: 'wrong' }) },
        { handle: id!, payload: JSON.stringify({ data: { big: 'x'.repeat(7000) } }) },
        { handle: 'has space', payload: MESSAGE },
      ],
    });
    assert.deepEqual(kinds(out), [
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/InvalidNotificationSize',
      'handle-expired/WrongToken',
    ]);
    assert.match(out[1]!.reason, /^InvalidData: data\.n is number/);
    assert.match(out[3]!.reason, /^InvalidConsolidationKey/);
    assert.match(out[4]!.reason, /^InvalidExpiration/);
    assert.match(out[5]!.reason, /^InvalidChecksum/);
    assert.equal(requests() - start, 0, 'no request at all');
  } finally {
    await adm.close();
  }
});

test('a 200 naming a newer registration id is Success, with that id kept in the outcome for the backend to update', async () => {
  // A stand-in for ADM that answers as it does when the app instance has a newer registration id.
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/auth/o2/token') return void res.end(JSON.stringify({ access_token: 'Atc|t', expires_in: 3600, scope: 'messaging:push', token_type: 'bearer' }));
      res.setHeader('x-amzn-requestid', 'req-1');
      res.end(JSON.stringify({ registrationID: 'amzn1.adm-registration.v3.newer' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const adm = new AdmConnector();
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const [o] = await adm.send({ credentials: { ...creds, endpoint }, targets: [{ handle: 'amzn1.adm-registration.v3.older', payload: MESSAGE }] });
    assert.equal(`${o!.kind}/${o!.azure}`, 'delivered/Success');
    assert.equal(o!.pnsMessageId, 'req-1');
    assert.deepEqual(o!.pns, { registrationID: 'amzn1.adm-registration.v3.newer' });
  } finally {
    await adm.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
