/**
 * Endpoint rules (issue 10 item 11): a Listen key may not register a Web Push endpoint or a WNS channel URI
 * that would make Herald connect to loopback, a private or link-local address, or over plain http. In
 * sandbox mode the emulators' origins are allowed (and only they, of the local ones); outside it, only the
 * operator's `pns.allowedEndpointOrigins`. Every refusal is 400 and stores nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createSasToken } from '../src/auth/sas.ts';
import { LISTEN_RULE } from '../src/hubs/hub-service.ts';
import { emulatorCall, startTestHerald, type TestHerald } from './helpers.ts';

const ATOM = 'application/atom+xml;type=entry;charset=utf-8';
const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';
const P256DH = `B${'A'.repeat(86)}`; // 65 bytes, base64url
const AUTH = 'A'.repeat(22); // 16 bytes
const entry = (description: string) => `<?xml version="1.0" encoding="UTF-8"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">${description}</content></entry>`;
const browserEntry = (endpoint: string, p256dh = P256DH, auth = AUTH) =>
  entry(`<BrowserRegistrationDescription ${NS}><Endpoint>${endpoint}</Endpoint><P256DH>${p256dh}</P256DH><Auth>${auth}</Auth></BrowserRegistrationDescription>`);
const windowsEntry = (channel: string) => entry(`<WindowsRegistrationDescription ${NS}><ChannelUri>${channel}</ChannelUri></WindowsRegistrationDescription>`);

const LOCAL = [
  'https://127.0.0.1:1/push/x',
  'http://127.0.0.1:1/push/x',
  'https://localhost:1/push/x',
  'https://10.0.0.8/push/x',
  'https://172.20.0.1/push/x',
  'https://192.168.0.1/push/x',
  'https://100.64.1.1/push/x',
  'https://169.254.169.254/latest/meta-data',
  'https://[::1]/push/x',
  'https://[fd00::1]/push/x',
  'https://[fe80::1]/push/x',
  'https://0.0.0.0/push/x',
  'https://239.0.0.1/push/x',
  'http://push.example.com/push/x',
];

async function listenToken(h: TestHerald): Promise<string> {
  const rule = await h.hubs.getRule('sandbox', LISTEN_RULE);
  return createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
}

async function call(h: TestHerald, auth: string, method: string, path: string, body?: string, type = ATOM) {
  const res = await fetch(`${h.httpUrl}/sandbox${path}?api-version=2020-06`, { method, headers: { authorization: auth, 'content-type': type }, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text() };
}

const total = async (h: TestHerald) => (await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total as number;

describe('endpoint rules in sandbox mode', () => {
  let h: TestHerald;
  let listen: string;
  before(async () => {
    h = await startTestHerald();
    listen = await listenToken(h);
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  test('Web Push endpoints and WNS channels at local or http addresses are refused with 400; nothing is stored', async () => {
    const before = await total(h);
    // The emulators' own ports, on another origin spelling, are not their origin either.
    const emulatorPort = new URL(h.emulatorUrls!.browser!).port;
    for (const endpoint of [...LOCAL, `https://localhost:${emulatorPort}/push/x`]) {
      const r = await call(h, listen, 'POST', '/registrations', browserEntry(endpoint));
      assert.equal(r.status, 400, `${endpoint}: ${r.text}`);
      // Plain http elsewhere than loopback was already refused by the handle's syntax check.
      assert.match(r.text, /<Detail>Endpoint (is not an endpoint Herald may connect to: |must be an https URI)/, endpoint);
      const w = await call(h, listen, 'POST', '/registrations', windowsEntry(endpoint));
      assert.equal(w.status, 400, `${endpoint}: ${w.text}`);
      assert.match(w.text, /<Detail>ChannelUri (is not an endpoint Herald may connect to: |must be an https URI)/, endpoint);
      const inst = await call(h, listen, 'PUT', '/installations/web-1', JSON.stringify({ installationId: 'web-1', platform: 'browser', pushChannel: { endpoint, p256dh: P256DH, auth: AUTH } }), 'application/json');
      assert.equal(inst.status, 400, `${endpoint}: ${inst.text}`);
      assert.match(inst.text, /pushChannel(\.endpoint)? (is not an endpoint Herald may connect to|must be an https URI)/);
    }
    assert.equal(await total(h), before, 'nothing stored');
    assert.equal((await h.admin('GET', '/hubs/sandbox/installations?count=true&top=1')).body.total, 0);
  });

  test("the emulators' endpoints and public WNS channels are accepted; other Web Push origins and a PATCH to a local endpoint are not", async () => {
    const web = await emulatorCall(h, 'browser', '/_emulator/devices', 'POST', {});
    const channel = await emulatorCall(h, 'wns', '/_emulator/devices', 'POST', {});
    const ok = [
      await call(h, listen, 'PUT', '/installations/web-ok', JSON.stringify({ installationId: 'web-ok', platform: 'browser', pushChannel: { endpoint: web.endpoint, ...web.keys }, tags: ['endpoint-rules'] }), 'application/json'),
      await call(h, listen, 'POST', '/registrations', windowsEntry(channel.channelUri)),
      await call(h, listen, 'POST', '/registrations', windowsEntry('https://db5.notify.windows.com/?token=AwYAAAB')),
    ];
    for (const r of ok) assert.ok(r.status === 200 || r.status === 201, r.text);
    // A sandbox's Web Push reaches its emulator only, even a public push service (issue 10 item 11).
    const before = await total(h);
    const publicPush = await call(h, listen, 'POST', '/registrations', browserEntry('https://fcm.googleapis.com/fcm/send/abc'));
    assert.equal(publicPush.status, 400, publicPush.text);
    assert.match(publicPush.text, /in sandbox mode Herald connects only to the emulators' origins/);
    assert.equal(await total(h), before, 'nothing stored');
    // A PATCH that moves the installation's endpoint to a local address is refused; the installation keeps its own.
    const patch = await call(h, listen, 'PATCH', '/installations/web-ok', JSON.stringify([{ op: 'replace', path: '/pushChannel', value: { endpoint: 'https://127.0.0.1:1/x', p256dh: P256DH, auth: AUTH } }]), 'application/json-patch+json');
    assert.equal(patch.status, 400, patch.text);
    const got = await call(h, listen, 'GET', '/installations/web-ok');
    assert.match(got.text, new RegExp(web.endpoint.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  });

  test('$filter: a run of spaces is answered; over the size limit is 400 (issue 10 item 20)', async () => {
    const list = (filter: string) => fetch(`${h.httpUrl}/sandbox/registrations?$filter=${filter}&api-version=2020-06`, { headers: { authorization: listen } });
    const spaces = await list(`ChannelUri+eq+'x${'+'.repeat(8000)}y'`);
    assert.equal(spaces.status, 200, await spaces.text());
    const long = await list(`ChannelUri+eq+'${'A'.repeat(9000)}'`);
    const text = await long.text();
    assert.equal(long.status, 400, text);
    assert.match(text, /Unsupported \$filter .*longer than 8192 characters/);
  });
});

describe('endpoint rules outside sandbox mode', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald({ sandbox: false, 'tls.mode': 'off', 'pns.allowedEndpointOrigins': ['https://10.1.2.3:8443'] });
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  test('local addresses are refused; an origin the operator allows is accepted', async () => {
    await h.admin('POST', '/hubs', { name: 'sandbox' });
    const listen = await listenToken(h);
    for (const endpoint of [...LOCAL, 'https://10.1.2.3/push/x', 'https://10.1.2.3:8444/push/x']) {
      const r = await call(h, listen, 'POST', '/registrations', browserEntry(endpoint));
      assert.equal(r.status, 400, `${endpoint}: ${r.text}`);
    }
    assert.equal(await total(h), 0);
    const allowed = await call(h, listen, 'POST', '/registrations', browserEntry('https://10.1.2.3:8443/push/x'));
    assert.equal(allowed.status, 200, allowed.text);
    const publicPush = await call(h, listen, 'POST', '/registrations', browserEntry('https://fcm.googleapis.com/fcm/send/abc'));
    assert.equal(publicPush.status, 200, publicPush.text);
  });
});
