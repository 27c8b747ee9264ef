/** The Web Push connector against the Web Push emulator (pns-protocols.md §4): crypto, VAPID, outcomes, faults. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { ManualClock } from '../../shared/clock.ts';
import { startWebPushEmulator, type WebPushEmulator } from '../../emulators/webpush/webpush-emulator.ts';
import { decryptAes128gcm, mintSubscriptionKeys } from '../../emulators/webpush/webpush-crypto.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { endpointPolicy } from '../endpoint-policy.ts';
import { WebPushConnector } from './webpush-connector.ts';
import { VapidTokens, type BrowserCredentials } from './webpush-auth.ts';
import { collapseTopic, encryptAes128gcm, MAX_PLAINTEXT } from './webpush-payload.ts';

let dir: string;
let ca: DevCa;
let emu: WebPushEmulator;
let creds: BrowserCredentials;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-pns-webpush-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startWebPushEmulator({ tls: { cert: ca.cert, key: ca.key } });
  const v = await emu.mintCredentials();
  creds = { platform: 'browser', subject: v.subject, publicKey: v.publicKey, privateKey: v.privateKey };
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function subscriptions(n: number): Promise<Array<{ handle: string; endpoint: string }>> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const s = await emu.mintDevice({ applicationServerKey: creds.publicKey });
      return { handle: JSON.stringify({ endpoint: s.endpoint, keys: s.keys }), endpoint: s.endpoint };
    }),
  );
}
/** Connector options for the emulator: its loopback origin is allowed, as the sandbox allows it. */
const local = () => ({ ca: ca.ca, endpoints: endpointPolicy({ allowedOrigins: () => [new URL(emu.url).origin] }) });
const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}`);

test('RFC 8291: the body decrypts with the subscription key; 3993 bytes is the most that fits 4096', () => {
  const keys = mintSubscriptionKeys();
  const plaintext = Buffer.from('x'.repeat(MAX_PLAINTEXT));
  const body = encryptAes128gcm(plaintext, keys.ecdh.getPublicKey(), keys.auth);
  assert.equal(body.length, 4096);
  assert.deepEqual(decryptAes128gcm(body, keys), plaintext);
  const a = encryptAes128gcm(Buffer.from('hi'), keys.ecdh.getPublicKey(), keys.auth);
  const b = encryptAes128gcm(Buffer.from('hi'), keys.ecdh.getPublicKey(), keys.auth);
  assert.notDeepEqual(a.subarray(0, 16), b.subarray(0, 16), 'a new salt per message');
  assert.notDeepEqual(a.subarray(21, 86), b.subarray(21, 86), 'a new key pair per message (RFC 8291 §3.1)');
  assert.equal(decryptAes128gcm(a, keys).toString(), 'hi');
});

test('a batch is encrypted, signed and delivered: the emulator decrypts each plaintext; headers kept', async () => {
  const wp = new WebPushConnector({ ...local() });
  try {
    const subs = await subscriptions(50);
    const out = await wp.send({
      credentials: creds,
      targets: subs.map((s, i) => ({ handle: s.handle, payload: JSON.stringify({ n: i, text: 'héllo' }), headers: { TTL: '60', Urgency: 'high', Topic: 'news' } })),
    });
    assert.equal(out.length, 50);
    assert.ok(out.every((o) => o.kind === 'delivered' && o.status === 201 && o.pnsMessageId?.startsWith(`${emu.url}/message/`)));
    const [d] = emu.core.deliveries.list(emu.core.registry.find(subs[42]!.endpoint)!.key);
    assert.deepEqual(JSON.parse(d!.payload), { n: 42, text: 'héllo' });
    assert.equal(d!.headers.ttl, '60');
    assert.equal(d!.headers.urgency, 'high');
    assert.equal(d!.headers.topic, 'news');
    assert.equal(d!.headers['content-encoding'], 'aes128gcm');
  } finally {
    await wp.close();
  }
});

test('VAPID JWT: one per origin, reused, renewed an hour before its 12-hour expiry', () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const vapid = new VapidTokens(clock);
  const a = vapid.authorization(creds, 'https://push.example.net');
  assert.match(a, new RegExp(`^vapid t=[^.]+\\.[^.]+\\.[^.]+, k=${creds.publicKey}$`));
  assert.notEqual(vapid.authorization(creds, 'https://other.example.net:8443'), a);
  clock.advance(10 * 3600_000);
  assert.equal(vapid.authorization(creds, 'https://push.example.net'), a);
  clock.advance(3600_000);
  const renewed = vapid.authorization(creds, 'https://push.example.net');
  assert.notEqual(renewed, a);
  const claims = JSON.parse(Buffer.from(renewed.split('.')[1]!, 'base64url').toString());
  assert.deepEqual(claims, { aud: 'https://push.example.net', exp: Math.floor(clock.now() / 1000) + 12 * 3600, sub: creds.subject });
});

test('bad input is rejected without a network call', async () => {
  const wp = new WebPushConnector({ ...local() });
  try {
    const [s] = await subscriptions(1);
    const sub = JSON.parse(s!.handle) as { endpoint: string; keys: { p256dh: string; auth: string } };
    const before = emu.core.stats.snapshot();
    const out = await wp.send({
      credentials: creds,
      targets: [
        { handle: s!.handle, payload: 'x'.repeat(MAX_PLAINTEXT + 1) },
        { handle: 'https://not-json', payload: 'x' },
        { handle: JSON.stringify({ ...sub, keys: { ...sub.keys, p256dh: 'AAAA' } }), payload: 'x' },
        { handle: JSON.stringify({ ...sub, endpoint: 'ftp://x/y' }), payload: 'x' },
        { handle: s!.handle, payload: 'x', headers: { Topic: 'no spaces allowed' } },
        { handle: s!.handle, payload: 'x', headers: { Urgency: 'urgent' } },
      ],
    });
    assert.deepEqual(kinds(out), [
      'rejected/InvalidNotificationSize',
      'rejected/BadChannel',
      'rejected/BadChannel',
      'rejected/BadChannel',
      'rejected/PnsInterfaceError',
      'rejected/PnsInterfaceError',
    ]);
    assert.deepEqual(kinds(await wp.send({ credentials: undefined, targets: [{ handle: s!.handle, payload: 'x' }] })), ['rejected/InvalidCredentials']);
    const other = await emu.mintCredentials();
    const mismatched = await wp.send({ credentials: { ...creds, privateKey: other.privateKey }, targets: [{ handle: s!.handle, payload: 'x' }] });
    assert.deepEqual(kinds(mismatched), ['rejected/InvalidCredentials']);
    assert.match(mismatched[0]!.reason, /does not belong/);
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request');
    assert.deepEqual(wp.origins, [], 'no connection was opened');
  } finally {
    await wp.close();
  }
});

test('expired subscription → handle-expired; another VAPID key (revoked) → rejected InvalidCredentials', async () => {
  const wp = new WebPushConnector({ ...local() });
  try {
    const [live, gone] = await subscriptions(2);
    emu.core.registry.expire(gone!.endpoint);
    const other = await emu.mintCredentials();
    const out = await wp.send({ credentials: creds, targets: [{ handle: live!.handle, payload: 'a' }, { handle: gone!.handle, payload: 'b' }] });
    assert.deepEqual(kinds(out), ['delivered/Success', 'handle-expired/ExpiredChannel']);
    assert.equal(out[1]!.status, 410);
    const revoked = await wp.send({ credentials: { ...creds, publicKey: other.publicKey, privateKey: other.privateKey }, targets: [{ handle: live!.handle, payload: 'a' }] });
    assert.deepEqual(kinds(revoked), ['rejected/InvalidCredentials']);
    assert.equal(revoked[0]!.status, 403);
    assert.match(revoked[0]!.reason, /applicationServerKey/);
  } finally {
    await wp.close();
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

test('faults: 429 + Retry-After, 500, 503, a dropped connection, a slow answer, a 50% mix: none lost', { timeout: 120_000 }, async () => {
  // Request timeouts (ten minutes) run on this clock: nothing times out unless the test moves it, and
  // on the machine's clock this test would outlast its two-minute bound.
  const clock = new ManualClock(Date.now());
  const wp = new WebPushConnector({ ...local(), requestTimeoutMs: 600_000, clock });
  try {
    const subs = await subscriptions(8);
    const one = { handle: subs[0]!.handle, payload: 'p' };
    const cases: Array<[Record<string, unknown>, string, number | undefined]> = [
      [{ status: 429, retryAfter: 30 }, 'retry/Throttled', 30_000],
      [{ status: 500 }, 'retry/PnsServerError', undefined],
      [{ status: 503, retryAfter: 5 }, 'retry/PnsUnavailable', 5000],
      [{ drop: true }, 'retry/PnsUnreachable', undefined],
      [{ latencyMs: 3_600_000 }, 'retry/PnsUnreachable', undefined],
    ];
    for (const [fault, expected, after] of cases) {
      emu.core.faults.add({ ...fault, count: 1 });
      const sending = wp.send({ credentials: creds, targets: [one] });
      if (fault.latencyMs) {
        // The answer is held for an hour: once the emulator has the request, virtual time passes the timeout.
        await until(() => emu.core.faults.list().length === 0, 'the emulator to hold the request');
        clock.advance(600_000);
      }
      const [o] = await sending;
      assert.equal(kinds([o!])[0], expected, JSON.stringify(fault));
      assert.equal(o!.retryAfterMs, after);
    }
    emu.core.faults.add({ status: 503, share: 0.5, count: 20 });
    const out = await wp.send({ credentials: creds, targets: Array.from({ length: 64 }, (_, i) => ({ handle: subs[i % 8]!.handle, payload: `m${i}` })) });
    emu.core.faults.clear();
    assert.equal(out.length, 64);
    assert.ok(out.every((o) => o.kind === 'delivered' || (o.kind === 'retry' && o.azure === 'PnsUnavailable')));
    assert.ok(out.some((o) => o.kind === 'retry') && out.some((o) => o.kind === 'delivered'));
    assert.deepEqual(kinds(await wp.send({ credentials: creds, targets: [one] })), ['delivered/Success']);
  } finally {
    emu.core.faults.clear();
    await wp.close();
  }
});

test('the collapse id becomes the Topic unless the send set one; a bad Declarative Web Push body is rejected unsent (#14 items 4, 7)', async () => {
  const wp = new WebPushConnector({ ...local() });
  try {
    const subs = await subscriptions(4);
    const id = 'a3f9c2d4e5b6a7980112233445566778-20261203170000-123456-7';
    const declarative = JSON.stringify({ web_push: 8030, notification: { title: 'Hi', navigate: 'https://example.com/' } });
    const before = emu.core.stats.snapshot().requests;
    const out = await wp.send({
      credentials: creds,
      targets: [
        { handle: subs[0]!.handle, payload: 'a', collapseId: id },
        { handle: subs[1]!.handle, payload: 'b', collapseId: id, headers: { Topic: 'mine' } },
        { handle: subs[2]!.handle, payload: declarative, collapseId: 'short-id_1' },
        { handle: subs[3]!.handle, payload: JSON.stringify({ web_push: 8030, notification: { title: 'no navigate' } }), collapseId: id },
      ],
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'delivered/Success', 'delivered/Success', 'rejected/PnsInterfaceError']);
    assert.match(out[3]!.reason, /notification\.navigate is required/);
    assert.equal(emu.core.stats.snapshot().requests - before, 3, 'the bad one was not sent');
    const topic = (i: number) => emu.core.deliveries.list(emu.core.registry.find(subs[i]!.endpoint)!.key)[0]!.headers.topic;
    assert.equal(topic(0), collapseTopic(id));
    assert.match(topic(0)!, /^[A-Za-z0-9_-]{32}$/, 'a long id is hashed into 32 URL-safe characters (RFC 8030 §5.4)');
    assert.equal(topic(1), 'mine', "the send's own Topic wins");
    assert.equal(topic(2), 'short-id_1', 'an id that is a valid topic is the topic');
  } finally {
    await wp.close();
  }
});

test("Apple's push endpoints (web.push.apple.com, https) pass the strict endpoint policy; http does not (#14 item 4)", () => {
  const strict = endpointPolicy();
  assert.equal(strict.problem(new URL('https://web.push.apple.com/QGuQyavXutnMH9YGz0hiqSxOVLZqZxsjqEHE')), undefined);
  assert.match(strict.problem(new URL('http://web.push.apple.com/QGuQ')) ?? '', /must be an https URL/);
  const vapid = new VapidTokens(new ManualClock(Date.parse('2026-01-01T00:00:00Z')));
  const jwt = vapid.authorization(creds, 'https://web.push.apple.com');
  assert.equal(JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).aud, 'https://web.push.apple.com', 'Apple checks aud against its origin');
});
