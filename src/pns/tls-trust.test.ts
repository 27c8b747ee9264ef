/**
 * Outgoing TLS trust is built once, not per connection (tls-trust.ts): a SecureContext with the public
 * roots costs tens of milliseconds and about 1 MB of native memory, so one per connection grew a fuzzed
 * sandbox server past 1 GB of RSS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ensureDevCa, type DevCa } from '../tls/dev-ca.ts';
import { startWnsEmulator, type WnsEmulator } from '../emulators/wns/wns-emulator.ts';
import { startApnsEmulator, type ApnsEmulator } from '../emulators/apns/apns-emulator.ts';
import { WnsConnector, type WnsCredentials } from './wns/wns-connector.ts';
import { ApnsConnector } from './apns/apns-connector.ts';
import type { ApnsCredentials } from './apns/apns-auth.ts';
import { postForm } from './http1.ts';
import { trustedContext } from './tls-trust.ts';

let dir: string;
let ca: DevCa;
let wns: WnsEmulator;
let apns: ApnsEmulator;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-tls-trust-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1']);
  wns = await startWnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  apns = await startApnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
});
after(async () => {
  await wns.close();
  await apns.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the SecureContexts Node builds (tls.connect builds one per connection unless handed one). */
async function contextsBuiltDuring(run: () => Promise<unknown>): Promise<number> {
  const original = tls.createSecureContext;
  let built = 0;
  tls.createSecureContext = (options) => {
    built++;
    return original(options);
  };
  try {
    await run();
  } finally {
    tls.createSecureContext = original;
  }
  return built;
}

test('trustedContext: one shared context per extra CA, none without one', () => {
  assert.equal(trustedContext(undefined), undefined);
  assert.equal(trustedContext(ca.ca), trustedContext(ca.ca));
});

test('the WNS connector opens many connections to a channel host without building a TLS context for each', async () => {
  const app = await wns.mintCredentials({ package: 'Herald.Test_8wekyb3d8bbwe' });
  const credentials: WnsCredentials = { platform: 'wns', clientId: app.clientId, clientSecret: app.clientSecret, endpoint: wns.url };
  const channels = await Promise.all(Array.from({ length: 40 }, async () => (await wns.mintDevice({ package: 'Herald.Test_8wekyb3d8bbwe' })).channelUri));
  const connector = new WnsConnector({ ca: ca.ca, socketsPerHost: 16 });
  try {
    const built = await contextsBuiltDuring(async () => {
      // Two batches at once: 40 pushes in flight over up to 16 connections, plus the token exchange.
      const [a, b] = await Promise.all([0, 20].map((from) => connector.send({ credentials, targets: channels.slice(from, from + 20).map((handle) => ({ handle, payload: '<badge value="1"/>' })) })));
      assert.ok([...a!, ...b!].every((o) => o.kind === 'delivered'), 'every push is delivered');
    });
    assert.ok(built <= 1, `${built} TLS contexts were built for one CA`);
  } finally {
    await connector.close();
  }
});

test('the OAuth form POST (FCM and WNS token endpoints) reuses the shared context', async () => {
  const built = await contextsBuiltDuring(() => Promise.all(Array.from({ length: 5 }, () => postForm(`${wns.url}/nowhere`, { a: 'b' }, { ca: ca.ca }))));
  assert.ok(built <= 1, `${built} TLS contexts were built for five token requests`);
});

test('the APNs connector builds its trust once, however often it reconnects', async () => {
  const minted = await apns.mintCredentials({ type: 'token', topic: 'com.example.app' });
  if (minted.type !== 'token') throw new Error('the emulator minted no token key');
  const handle = (await apns.mintDevice({ topic: 'com.example.app' })).handle;
  const connector = new ApnsConnector({ ca: ca.ca });
  try {
    const c: ApnsCredentials = { platform: 'apns', auth: 'token', keyId: minted.keyId, teamId: minted.teamId, key: minted.key, bundleId: 'com.example.app', environment: 'development', endpoint: apns.url };
    const built = await contextsBuiltDuring(async () => {
      for (let i = 0; i < 3; i++) {
        const [o] = await connector.send({ credentials: c, targets: [{ handle, payload: '{"aps":{"alert":"x"}}', headers: { 'apns-push-type': 'alert' } }] });
        assert.equal(o!.kind, 'delivered');
        // A new session for each send: what a GOAWAY or an idle close leads to.
        await connector.close();
      }
    });
    assert.ok(built <= 1, `${built} TLS contexts were built for three connections`);
  } finally {
    await connector.close();
  }
});
