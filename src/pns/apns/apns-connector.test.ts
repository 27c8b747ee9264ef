/** The APNs connector against the APNs emulator (pns-protocols.md §2): outcomes, stream limits, faults. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { startApnsEmulator, type ApnsEmulator } from '../../emulators/apns/apns-emulator.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { ApnsConnector } from './apns-connector.ts';
import { ProviderTokens, TOKEN_RENEW_AFTER_MS, type ApnsCredentials } from './apns-auth.ts';

const TOPIC = 'com.example.app';
let dir: string;
let ca: DevCa;
let emu: ApnsEmulator;
let creds: Extract<ApnsCredentials, { auth: 'token' }>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-pns-apns-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  // The faithful default: one stream until the first successful push (§2.1).
  emu = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  const k = (await emu.mintCredentials({ topic: TOPIC })) as { keyId: string; teamId: string; key: string };
  creds = { platform: 'apns', auth: 'token', endpoint: emu.url, environment: 'development', keyId: k.keyId, teamId: k.teamId, bundleId: TOPIC, key: k.key };
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function devices(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => (await emu.mintDevice({ topic: TOPIC })).handle));
}

const ALERT = '{"aps":{"alert":"hi"}}';
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}/${o.reason}`);

test('a batch of 200 on a fresh connection: all delivered in order, no refused streams (waits for SETTINGS)', async () => {
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const handles = await devices(200);
    const before = emu.core.stats.snapshot().requests;
    const out = await apns.send({ credentials: creds, targets: handles.map((h, i) => ({ handle: h, payload: `{"aps":{"alert":"n${i}"}}` })) });
    assert.equal(out.length, 200);
    assert.ok(out.every((o) => o.kind === 'delivered' && o.azure === 'Success' && /^[0-9a-f-]{36}$/.test(o.pnsMessageId ?? '')));
    assert.equal(emu.core.stats.snapshot().requests - before, 200, 'one request per target, none refused and resent');
    const log = emu.core.deliveries.list(handles[137]!);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.payload, '{"aps":{"alert":"n137"}}');
    assert.equal(log[0]!.headers['apns-topic'], TOPIC);
    assert.equal(log[0]!.headers['apns-push-type'], 'alert');
  } finally {
    await apns.close();
  }
});

test('mixed batch: delivered, 410 handle-expired with the ms timestamp, unknown token, wrong topic, headers passed', async () => {
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const [ok, gone] = await devices(2);
    const other = (await emu.mintDevice({ topic: 'com.other.app' })).handle;
    const { expiredAt } = (await emu.core.registry.expire(gone!, undefined, 'Unregistered'))!;
    const out = await apns.send({
      credentials: creds,
      targets: [
        { handle: ok!, payload: ALERT, headers: { 'apns-priority': '5', 'apns-collapse-id': 'c1', 'x-not-apns': '1' } },
        { handle: gone!, payload: ALERT },
        { handle: 'ab'.repeat(32), payload: ALERT },
        { handle: other, payload: ALERT },
        { handle: ok!, payload: ALERT, headers: { 'apns-priority': '7' } },
      ],
    });
    assert.deepEqual(kinds(out), [
      'delivered/Success/Success',
      'handle-expired/ExpiredChannel/Unregistered',
      'handle-expired/WrongToken/BadDeviceToken',
      'handle-expired/WrongToken/DeviceTokenNotForTopic',
      'rejected/PnsInterfaceError/BadPriority',
    ]);
    assert.equal(out[1]!.expiredAt, expiredAt);
    assert.equal(out[1]!.status, 410);
    const [d] = emu.core.deliveries.list(ok!);
    assert.equal(d!.headers['apns-priority'], '5');
    assert.equal(d!.headers['apns-collapse-id'], 'c1');
    assert.equal(d!.headers['x-not-apns'], undefined);
  } finally {
    await apns.close();
  }
});

test('bad input is rejected without a network call: size, handle, missing and broken credentials', async () => {
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const [h] = await devices(1);
    const before = emu.core.stats.snapshot();
    const out = await apns.send({
      credentials: creds,
      targets: [
        { handle: h!, payload: JSON.stringify({ aps: { alert: 'x'.repeat(4100) } }) },
        { handle: h!, payload: JSON.stringify({ aps: { alert: 'x'.repeat(5200) } }), headers: { 'apns-push-type': 'voip' } },
        { handle: 'not-a-token', payload: ALERT },
        { handle: h!, payload: '' },
      ],
    });
    assert.deepEqual(out.map((o) => `${o.kind}/${o.azure}`), ['rejected/InvalidNotificationSize', 'rejected/InvalidNotificationSize', 'rejected/WrongToken', 'rejected/PnsInterfaceError']);
    assert.match(out[0]!.reason, /PayloadTooLarge/);
    const none = await apns.send({ credentials: undefined, targets: [{ handle: h!, payload: ALERT }] });
    assert.deepEqual(kinds(none), ['rejected/InvalidCredentials/no APNs credentials for this hub']);
    const broken = await apns.send({ credentials: { ...creds, key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n' }, targets: [{ handle: h!, payload: ALERT }, { handle: h!, payload: ALERT }] });
    assert.equal(broken.length, 2);
    assert.ok(broken.every((o) => o.kind === 'rejected' && o.azure === 'InvalidCredentials' && /do not parse/.test(o.reason)));
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request');
    assert.equal(apns.pool(creds).sessionCount, 0, 'no connection was opened');
  } finally {
    await apns.close();
  }
});

test('certificate auth: mTLS with the minted certificate, no authorization header', async () => {
  const minted = (await emu.mintCredentials({ type: 'certificate', topic: TOPIC })) as { cert: string; key: string };
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const [h] = await devices(1);
    const certCreds: ApnsCredentials = { platform: 'apns', auth: 'certificate', endpoint: emu.url, environment: 'development', certificate: minted.cert, privateKey: minted.key };
    const out = await apns.send({ credentials: certCreds, targets: [{ handle: h!, payload: ALERT }] });
    assert.deepEqual(kinds(out), ['delivered/Success/Success']);
    assert.equal(emu.core.deliveries.list(h!)[0]!.headers['apns-topic'], undefined, 'the certificate names the topic');
  } finally {
    await apns.close();
  }
});

test('provider token: reused inside 50 minutes, renewed after, never sooner than 20 minutes on request', () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const tokens = new ProviderTokens(clock);
  const t0 = tokens.authorization(creds);
  clock.advance(19 * 60_000);
  assert.equal(tokens.authorization(creds), t0);
  assert.equal(tokens.expire(creds), false, 'a 19-minute-old token is kept even after ExpiredProviderToken');
  clock.advance(TOKEN_RENEW_AFTER_MS - 19 * 60_000 - 1);
  assert.equal(tokens.authorization(creds), t0);
  clock.advance(1);
  const t1 = tokens.authorization(creds);
  assert.notEqual(t1, t0);
  const iat = JSON.parse(Buffer.from(t1.split('.')[1]!, 'base64url').toString()).iat;
  assert.equal(iat, Math.floor(clock.now() / 1000));
});

test('faults: 429 + Retry-After, 500, 503, revoked key, too-large from the server: classified, none lost', async () => {
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const handles = await devices(6);
    await apns.send({ credentials: creds, targets: [{ handle: handles[0]!, payload: ALERT }] });
    const cases: Array<[Record<string, unknown>, string, number | undefined]> = [
      [{ status: 429, retryAfter: 7 }, 'retry/Throttled/TooManyRequests', 7000],
      [{ status: 500 }, 'retry/PnsServerError/InternalServerError', undefined],
      [{ status: 503, retryAfter: 2 }, 'retry/PnsUnavailable/ServiceUnavailable', 2000],
      [{ status: 503, reason: 'Shutdown' }, 'retry/PnsUnavailable/Shutdown', undefined],
      [{ status: 403, reason: 'InvalidProviderToken' }, 'rejected/InvalidCredentials/InvalidProviderToken', undefined],
      [{ status: 403, reason: 'BadEnvironmentKeyInToken' }, 'rejected/InvalidCredentials/BadEnvironmentKeyInToken', undefined],
      [{ status: 413 }, 'rejected/InvalidNotificationSize/PayloadTooLarge', undefined],
    ];
    for (const [fault, expected, after] of cases) {
      emu.core.faults.add({ ...fault, count: 1 });
      const [o] = await apns.send({ credentials: creds, targets: [{ handle: handles[1]!, payload: ALERT }] });
      assert.equal(kinds([o!])[0], expected, JSON.stringify(fault));
      assert.equal(o!.retryAfterMs, after);
    }
    // Half the requests fail: each target is accounted for, in order.
    emu.core.faults.add({ status: 503, share: 0.5, count: 20 });
    const many = Array.from({ length: 60 }, (_, i) => ({ handle: handles[i % 6]!, payload: ALERT }));
    const out = await apns.send({ credentials: creds, targets: many });
    emu.core.faults.clear();
    assert.equal(out.length, 60);
    assert.ok(out.every((o) => (o.kind === 'delivered') !== (o.kind === 'retry' && o.azure === 'PnsUnavailable')));
    assert.ok(out.some((o) => o.kind === 'retry'));
  } finally {
    emu.core.faults.clear();
    await apns.close();
  }
});

/** Waits until `cond` holds, looking again every few ms; the bound only stops a hung test. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const bound = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > bound) throw new Error(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('faults: dropped connection with GOAWAY, and a slow answer: retry outcomes, then a new session delivers', { timeout: 120_000 }, async () => {
  // Request timeouts (ten minutes) run on this clock: nothing times out unless the test moves it, and
  // on the machine's clock this test would outlast its two-minute bound.
  const clock = new ManualClock(Date.now());
  const apns = new ApnsConnector({ ca: ca.ca, requestTimeoutMs: 600_000, clock });
  try {
    const handles = await devices(10);
    const targets = handles.map((h) => ({ handle: h, payload: ALERT }));
    assert.ok((await apns.send({ credentials: creds, targets })).every((o) => o.kind === 'delivered'));
    const dropsBefore = emu.core.stats.snapshot().dropped;
    emu.core.faults.add({ drop: true, reason: 'Shutdown', count: 1 });
    const out = await apns.send({ credentials: creds, targets });
    assert.equal(out.length, 10);
    assert.ok(out.every((o) => o.kind === 'delivered' || (o.kind === 'retry' && o.azure === 'PnsUnreachable')), JSON.stringify(out));
    assert.ok(out.some((o) => o.kind === 'retry'));
    assert.equal(emu.core.stats.snapshot().dropped - dropsBefore, 1);
    assert.ok((await apns.send({ credentials: creds, targets })).every((o) => o.kind === 'delivered'), 'a new session after GOAWAY');

    // An answer held for an hour: once it is the only request left, virtual time passes the timeout.
    emu.core.faults.add({ latencyMs: 3_600_000, count: 1 });
    const sending = apns.send({ credentials: creds, targets: targets.slice(0, 3) });
    await until(() => emu.core.faults.list().length === 0 && apns.pool(creds).pending === 1, 'the slow request to be the only one left');
    clock.advance(600_000);
    const slow = await sending;
    assert.equal(slow.filter((o) => o.kind === 'retry' && /no answer within 600000 ms/.test(o.reason)).length, 1);
    assert.equal(slow.filter((o) => o.kind === 'delivered').length, 2);
  } finally {
    emu.core.faults.clear();
    await apns.close();
  }
});

test('an expired provider token (iat > 1 h) is a retry; the next push mints a new token and delivers', async () => {
  const clock = new ManualClock(Date.now() - 61 * 60_000);
  const apns = new ApnsConnector({ ca: ca.ca, clock });
  try {
    const [h] = await devices(1);
    const [o] = await apns.send({ credentials: creds, targets: [{ handle: h!, payload: ALERT }] });
    assert.equal(kinds([o!])[0], 'retry/InvalidCredentials/ExpiredProviderToken');
    clock.set(Date.now());
    const [again] = await apns.send({ credentials: creds, targets: [{ handle: h!, payload: ALERT }] });
    assert.equal(again!.kind, 'delivered');
  } finally {
    await apns.close();
  }
});

test('the endpoint cannot be reached: every target is a retry with PnsUnreachable', async () => {
  const apns = new ApnsConnector({ ca: ca.ca });
  try {
    const out = await apns.send({ credentials: { ...creds, endpoint: 'https://127.0.0.1:1' }, targets: [{ handle: 'ab'.repeat(32), payload: ALERT }, { handle: 'cd'.repeat(32), payload: ALERT }] });
    assert.deepEqual(out.map((o) => `${o.kind}/${o.azure}`), ['retry/PnsUnreachable', 'retry/PnsUnreachable']);
  } finally {
    await apns.close();
  }
});
