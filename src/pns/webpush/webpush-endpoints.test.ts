/**
 * Where the Web Push connector may connect (issue 10 item 11): the real connector against the Web Push
 * emulator on loopback, under the strict policy (outside sandbox mode: https to public addresses only) and
 * the sandbox policy (exactly the emulator's origin besides). Pools and VAPID caches are bounded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { startWebPushEmulator, type WebPushEmulator } from '../../emulators/webpush/webpush-emulator.ts';
import type { DeliveryOutcome } from '../connector.ts';
import { endpointPolicy, isPublicAddress } from '../endpoint-policy.ts';
import { WebPushConnector } from './webpush-connector.ts';
import { MAX_VAPID_TOKENS, VapidTokens, type BrowserCredentials } from './webpush-auth.ts';

let dir: string;
let ca: DevCa;
let emu: WebPushEmulator;
let creds: BrowserCredentials;
let origin: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-webpush-endpoints-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  emu = await startWebPushEmulator({ tls: { cert: ca.cert, key: ca.key } });
  origin = new URL(emu.url).origin;
  const v = await emu.mintCredentials();
  creds = { platform: 'browser', subject: v.subject, publicKey: v.publicKey, privateKey: v.privateKey };
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const kinds = (os: DeliveryOutcome[]): string[] => os.map((o) => `${o.kind}/${o.azure}`);

async function subscription(): Promise<{ endpoint: string; keys: { p256dh: string; auth: string } }> {
  const s = await emu.mintDevice({ applicationServerKey: creds.publicKey });
  return { endpoint: s.endpoint, keys: s.keys };
}
const at = (sub: { endpoint: string; keys: unknown }, endpoint: string) => JSON.stringify({ ...sub, endpoint });

test('addresses: loopback, private, CGNAT, link-local, unspecified, multicast and reserved are not public', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.254', '169.254.169.254',
    '0.0.0.0', '224.0.0.1', '239.1.1.1', '255.255.255.255', '240.0.0.1', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', 'not an address']) {
    assert.equal(isPublicAddress(a), false, a);
  }
  for (const a of ['8.8.8.8', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '142.250.74.10', '2606:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8']) {
    assert.equal(isPublicAddress(a), true, a);
  }
});

test('strict policy (outside sandbox mode): no connection to loopback, private or http endpoints', async () => {
  const wp = new WebPushConnector({ ca: ca.ca });
  try {
    const sub = await subscription();
    const before = emu.core.stats.snapshot();
    const endpoints = [
      sub.endpoint, // the emulator itself: loopback
      sub.endpoint.replace('https:', 'http:'),
      sub.endpoint.replace('127.0.0.1', 'localhost'),
      'https://sub.localhost/push/x',
      'https://10.0.0.8/push/x',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]:8443/push/x',
      'https://[fe80::1]/push/x',
      'https://[::ffff:127.0.0.1]/push/x',
      'https://2130706433/push/x', // 127.0.0.1 written as one number
      'https://0.0.0.0/push/x',
      'https://224.0.0.1/push/x',
    ];
    const out = await wp.send({ credentials: creds, targets: endpoints.map((e) => ({ handle: at(sub, e), payload: 'x' })) });
    assert.deepEqual(kinds(out), endpoints.map(() => 'rejected/BadChannel'));
    assert.ok(out.every((o) => o.reason.startsWith('endpoint refused by Herald: the endpoint ')), out.map((o) => o.reason).join('\n'));
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request');
    assert.deepEqual(wp.origins, [], 'no connection was opened');
  } finally {
    await wp.close();
  }
});

test('connect time: a public-looking name that resolves to a private address is refused, not connected to', async () => {
  // The resolver stands in for a DNS answer pointing a public name at the loopback emulator.
  const resolved: string[] = [];
  const endpoints = endpointPolicy({
    resolve: (hostname, cb) => {
      resolved.push(hostname);
      cb(null, [{ address: hostname === 'mixed.push.example' ? '8.8.8.8' : '127.0.0.1', family: 4 }, { address: '127.0.0.1', family: 4 }]);
    },
  });
  const wp = new WebPushConnector({ ca: ca.ca, endpoints });
  try {
    const sub = await subscription();
    const port = new URL(origin).port;
    const before = emu.core.stats.snapshot();
    const out = await wp.send({
      credentials: creds,
      targets: [`https://push.example:${port}/push/x`, `https://mixed.push.example:${port}/push/y`].map((e) => ({ handle: at(sub, e), payload: 'x' })),
    });
    assert.deepEqual(kinds(out), ['rejected/BadChannel', 'rejected/BadChannel']);
    assert.match(out[0]!.reason, /push\.example resolves to 127\.0\.0\.1, which is not a public address/);
    assert.match(out[1]!.reason, /mixed\.push\.example resolves to 127\.0\.0\.1/, 'one private answer among public ones is enough to refuse');
    assert.deepEqual(resolved.sort(), ['mixed.push.example', 'push.example']);
    assert.deepEqual(emu.core.stats.snapshot(), before, 'the emulator saw no request');
  } finally {
    await wp.close();
  }
});

test("sandbox policy: exactly the emulator's origin is allowed besides public https", async () => {
  const wp = new WebPushConnector({ ca: ca.ca, endpoints: endpointPolicy({ allowedOrigins: () => [origin] }) });
  try {
    const sub = await subscription();
    const out = await wp.send({
      credentials: creds,
      targets: [sub.endpoint, sub.endpoint.replace('127.0.0.1', 'localhost'), 'https://127.0.0.1:1/push/x', sub.endpoint.replace('https:', 'http:')].map((e) => ({ handle: at(sub, e), payload: 'x' })),
    });
    assert.deepEqual(kinds(out), ['delivered/Success', 'rejected/BadChannel', 'rejected/BadChannel', 'rejected/BadChannel']);
    assert.deepEqual(wp.origins, [origin]);
  } finally {
    await wp.close();
  }
});

test('pools are bounded: a new origin beyond maxOrigins closes the least recently used pool', async () => {
  // Allowed loopback origins on ports nothing listens on: each opens a pool, and fails at once (a retry).
  const origins = [1, 2, 3, 4].map((p) => `https://127.0.0.1:${p}`);
  const wp = new WebPushConnector({ ca: ca.ca, maxOrigins: 2, endpoints: endpointPolicy({ allowedOrigins: () => origins }) });
  try {
    const sub = await subscription();
    for (const o of origins) {
      const [r] = await wp.send({ credentials: creds, targets: [{ handle: at(sub, `${o}/push/x`), payload: 'x' }] });
      assert.equal(r!.kind, 'retry', r!.reason);
      assert.ok(wp.origins.length <= 2);
    }
    assert.deepEqual(wp.origins, origins.slice(2));
    // Using an origin again makes it the most recent one.
    await wp.send({ credentials: creds, targets: [{ handle: at(sub, `${origins[2]}/push/x`), payload: 'x' }] });
    await wp.send({ credentials: creds, targets: [{ handle: at(sub, `${origins[0]}/push/x`), payload: 'x' }] });
    assert.deepEqual(wp.origins, [origins[2], origins[0]]);
  } finally {
    await wp.close();
  }
});

test('the VAPID JWT cache is bounded', () => {
  const vapid = new VapidTokens();
  for (let i = 0; i < MAX_VAPID_TOKENS + 50; i++) vapid.authorization(creds, `https://push${i}.example`);
  assert.equal(vapid.size, MAX_VAPID_TOKENS);
});
