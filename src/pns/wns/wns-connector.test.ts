/** The WNS connector against the WNS emulator over TLS (pns-protocols.md §1): both token flows, outcomes, faults. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { control } from '../../emulators/shared/testing.ts';
import { startWnsEmulator, type WnsEmulator } from '../../emulators/wns/wns-emulator.ts';
import type { WnsApp } from '../../emulators/wns/wns-auth.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { WnsConnector, type WnsCredentials } from './wns-connector.ts';
import { MAX_PAYLOAD_BYTES } from './wns-payload.ts';

const TOAST = '<toast><visual><binding template="ToastGeneric"><text>Hello</text><text>from Herald</text></binding></visual></toast>';
const PKG = 'Herald.Test_8wekyb3d8bbwe';
// The emulator and the connectors of the token-lifetime test share this clock, so tokens age on both sides.
const clock = new ManualClock(Date.now());
let dir: string;
let ca: DevCa;
let emu: WnsEmulator;
let app: WnsApp;
let legacy: WnsCredentials;
let entra: WnsCredentials;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-pns-wns-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startWnsEmulator({ tls: { cert: ca.cert, key: ca.key }, clock });
  app = await emu.mintCredentials({ package: PKG });
  legacy = { platform: 'wns', clientId: app.clientId, clientSecret: app.clientSecret, endpoint: emu.url };
  // As the sandbox sets it (src/sandbox/sandbox.ts): App ID and secret, tenant, endpoint = emulator.
  entra = { platform: 'wns', clientId: app.appId, clientSecret: app.appSecret, tenantId: app.tenantId, endpoint: emu.url };
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const channels = (n: number, pkg = PKG): Promise<string[]> => Promise.all(Array.from({ length: n }, async () => (await emu.mintDevice({ package: pkg })).channelUri));
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}`);
const requests = (): number => emu.core.stats.snapshot().requests;

async function deliveries(uri: string): Promise<Array<{ payload: string; payloadBase64: string; headers: Record<string, string> }>> {
  const r = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(uri)}`, undefined, ca.ca);
  assert.equal(r.status, 200);
  return (r.json as { deliveries: Array<{ payload: string; payloadBase64: string; headers: Record<string, string> }> }).deliveries;
}

test('toast, raw and an inferred badge are delivered with their types, content types and X-WNS-* headers', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const [toast, raw, badge] = await channels(3);
    const bytes = Buffer.from([0, 1, 2, 255, 254]);
    const out = await wns.send({
      credentials: legacy,
      targets: [
        { handle: toast!, payload: TOAST, headers: { 'x-wns-type': 'wns/toast', 'x-wns-tag': 'news1', 'x-wns-group': 'g1', 'x-wns-ttl': '600', 'x-wns-requestforstatus': 'true', 'x-wns-match': 'type:wns/toast;all' } },
        { handle: raw!, payload: bytes, headers: { 'X-WNS-Type': 'wns/raw', 'X-WNS-Cache-Policy': 'cache' } },
        { handle: badge!, payload: '<?xml version="1.0"?><badge value="7"/>' },
      ],
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'delivered/Success', 'delivered/Success']);
    assert.ok(out.every((o) => o.status === 200 && /^[0-9A-F]{16}$/.test(o.pnsMessageId ?? '')), 'X-WNS-Msg-ID is the message id');

    const [t] = await deliveries(toast!);
    assert.equal(t!.payload, TOAST);
    assert.equal(t!.headers['x-wns-type'], 'wns/toast');
    assert.equal(t!.headers['content-type'], 'text/xml');
    assert.equal(t!.headers['x-wns-tag'], 'news1');
    assert.equal(t!.headers['x-wns-group'], 'g1');
    assert.equal(t!.headers['x-wns-ttl'], '600');
    assert.equal(t!.headers['x-wns-match'], undefined, 'X-WNS-Match belongs to DELETE only');
    const [r] = await deliveries(raw!);
    assert.deepEqual(Buffer.from(r!.payloadBase64, 'base64'), bytes);
    assert.equal(r!.headers['x-wns-type'], 'wns/raw');
    assert.equal(r!.headers['content-type'], 'application/octet-stream');
    assert.equal(r!.headers['x-wns-cache-policy'], 'cache');
    const [b] = await deliveries(badge!);
    assert.equal(b!.headers['x-wns-type'], 'wns/badge', 'the type follows the XML root when no header names it');
  } finally {
    await wns.close();
  }
});

test('X-WNS-RequestForStatus: true is sent, and the answer\'s X-WNS-Status, device status and message id are kept per device (#14 item 5)', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const [asked, declined] = await channels(2);
    const out = await wns.send({
      credentials: entra,
      targets: [
        { handle: asked!, payload: TOAST },
        { handle: declined!, payload: TOAST, headers: { 'X-WNS-RequestForStatus': 'false' } },
      ],
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'delivered/Success']);
    assert.equal((await deliveries(asked!))[0]!.headers['x-wns-requestforstatus'], 'true', 'asked for the device status unasked');
    assert.equal((await deliveries(declined!))[0]!.headers['x-wns-requestforstatus'], 'false', "the send's own choice stays");
    assert.deepEqual(Object.keys(out[0]!.pns ?? {}), ['X-WNS-Status', 'X-WNS-DeviceConnectionStatus', 'X-WNS-Msg-ID']);
    assert.equal(out[0]!.pns!['X-WNS-Status'], 'received');
    assert.equal(out[0]!.pns!['X-WNS-DeviceConnectionStatus'], 'connected');
    assert.equal(out[0]!.pns!['X-WNS-Msg-ID'], out[0]!.pnsMessageId);
    assert.equal(out[1]!.pns!['X-WNS-DeviceConnectionStatus'], undefined, 'WNS names the device status only when asked');

    // A 200 that WNS dropped still says so in the outcome's own words.
    emu.core.faults.add({ status: 200, reason: 'dropped', count: 1 });
    const [dropped] = await wns.send({ credentials: entra, targets: [{ handle: asked!, payload: TOAST }] });
    assert.equal(`${dropped!.kind}/${dropped!.azure}`, 'rejected/Dropped');
    assert.equal(dropped!.pns!['X-WNS-Status'], 'dropped');
  } finally {
    await wns.close();
  }
});

test('both token flows: one token request per credential across batches, none while it is fresh', async () => {
  const wns = new WnsConnector({ ca: ca.ca, clock });
  try {
    const uris = await channels(5);
    const targets = uris.map((handle) => ({ handle, payload: TOAST }));
    for (const creds of [legacy, entra]) {
      const start = requests();
      const a = await wns.send({ credentials: creds, targets });
      const b = await wns.send({ credentials: creds, targets });
      assert.ok([...a, ...b].every((o) => o.kind === 'delivered'), JSON.stringify([...a, ...b].find((o) => o.kind !== 'delivered')));
      assert.equal(requests() - start, 10 + 1, `ten sends and one token request (${creds.tenantId ? 'Entra' : 'legacy'})`);
    }
    assert.equal(wns.tokens.requests, 2);
    // Entra tokens live 3599 s (§1.2); the connector renews five minutes early, the live.com one (24 h) stays.
    clock.advance(3599_000 - 5 * 60_000 - 1000);
    await wns.send({ credentials: entra, targets: targets.slice(0, 1) });
    assert.equal(wns.tokens.requests, 2, 'still fresh');
    clock.advance(2000);
    const start = requests();
    const [again] = await wns.send({ credentials: entra, targets: targets.slice(0, 1) });
    assert.equal(again!.kind, 'delivered');
    assert.equal(wns.tokens.requests, 3, 'renewed before it expired');
    assert.equal(requests() - start, 2);
    await wns.send({ credentials: legacy, targets: targets.slice(0, 1) });
    assert.equal(wns.tokens.requests, 3, 'the 24-hour live.com token is still good');
  } finally {
    await wns.close();
  }
});

test('expired, unknown and foreign channels: 410 and 404 are handle-expired, 403 is InvalidCredentials', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const [ok, gone] = await channels(2);
    const [other] = await channels(1, 'Other.App_1');
    assert.equal((await control(emu.url, 'POST', `devices/${encodeURIComponent(gone!)}/expire`, {}, ca.ca)).status, 200);
    const out = await wns.send({
      credentials: entra,
      targets: [ok!, gone!, `${emu.url}/?token=unknown`, other!].map((handle) => ({ handle, payload: TOAST })),
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'handle-expired/ExpiredChannel', 'handle-expired/BadChannel', 'rejected/InvalidCredentials']);
    assert.deepEqual(out.map((o) => o.status), [200, 410, 404, 403]);
    assert.match(out[1]!.reason, /^HTTP 410: The channel expired/);
  } finally {
    await wns.close();
  }
});

test('a revoked secret: the token request fails, every target rejected InvalidCredentials, nothing pushed', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const uris = await channels(2);
    const targets = uris.map((handle) => ({ handle, payload: TOAST }));
    const start = emu.core.stats.snapshot();
    const live = await wns.send({ credentials: { ...legacy, clientSecret: 'revoked' }, targets });
    assert.deepEqual(kinds(live), ['rejected/InvalidCredentials', 'rejected/InvalidCredentials']);
    assert.match(live[0]!.reason, /HTTP 400 invalid_client/);
    const aad = await wns.send({ credentials: { ...entra, clientSecret: 'revoked' }, targets });
    assert.deepEqual(kinds(aad), ['rejected/InvalidCredentials', 'rejected/InvalidCredentials']);
    assert.match(aad[0]!.reason, /HTTP 401 invalid_client \(AADSTS7000215/);
    const now = emu.core.stats.snapshot();
    assert.equal(now.requests - start.requests, 2, 'two token requests, no push');
    assert.equal((now.byStatus['200'] ?? 0) - (start.byStatus['200'] ?? 0), 0);
  } finally {
    await wns.close();
  }
});

test('a 401 from a send: the token is renewed once and the target resent once', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const [uri] = await channels(1);
    const one = [{ handle: uri!, payload: TOAST }];
    await wns.send({ credentials: legacy, targets: one });
    emu.core.faults.add({ status: 401, count: 1 });
    let start = requests();
    assert.deepEqual(kinds(await wns.send({ credentials: legacy, targets: one })), ['delivered/Success']);
    assert.equal(requests() - start, 3, '401, token request, resend');
    assert.equal(wns.tokens.requests, 2);
    emu.core.faults.add({ status: 401, count: 2 });
    start = requests();
    const [o] = await wns.send({ credentials: legacy, targets: one });
    assert.equal(`${o!.kind}/${o!.azure}/${o!.status}`, 'rejected/InvalidCredentials/401');
    assert.equal(requests() - start, 3, 'no second resend');
  } finally {
    emu.core.faults.clear();
    await wns.close();
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

test('faults: 429/406/503 with Retry-After, 500, drop, slow answer, dropped, channelthrottled; 50% mix: none lost', { timeout: 120_000 }, async () => {
  // Request timeouts (ten minutes) run on this clock: nothing times out unless the test moves it, and
  // on the machine's clock this test would outlast its two-minute bound.
  const slowClock = new ManualClock(Date.now());
  const wns = new WnsConnector({ ca: ca.ca, requestTimeoutMs: 600_000, clock: slowClock });
  try {
    const uris = await channels(4);
    const one = [{ handle: uris[0]!, payload: TOAST }];
    const cases: Array<[Record<string, unknown>, string, number | undefined]> = [
      [{ status: 429, retryAfter: 10 }, 'retry/Throttled', 10_000],
      [{ status: 406, retryAfter: 30 }, 'retry/Throttled', 30_000],
      [{ status: 500 }, 'retry/PnsServerError', undefined],
      [{ status: 503, retryAfter: 3 }, 'retry/PnsUnavailable', 3000],
      [{ drop: true }, 'retry/PnsUnreachable', undefined],
      [{ latencyMs: 3_600_000 }, 'retry/PnsUnreachable', undefined],
      [{ status: 200, reason: 'dropped' }, 'rejected/Dropped', undefined],
      [{ status: 200, reason: 'channelthrottled', retryAfter: 5 }, 'retry/ChannelThrottled', 5000],
    ];
    for (const [fault, expected, after] of cases) {
      emu.core.faults.add({ ...fault, count: 1 });
      const sending = wns.send({ credentials: entra, targets: one });
      if (fault.latencyMs) {
        // The answer is held for an hour: once the emulator has the request, virtual time passes the timeout.
        await until(() => emu.core.faults.list().length === 0, 'the emulator to hold the request');
        slowClock.advance(600_000);
      }
      const [o] = await sending;
      assert.equal(kinds([o!])[0], expected, JSON.stringify(fault));
      assert.equal(o!.retryAfterMs, after, JSON.stringify(fault));
    }
    emu.core.faults.add({ status: 503, share: 0.5, count: 10 });
    const out = await wns.send({ credentials: entra, targets: Array.from({ length: 40 }, (_, i) => ({ handle: uris[i % 4]!, payload: TOAST })) });
    assert.equal(out.length, 40);
    const unexpected = out.filter((o) => o.kind !== 'delivered' && !(o.kind === 'retry' && o.azure === 'PnsUnavailable'));
    assert.deepEqual(unexpected, [], 'every target delivered or retry/PnsUnavailable');
    assert.ok(out.some((o) => o.kind === 'retry') && out.some((o) => o.kind === 'delivered'), 'some of each');
  } finally {
    emu.core.faults.clear();
    await wns.close();
  }
});

test('bad input and bad credentials are rejected without a network call', async () => {
  const wns = new WnsConnector({ ca: ca.ca });
  try {
    const [uri] = await channels(1);
    const before = emu.core.stats.snapshot();
    const out = await wns.send({
      credentials: entra,
      targets: [
        { handle: uri!, payload: Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 1), headers: { 'x-wns-type': 'wns/raw' } },
        { handle: uri!.replace('https:', 'http:'), payload: TOAST },
        { handle: 'not a uri', payload: TOAST },
        { handle: 'https://wns.example.com/?token=abc', payload: TOAST },
        { handle: uri!, payload: TOAST, headers: { 'x-wns-type': 'wns/tile' } },
        { handle: uri!, payload: TOAST, headers: { 'x-wns-type': 'wns/popup' } },
        { handle: uri!, payload: TOAST, headers: { 'x-wns-tag': 'this-tag-is-way-too-long' } },
        { handle: uri!, payload: '' },
      ],
    });
    assert.deepEqual(kinds(out), [
      'rejected/InvalidNotificationSize',
      'rejected/BadChannel',
      'rejected/BadChannel',
      'rejected/BadChannel',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
    ]);
    const target = [{ handle: uri!, payload: TOAST }];
    assert.deepEqual(kinds(await wns.send({ credentials: undefined, targets: target })), ['rejected/InvalidCredentials']);
    for (const broken of [
      { ...entra, clientSecret: '' },
      { ...entra, clientId: 'ms-app://S-1-15-2-1' }, // a Package SID where Entra wants an App ID
      { ...legacy, clientId: app.appId }, // an App ID where the legacy flow wants a Package SID
      { ...entra, tenantId: '../../evil' },
      { ...entra, endpoint: 'not a url' },
    ]) {
      const [o] = await wns.send({ credentials: broken, targets: target });
      assert.equal(`${o!.kind}/${o!.azure}`, 'rejected/InvalidCredentials', JSON.stringify(broken));
    }
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request, not even a token request');
    assert.equal(wns.tokens.requests, 0);
  } finally {
    await wns.close();
  }
});
