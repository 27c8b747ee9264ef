/**
 * The WNS emulator driven by the standard sender, the `wns` library. It forces port 443 and login.live.com,
 * so, as §6.2 says, the test replaces https.globalAgent with one that connects to the emulator (each test
 * file runs in its own process).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCa, type DevCa } from '../../tls/dev-ca.ts';
import { control, RedirectAgent } from '../shared/testing.ts';
import { startWnsEmulator, type WnsEmulator } from './wns-emulator.ts';
import type { WnsApp } from './wns-auth.ts';

type Callback = (err: (Error & { statusCode?: number; headers?: Record<string, string> }) | null, result?: { statusCode: number; headers: Record<string, string> }) => void;
/** The part of the wns library these tests use (it ships no types). */
const wns = createRequire(import.meta.url)('wns') as {
  sendToastText01(channel: string, text: string, options: Record<string, unknown>, cb: Callback): void;
  sendBadge(channel: string, value: string | number, options: Record<string, unknown>, cb: Callback): void;
};

function call(fn: (cb: Callback) => void): Promise<{ statusCode: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result!))));
}

let dir: string;
let ca: DevCa;
let emu: WnsEmulator;
let app: WnsApp;
let agent: RedirectAgent;
let previousGlobalAgent: https.Agent;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'herald-wns-'));
  ca = await ensureDevCa(dir, ['localhost', '127.0.0.1', '::1']);
  emu = await startWnsEmulator({ tls: { cert: ca.cert, key: ca.key } });
  app = (await control(emu.url, 'POST', 'credentials', { package: 'Contoso.App_1234' }, ca.ca)).json as WnsApp;
  agent = new RedirectAgent(Number(new URL(emu.url).port), ca.ca);
  previousGlobalAgent = https.globalAgent;
  https.globalAgent = agent;
});
after(async () => {
  https.globalAgent = previousGlobalAgent;
  agent.destroy();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function channel(): Promise<string> {
  const r = await control(emu.url, 'POST', 'devices', { package: 'Contoso.App_1234' }, ca.ca);
  assert.equal(r.status, 201);
  return (r.json as { channelUri: string }).channelUri;
}

test('minted credentials look like Partner Center and Entra ones', () => {
  assert.match(app.clientId, /^ms-app:\/\/S-1-15-2-\d+(-\d+){6}$/);
  assert.match(app.appId, /^[0-9a-f-]{36}$/);
  assert.match(app.tenantId, /^[0-9a-f-]{36}$/);
});

test('wns sends a toast after fetching a token from /accesstoken.srf; the channel received it', async () => {
  const uri = await channel();
  const result = await call((cb) =>
    wns.sendToastText01(uri, 'Hello from Herald', { client_id: app.clientId, client_secret: app.clientSecret, headers: { 'X-WNS-RequestForStatus': 'true' } }, cb),
  );
  assert.equal(result.statusCode, 200);
  assert.equal(result.headers['x-wns-status'], 'received');
  assert.equal(result.headers['x-wns-notificationstatus'], 'received');
  assert.equal(result.headers['x-wns-deviceconnectionstatus'], 'connected');
  assert.match(result.headers['x-wns-msg-id'] ?? '', /^[0-9A-F]{16}$/);
  assert.ok(result.headers['ms-cv']);

  const log = await control(emu.url, 'GET', `deliveries?handle=${encodeURIComponent(uri)}`, undefined, ca.ca);
  const { deliveries } = log.json as { deliveries: Array<{ payload: string; headers: Record<string, string> }> };
  assert.equal(deliveries.length, 1);
  assert.match(deliveries[0]!.payload, /^<toast><visual><binding template="ToastText01"><text id="1">Hello from Herald<\/text>/);
  assert.equal(deliveries[0]!.headers['x-wns-type'], 'wns/toast');
});

test('wns reports 410 for an expired channel', async () => {
  const uri = await channel();
  const expired = await control(emu.url, 'POST', `devices/${encodeURIComponent(uri)}/expire`, {}, ca.ca);
  assert.equal(expired.status, 200);
  await assert.rejects(call((cb) => wns.sendBadge(uri, 7, { client_id: app.clientId, client_secret: app.clientSecret }, cb)), (err: { statusCode: number; headers: Record<string, string> }) => {
    assert.equal(err.statusCode, 410);
    assert.ok(err.headers['x-wns-error-description']);
    return true;
  });
});

test('wns gets a token error for a wrong client secret', async () => {
  const uri = await channel();
  await assert.rejects(call((cb) => wns.sendToastText01(uri, 'x', { client_id: app.clientId, client_secret: 'wrong' }, cb)), (err: { statusCode: number; message: string }) => {
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /invalid_client/);
    return true;
  });
});
