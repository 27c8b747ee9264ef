/**
 * The Azure surface's authentication, driven by the official @azure/notification-hubs client with
 * nothing but a connection string and NODE_EXTRA_CA_CERTS (wire spec §2, test plan T1 and T32).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createSasToken } from '../src/auth/sas.ts';
import { parseConnectionString, startTestHerald, type TestHerald } from './helpers.ts';

const exec = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/azure-client-calls.ts', import.meta.url));

interface CallResult {
  call: string;
  ok: boolean;
  statusCode?: number;
  message?: string;
}

async function clientCalls(herald: TestHerald, connectionString: string, calls: string[], hub = 'sandbox'): Promise<Record<string, CallResult>> {
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', fixture, JSON.stringify({ connectionString, hub, calls })], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: herald.caCertPath! },
  });
  return Object.fromEntries(stdout.trim().split('\n').map((l) => [JSON.parse(l).call, JSON.parse(l)]));
}

describe('the official Azure client against Herald', () => {
  let herald: TestHerald;
  let strings: { full: string; listen: string };
  before(async () => {
    herald = await startTestHerald();
    strings = await herald.connectionStrings('sandbox');
  });
  after(() => herald.close());

  test('the Full connection string gets through authentication on every operation', async () => {
    assert.match(strings.full, /^Endpoint=sb:\/\/localhost:\d+\/;SharedAccessKeyName=DefaultFullSharedAccessSignature;SharedAccessKey=.{44}$/);
    const r = await clientCalls(herald, strings.full, ['getInstallation', 'deleteInstallation', 'createRegistrationId', 'listRegistrations', 'sendNotification', 'getFeedbackContainerUrl']);
    for (const result of Object.values(r)) {
      // Authentication must never be what fails.
      assert.notEqual(result.statusCode, 401, `${result.call}: ${result.message}`);
    }
    assert.equal(r.getInstallation!.statusCode, 404, 'authenticated, and there is no such installation');
    assert.match(r.getInstallation!.message!, /Installation not found/);
    for (const call of ['deleteInstallation', 'createRegistrationId', 'listRegistrations', 'sendNotification', 'getFeedbackContainerUrl']) {
      assert.equal(r[call]!.ok, true, `${call}: ${r[call]!.message}`);
    }
  });

  test('the Listen connection string may Listen but not Send or Manage', async () => {
    const r = await clientCalls(herald, strings.listen, ['getInstallation', 'sendNotification', 'listRegistrations']);
    assert.equal(r.getInstallation!.statusCode, 404, 'Listen may read installations');
    assert.equal(r.sendNotification!.statusCode, 401);
    assert.match(r.sendNotification!.message!, /Send claim is required for this operation/);
    assert.equal(r.listRegistrations!.statusCode, 401);
    assert.match(r.listRegistrations!.message!, /Manage claim is required for this operation/);
  });

  test('a wrong key is refused with 401 InvalidSignature', async () => {
    const wrong = strings.full.replace(/SharedAccessKey=.*$/, 'SharedAccessKey=not-the-key-at-all-0123456789abcdefghijklmn=');
    const r = await clientCalls(herald, wrong, ['getInstallation']);
    assert.equal(r.getInstallation!.statusCode, 401);
    assert.match(r.getInstallation!.message!, /InvalidSignature/);
  });

  test('an unknown hub answers 404', async () => {
    const r = await clientCalls(herald, strings.full, ['getInstallation'], 'no-such-hub');
    assert.equal(r.getInstallation!.statusCode, 404);
    assert.match(r.getInstallation!.message!, /Notification hub 'no-such-hub' was not found/);
  });
});

describe('SAS edge cases over raw HTTPS requests', () => {
  let herald: TestHerald;
  let full: ReturnType<typeof parseConnectionString>;
  before(async () => {
    herald = await startTestHerald();
    full = parseConnectionString((await herald.connectionStrings('sandbox')).full);
  });
  after(() => herald.close());

  const get = (path: string, authorization?: string) =>
    fetch(`${herald.httpUrl}${path}`, { headers: authorization ? { authorization } : {} }).then(async (r) => ({ status: r.status, body: await r.text(), headers: r.headers }));
  const audience = () => full.endpoint.replace('sb://', 'https://');

  test('an expired token is refused with 401 ExpiredToken and the Azure error body', async () => {
    const token = createSasToken(audience(), full.keyName, full.key, Math.floor(Date.now() / 1000) - 5);
    const r = await get('/sandbox/installations/x?api-version=2020-06', token);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type')!, /^application\/xml/);
    assert.match(r.body, /^<Error><Code>401<\/Code><Detail>ExpiredToken: The token expired at [^<]+\.TrackingId:[0-9a-f-]{36},TimeStamp:[^<]+<\/Detail><\/Error>$/);
    assert.equal(r.headers.get('trackingid')?.length, 36);
  });

  test('malformed and missing tokens are 401; the secondary key works', async () => {
    assert.equal((await get('/sandbox/installations/x')).status, 401);
    assert.equal((await get('/sandbox/installations/x', 'SharedAccessSignature nonsense')).status, 401);
    assert.match((await get('/sandbox/installations/x', 'Basic dXNlcjpwYXNz')).body, /MalformedToken/);
    const rule = await herald.hubs.getRule('sandbox', full.keyName);
    const token = createSasToken(audience(), full.keyName, rule.secondaryKey, Math.floor(Date.now() / 1000) + 60);
    assert.equal((await get('/sandbox/installations/x', token)).status, 404);
  });

  test('a namespace-level rule authorises every hub; a rule of another hub does not', async () => {
    const ns = await herald.hubs.addRule(null, { name: 'NamespaceSend', rights: ['Send'] });
    await herald.hubs.createHub('other');
    const otherRule = await herald.hubs.getRule('other', 'DefaultFullSharedAccessSignature');
    const exp = Math.floor(Date.now() / 1000) + 60;
    const nsToken = createSasToken(audience(), ns.name, ns.primaryKey, exp);
    const send = (hub: string, token: string) =>
      fetch(`${herald.httpUrl}/${hub}/messages/?api-version=2020-06`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json', 'ServiceBusNotification-Format': 'apple', 'ServiceBusNotification-Tags': 'nobody' },
        body: '{"aps":{}}',
      });
    assert.equal((await send('sandbox', nsToken)).status, 201);
    assert.equal((await send('other', nsToken)).status, 201);
    assert.equal((await get('/other/registrations', nsToken)).status, 401, 'Send does not imply Manage');
    const foreign = createSasToken(audience(), otherRule.name, otherRule.primaryKey, exp);
    assert.equal((await send('sandbox', foreign)).status, 401, "another hub's key is not this hub's");
  });

  test('a regenerated key replaces the old one at once', async () => {
    const before = createSasToken(audience(), full.keyName, full.key, Math.floor(Date.now() / 1000) + 60);
    assert.equal((await get('/sandbox/installations/x', before)).status, 404);
    const res = await herald.admin('POST', `/hubs/sandbox/rules/${full.keyName}/regenerate`, { key: 'primary' });
    assert.equal(res.status, 200);
    assert.notEqual(res.body.primaryKey, full.key);
    assert.equal((await get('/sandbox/installations/x', before)).status, 401);
    const after = createSasToken(audience(), full.keyName, res.body.primaryKey, Math.floor(Date.now() / 1000) + 60);
    assert.equal((await get('/sandbox/installations/x', after)).status, 404);
  });

  test('unknown paths, wrong methods and bad encodings get Azure error bodies, never 5xx', async () => {
    const token = createSasToken(audience(), full.keyName, (await herald.hubs.getRule('sandbox', full.keyName)).primaryKey, Math.floor(Date.now() / 1000) + 60);
    const nothing = await get('/sandbox/nothing-here', token);
    assert.equal(nothing.status, 404);
    assert.match(nothing.body, /^<Error><Code>404<\/Code>/);
    const wrong = await fetch(`${herald.httpUrl}/sandbox/installations/x`, { method: 'POST', headers: { authorization: token } });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'PUT, PATCH, GET, DELETE');
    assert.equal((await get('/sandbox/installations/%E0%A4%A', token)).status, 400);
  });

  test('a body over 64 KB is refused with 413 before authentication is even needed', async () => {
    const res = await fetch(`${herald.httpUrl}/sandbox/messages/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(65 * 1024) });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /<Code>413<\/Code><Detail>The request body is larger than the limit of 65536 bytes/);
  });
});
