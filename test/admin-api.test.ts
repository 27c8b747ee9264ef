/** The management API /_admin/v1: hubs, rules, keys and PNS credentials, and every bad input. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createECDH } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestHerald, type TestHerald } from './helpers.ts';

function p8(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function vapid(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: ecdh.getPrivateKey().toString('base64url') };
}

/** Every byte the hub wrote to its data directory, as text (to prove a secret is not in it). */
function dataDirText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).toString('latin1'))
    .join('\n');
}

describe('management API', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald();
  });
  after(() => h.close());

  test('without the admin key, or with a wrong one, every call is 401 and nothing changes', async () => {
    const none = await fetch(`${h.adminUrl}/_admin/v1/hubs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x1"}' });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="herald-admin"');
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'admin_key_required');
    const wrong = await h.admin('POST', '/hubs', { name: 'x1' }, { authorization: 'Bearer wrong' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'admin_key_invalid');
    assert.equal((await h.admin('GET', '/hubs/x1')).status, 404);
  });

  test('a hub is created with two default rules and connection strings, listed, fetched and deleted', async () => {
    const created = await h.admin('POST', '/hubs', { name: 'app-1.prod_eu' });
    assert.equal(created.status, 201);
    assert.equal(created.body.hub.name, 'app-1.prod_eu');
    assert.deepEqual(created.body.rules.map((r: { name: string; rights: string[] }) => [r.name, r.rights]), [
      ['DefaultListenSharedAccessSignature', ['Listen']],
      ['DefaultFullSharedAccessSignature', ['Listen', 'Send', 'Manage']],
    ]);
    for (const r of created.body.rules) {
      assert.equal(Buffer.from(r.primaryKey, 'base64').length, 32);
      assert.notEqual(r.primaryKey, r.secondaryKey);
    }
    assert.match(created.body.connectionStrings.full, /^Endpoint=sb:\/\/localhost:\d+\/;SharedAccessKeyName=DefaultFullSharedAccessSignature;SharedAccessKey=/);
    const cs = await h.admin('GET', '/hubs/app-1.prod_eu/rules/DefaultFullSharedAccessSignature/connection-strings');
    assert.equal(cs.body.primary, created.body.connectionStrings.full);

    assert.ok((await h.admin('GET', '/hubs')).body.hubs.some((x: { name: string }) => x.name === 'app-1.prod_eu'));
    assert.equal((await h.admin('GET', '/hubs/APP-1.PROD_EU')).body.name, 'app-1.prod_eu', 'names are case-insensitive');
    assert.equal((await h.admin('DELETE', '/hubs/app-1.prod_eu')).status, 204);
    assert.equal((await h.admin('GET', '/hubs/app-1.prod_eu')).status, 404);
    const again = await h.admin('DELETE', '/hubs/app-1.prod_eu');
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'hub_not_found');
  });

  test('invalid hub names are 400 invalid_hub_name and nothing is stored', async () => {
    const before = (await h.admin('GET', '/hubs')).body.hubs.length;
    for (const name of ['-leading', 'trailing.', 'has space', 'slash/inside', '_admin', '', 'a'.repeat(261), 'ünïcode']) {
      const r = await h.admin('POST', '/hubs', { name });
      assert.equal(r.status, 400, name);
      assert.equal(r.body.error.code, 'invalid_hub_name', name);
    }
    const missing = await h.admin('POST', '/hubs', {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'invalid_request');
    assert.equal((await h.admin('GET', '/hubs')).body.hubs.length, before);
  });

  test('a taken name is 409 hub_exists and the first hub keeps its keys', async () => {
    const first = await h.admin('POST', '/hubs', { name: 'dup' });
    const second = await h.admin('POST', '/hubs', { name: 'DUP' });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'hub_exists');
    const cs = await h.admin('GET', '/hubs/dup/rules/DefaultFullSharedAccessSignature/connection-strings');
    assert.equal(cs.body.primary, first.body.connectionStrings.full);
  });

  test('malformed JSON is 400 malformed_body, an oversized body 413, and nothing is stored', async () => {
    const bad = await h.admin('POST', '/hubs', '{"name": "half', {});
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'malformed_body');
    const big = await h.admin('POST', '/hubs', { name: 'big', pad: 'x'.repeat(70 * 1024) });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'payload_too_large');
    assert.equal((await h.admin('GET', '/hubs/big')).status, 404);
  });

  test('rules: add, list, regenerate the secondary key, remove; bad names, rights, keys and the limit', async () => {
    await h.admin('POST', '/hubs', { name: 'rules-hub' });
    const added = await h.admin('POST', '/hubs/rules-hub/rules', { name: 'backend', rights: ['Send', 'Listen'] });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body.rights, ['Listen', 'Send']);
    const chosen = await h.admin('POST', '/hubs/rules-hub/rules', { name: 'fixed', rights: ['Listen'], primaryKey: 'abcdefghijklmnopqrstuvwxyz012345', secondaryKey: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345' });
    assert.equal(chosen.body.primaryKey, 'abcdefghijklmnopqrstuvwxyz012345');

    const regen = await h.admin('POST', '/hubs/rules-hub/rules/backend/regenerate', { key: 'secondary' });
    assert.equal(regen.status, 200);
    assert.equal(regen.body.primaryKey, added.body.primaryKey);
    assert.notEqual(regen.body.secondaryKey, added.body.secondaryKey);

    const cases: Array<[unknown, number, string]> = [
      [{ name: 'bad name', rights: ['Listen'] }, 400, 'invalid_rule_name'],
      [{ name: 'r', rights: ['Read'] }, 400, 'invalid_rights'],
      [{ name: 'r', rights: [] }, 400, 'invalid_rights'],
      [{ name: 'r', rights: ['Listen'], primaryKey: 'short' }, 400, 'invalid_key'],
      [{ name: 'r', rights: ['Listen'], primaryKey: 'has&ampersand&which&breaks&tokens' }, 400, 'invalid_key'],
      [{ name: 'backend', rights: ['Listen'] }, 409, 'rule_exists'],
    ];
    for (const [body, status, code] of cases) {
      const r = await h.admin('POST', '/hubs/rules-hub/rules', body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.error.code, code, JSON.stringify(body));
    }
    assert.equal((await h.admin('POST', '/hubs/rules-hub/rules/backend/regenerate', { key: 'tertiary' })).status, 400);
    assert.equal((await h.admin('POST', '/hubs/rules-hub/rules/nope/regenerate', { key: 'primary' })).body.error.code, 'rule_not_found');
    assert.equal((await h.admin('POST', '/hubs/no-hub/rules', { name: 'x', rights: ['Listen'] })).body.error.code, 'hub_not_found');

    for (let i = (await h.admin('GET', '/hubs/rules-hub/rules')).body.rules.length; i < 12; i++) {
      assert.equal((await h.admin('POST', '/hubs/rules-hub/rules', { name: `r${i}`, rights: ['Listen'] })).status, 201);
    }
    const thirteenth = await h.admin('POST', '/hubs/rules-hub/rules', { name: 'r13', rights: ['Listen'] });
    assert.equal(thirteenth.status, 409);
    assert.equal(thirteenth.body.error.code, 'too_many_rules');
    const names = (await h.admin('GET', '/hubs/rules-hub/rules')).body.rules.map((r: { name: string }) => r.name);
    assert.equal(names.length, 12);
    assert.ok(!names.includes('r13') && !names.includes('bad name'));

    assert.equal((await h.admin('DELETE', '/hubs/rules-hub/rules/backend')).status, 204);
    assert.equal((await h.admin('DELETE', '/hubs/rules-hub/rules/backend')).body.error.code, 'rule_not_found');
  });

  test('namespace-level rules are managed at /_admin/v1/rules', async () => {
    const r = await h.admin('POST', '/rules', { name: 'ops', rights: ['Manage'] });
    assert.equal(r.status, 201);
    assert.ok((await h.admin('GET', '/rules')).body.rules.some((x: { name: string }) => x.name === 'ops'));
    assert.equal((await h.admin('DELETE', '/rules/ops')).status, 204);
  });

  test('credentials are checked, sealed at rest and never returned whole', async () => {
    await h.admin('POST', '/hubs', { name: 'creds' });
    const key = p8();
    const apns = await h.admin('PUT', '/hubs/creds/credentials/apns', { auth: 'token', keyId: 'ABC123DEFG', teamId: 'TEAM123456', bundleId: 'com.example.app', key, endpoint: 'https://127.0.0.1:9443' });
    assert.equal(apns.status, 200, JSON.stringify(apns.body));
    assert.equal(apns.body.summary.keyId, 'ABC123DEFG');
    assert.equal(apns.body.endpoint, 'https://127.0.0.1:9443');
    assert.match(apns.body.summary.keyFingerprint, /^sha256:[0-9a-f]{16}$/);

    const v = vapid();
    assert.equal((await h.admin('PUT', '/hubs/creds/credentials/browser', { subject: 'mailto:ops@example.com', ...v })).status, 200);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const fcm = await h.admin('PUT', '/hubs/creds/credentials/fcmv1', { serviceAccount: JSON.stringify({ type: 'service_account', project_id: 'demo', client_email: 'sender@demo.iam.gserviceaccount.com', private_key: rsa }) });
    assert.equal(fcm.status, 200, JSON.stringify(fcm.body));
    assert.equal(fcm.body.summary.projectId, 'demo');
    const wns = await h.admin('PUT', '/hubs/creds/credentials/WNS', { clientId: 'ms-app://s-1-15-2-1', clientSecret: 'wns-client-secret-value' });
    assert.equal(wns.status, 200);

    const all = await h.admin('GET', '/hubs/creds/credentials');
    assert.deepEqual(all.body.credentials.map((c: { platform: string }) => c.platform), ['adm', 'apns', 'browser', 'fcmv1', 'wns']);
    const shown = JSON.stringify(all.body) + JSON.stringify((await h.admin('GET', '/hubs/creds/credentials/apns')).body);
    for (const secret of ['PRIVATE KEY', v.privateKey, 'wns-client-secret-value']) assert.ok(!shown.includes(secret), secret);

    const stored = dataDirText(h.dataDir);
    for (const secret of [key.split('\n')[1]!, v.privateKey, 'wns-client-secret-value', rsa.split('\n')[1]!]) {
      assert.ok(!stored.includes(secret), 'a secret is stored in clear');
    }
    const opened = await h.hubs.openCredentials('creds', 'apns');
    assert.equal(opened.platform === 'apns' && opened.auth === 'token' && opened.key, key);

    assert.equal((await h.admin('DELETE', '/hubs/creds/credentials/wns')).status, 204);
    assert.equal((await h.admin('GET', '/hubs/creds/credentials/wns')).body.error.code, 'credentials_not_found');
  });

  test('bad credentials are 400 with every problem named, and the old ones stay', async () => {
    await h.admin('POST', '/hubs', { name: 'badcreds' });
    const v = vapid();
    await h.admin('PUT', '/hubs/badcreds/credentials/browser', { subject: 'mailto:a@b.c', ...v });
    const cases: Array<[string, unknown, RegExp]> = [
      ['apns', { auth: 'token', keyId: 'short', teamId: 'TEAM123456', bundleId: 'x', key: p8() }, /keyId: must be the 10-character key id/],
      ['apns', { auth: 'token', keyId: 'ABC123DEFG', teamId: 'TEAM123456', bundleId: 'x', key: 'not a key' }, /key: must be the \.p8 signing key/],
      ['apns', { auth: 'password' }, /auth/],
      ['apns', { auth: 'certificate', certificate: 'nope', privateKey: p8() }, /certificate: must be a PEM X\.509 certificate/],
      ['fcmv1', { serviceAccount: '{"project_id":' }, /serviceAccount/],
      ['fcmv1', { serviceAccount: { project_id: 'p', client_email: 'a@b.c', private_key: p8() } }, /private_key: must be the PEM RSA private key/],
      ['wns', { clientId: 'id' }, /clientSecret/],
      ['browser', { subject: 'someone', ...v }, /subject: must be a mailto: or https: contact/],
      ['browser', { subject: 'mailto:a@b.c', publicKey: v.publicKey, privateKey: vapid().privateKey }, /privateKey: the private key does not belong to the public key/],
      ['browser', { subject: 'mailto:a@b.c', ...v, endpoint: 'ftp://x' }, /endpoint: must be an http or https URL/],
    ];
    for (const [platform, body, message] of cases) {
      const r = await h.admin('PUT', `/hubs/badcreds/credentials/${platform}`, body);
      assert.equal(r.status, 400, `${platform} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 'invalid_credentials');
      assert.match(r.body.error.message, message);
    }
    const unknown = await h.admin('PUT', '/hubs/badcreds/credentials/carrier-pigeon', {});
    assert.equal(unknown.body.error.code, 'unknown_platform');
    const list = (await h.admin('GET', '/hubs/badcreds/credentials')).body.credentials as Array<{ platform: string; summary: Record<string, string> }>;
    assert.equal(list.find((c) => c.platform === 'browser')?.summary.publicKey, v.publicKey, 'the credentials set before stay');
    for (const c of list.filter((x) => x.platform !== 'browser')) assert.equal(c.summary.source, 'sandbox emulator', `${c.platform}: untouched`);
    assert.equal((await h.admin('PUT', '/hubs/none/credentials/wns', { clientId: 'a', clientSecret: 'b' })).body.error.code, 'hub_not_found');
  });

  test('the OpenAPI document describes every management route', async () => {
    const res = await fetch(`${h.adminUrl}/_admin/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.0.3');
    for (const path of ['/hubs', '/hubs/{hub}', '/hubs/{hub}/rules', '/hubs/{hub}/rules/{rule}/regenerate', '/hubs/{hub}/credentials/{platform}', '/rules']) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(!Object.keys(doc.paths).some((p) => p.includes('*') || p.startsWith('/_')), 'only management routes');
  });

  test('health and metrics', async () => {
    assert.deepEqual(await (await fetch(`${h.adminUrl}/_health`)).json(), { status: 'ok', version: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version, store: 'sqlite' });
    await fetch(`${h.httpUrl}/sandbox/installations/x`);
    const text = await (await fetch(`${h.adminUrl}/_metrics`)).text();
    assert.match(text, /herald_http_requests_total\{method="GET",route="\/_health",status="200"\} \d+/);
    assert.match(text, /herald_http_requests_total\{method="GET",route="azure:getInstallation",status="401"\} 1/);
    assert.match(text, /herald_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/_health"\}/);
  });

  test('every log line about a request carries its request id', async () => {
    const res = await fetch(`${h.httpUrl}/sandbox/registrations`);
    const id = res.headers.get('trackingid')!;
    const lines = h.logLines.filter((l) => l.requestId === id);
    assert.ok(lines.length >= 2, 'incoming request, its outcome and its completion');
    assert.ok(lines.some((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 401));
    assert.ok(h.logLines.filter((l) => l.req || l.res).every((l) => typeof l.requestId === 'string'));
    assert.ok(!JSON.stringify(h.logLines).includes(h.adminKey), 'the admin key never reaches the log');
    await fetch(`${h.adminUrl}/_feedback/sandbox?se=1&sig=secret-signature-value`);
    assert.ok(h.logLines.some((l) => (l.req as { url?: string } | undefined)?.url === '/_feedback/sandbox?se=[redacted]&sig=[redacted]'));
    assert.ok(!JSON.stringify(h.logLines).includes('secret-signature-value'), 'URL signatures never reach the log');
  });
});
