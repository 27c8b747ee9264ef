/**
 * Who may write what, and concurrent writes, through HTTP on the Azure surface (issue 10, items 9 and 18):
 * a registration materialised from an installation is managed through the installation API only, a
 * classic registration squatting on a materialised id cannot break the installation, and concurrent
 * PATCHes of one installation all keep their changes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createSasToken } from '../src/auth/sas.ts';
import { LISTEN_RULE } from '../src/hubs/hub-service.ts';
import { materializedRegistrationId } from '../src/registry/materialize.ts';
import { startTestHerald, tempDir, type TestHerald } from './helpers.ts';

const ATOM = 'application/atom+xml;type=entry;charset=utf-8';
const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';

function appleEntry(token: string, tags = ''): string {
  const inner = `${tags ? `<Tags>${tags}</Tags>` : ''}<DeviceToken>${token}</DeviceToken>`;
  return `<?xml version="1.0" encoding="UTF-8"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><AppleRegistrationDescription ${NS}>${inner}</AppleRegistrationDescription></content></entry>`;
}

describe('registrations an installation owns, and concurrent installation writes', () => {
  const dir = tempDir();
  let h: TestHerald;
  let listen: string;
  let manage: string;
  before(async () => {
    h = await startTestHerald({ 'data.dir': dir });
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const l = await h.hubs.getRule('sandbox', LISTEN_RULE);
    listen = createSasToken('https://localhost/', l.name, l.primaryKey, expiry);
    const m = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    manage = createSasToken('https://localhost/', m.name, m.primaryKey, expiry);
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(auth: string, method: string, path: string, body?: string, type = ATOM, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.httpUrl}/sandbox${path}?api-version=2020-06`, {
      method,
      headers: { authorization: auth, 'content-type': type, ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, text: await res.text() };
  }
  const putInstallation = (id: string, body: Record<string, unknown>) => call(listen, 'PUT', `/installations/${id}`, JSON.stringify({ installationId: id, ...body }), 'application/json');
  const storedRegistrations = async (installationId: string) =>
    ((await h.admin('GET', `/hubs/sandbox/registrations?installationId=${encodeURIComponent(installationId)}`)).body.items as Array<{ registrationId: string; handle: { value: string }; tags: string[] }>).map(({ registrationId, ...r }) => ({ id: registrationId, ...r }));
  const storedById = async (id: string) =>
    ((await h.admin('GET', '/hubs/sandbox/registrations?top=1000')).body.items as Array<{ registrationId: string }>).find((r) => r.registrationId === id);

  test('item 9: no key may write or delete a registration an installation owns (409), and nothing changes', async () => {
    assert.equal((await putInstallation('victim', { platform: 'apns', pushChannel: 'AAAA0001', tags: ['news'], templates: { t1: { body: '{"aps":{"alert":"$(m)"}}' } } })).status, 200);
    const native = materializedRegistrationId('victim');
    const template = materializedRegistrationId('victim', 't1');
    const before = await storedRegistrations('victim');
    assert.deepEqual(before.map((r) => r.id).sort(), [native, template].sort());
    for (const [auth, who] of [[listen, 'Listen'], [manage, 'Manage']] as const) {
      for (const id of [native, template]) {
        for (const [method, body, headers] of [
          ['PUT', appleEntry('BBBB0002', 'stolen'), {}],
          ['PUT', appleEntry('BBBB0002', 'stolen'), { 'if-match': '*' }],
          ['DELETE', undefined, {}],
          ['DELETE', undefined, { 'if-match': '*' }],
        ] as const) {
          const r = await call(auth, method, `/registrations/${id}`, body, ATOM, headers);
          assert.equal(r.status, 409, `${who} ${method} ${JSON.stringify(headers)}: ${r.text}`);
          assert.match(r.text, /^<Error><Code>409<\/Code><Detail>[^<]*installation/);
        }
      }
    }
    assert.deepEqual(await storedRegistrations('victim'), before, 'the installation keeps its registrations, unchanged');
    // The installation API still manages them.
    assert.equal((await putInstallation('victim', { platform: 'apns', pushChannel: 'AAAA0003' })).status, 200);
    assert.deepEqual((await storedRegistrations('victim')).map((r) => [r.id, r.handle.value]), [[native, 'AAAA0003']]);
  });

  test('item 9: a classic registration squatting on a materialised id loses to the installation, PUT after PUT', async () => {
    const native = materializedRegistrationId('squatted');
    const template = materializedRegistrationId('squatted', 'greeting');
    // Before the installation exists the ids are free: a Listen key can create classic registrations there.
    for (const id of [native, template]) assert.equal((await call(listen, 'PUT', `/registrations/${id}`, appleEntry('BBBB0002', 'attacker'))).status, 200);
    for (let i = 0; i < 3; i++) {
      const r = await putInstallation('squatted', { platform: 'apns', pushChannel: `AAAA000${i}`, tags: ['mine'], templates: { greeting: { body: '{"aps":{"alert":"hi"}}' } } });
      assert.equal(r.status, 200, r.text);
    }
    const regs = await storedRegistrations('squatted');
    assert.deepEqual(regs.map((r) => r.id).sort(), [native, template].sort());
    for (const r of regs) {
      assert.equal(r.handle.value, 'AAAA0002', 'the installation holds the native slot with its own handle');
      assert.ok(!r.tags.includes('attacker'));
    }
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?count=true&tagExpression=attacker')).body.total, 0, 'nothing of the squatters is left');
    // Deleting the installation removes its registrations; the ids are free again.
    assert.equal((await call(listen, 'DELETE', '/installations/squatted', undefined, 'application/json')).status, 204);
    assert.equal(await storedById(native), undefined);
  });

  test('item 18: twenty concurrent PATCHes of one installation all keep their change', async () => {
    assert.equal((await putInstallation('busy', { platform: 'apns', pushChannel: 'AAAA0009', tags: ['start'] })).status, 200);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(listen, 'PATCH', '/installations/busy', JSON.stringify([{ op: 'add', path: '/tags', value: `tag${i}` }]), 'application/json')),
    );
    assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
    const got = JSON.parse((await call(listen, 'GET', '/installations/busy', undefined, 'application/json')).text) as { tags: string[] };
    assert.deepEqual([...got.tags].sort(), ['start', ...Array.from({ length: 20 }, (_, i) => `tag${i}`)].sort());
    const [native] = await storedRegistrations('busy');
    assert.equal(native?.tags.length, 1 + 21, 'the registration carries every tag too');
  });

  test('item 18: a PATCH racing a DELETE never brings the installation back; one that finds it gone answers 404', async () => {
    for (let round = 0; round < 5; round++) {
      assert.equal((await putInstallation('fleeting', { platform: 'apns', pushChannel: 'AAAA0010' })).status, 200);
      const [patched, deleted] = await Promise.all([
        call(listen, 'PATCH', '/installations/fleeting', JSON.stringify([{ op: 'add', path: '/tags', value: 'late' }]), 'application/json'),
        call(listen, 'DELETE', '/installations/fleeting', undefined, 'application/json'),
      ]);
      assert.equal(deleted.status, 204);
      assert.ok(patched.status === 200 || patched.status === 404, patched.text);
      const after = await call(listen, 'GET', '/installations/fleeting', undefined, 'application/json');
      assert.equal(after.status, 404, `round ${round}: the DELETE came last or first, either way the installation is gone`);
      assert.deepEqual(await storedRegistrations('fleeting'), []);
    }
    const missing = await call(listen, 'PATCH', '/installations/fleeting', JSON.stringify([{ op: 'add', path: '/tags', value: 'x' }]), 'application/json');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /Installation not found/);
  });
});
