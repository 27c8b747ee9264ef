/**
 * Reserved tags (issue 10 item 10): `$InstallationId:{…}` and `$UserId:{…}` are system tags that only an
 * installation generates (wire spec §5.2, §12.1). A client that could write them would receive another
 * user's targeted sends, so every path where a caller writes tags refuses them with 400 and stores nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSasToken } from '../src/auth/sas.ts';
import { LISTEN_RULE } from '../src/hubs/hub-service.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';

const ATOM = 'application/atom+xml;type=entry;charset=utf-8';
const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';
const apple = (tags: string, token = 'ABCD0123') => `<AppleRegistrationDescription ${NS}><Tags>${tags}</Tags><DeviceToken>${token}</DeviceToken></AppleRegistrationDescription>`;
const entry = (description: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">${description}</content></entry>`;

const RESERVED = ['$UserId:{victim}', '$userid:{victim}', '$InstallationId:{victim-device}', '$INSTALLATIONID:{victim-device}'];

describe('reserved system tags', () => {
  let h: TestHerald;
  let listen: string;
  before(async () => {
    h = await startTestHerald();
    const rule = await h.hubs.getRule('sandbox', LISTEN_RULE);
    listen = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: string, type = ATOM, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.httpUrl}/sandbox${path}${path.includes('?') ? '&' : '?'}api-version=2020-06`, {
      method,
      headers: { authorization: listen, 'content-type': type, ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, text: await res.text() };
  }
  const stored = async (tag: string) => (await h.admin('GET', `/hubs/sandbox/registrations?tagExpression=${encodeURIComponent(tag)}&count=true`)).body.total as number;
  const total = async () => (await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total as number;

  test('a Listen key cannot create or update a registration with a system tag (400, nothing stored)', async () => {
    const before = await total();
    for (const tag of RESERVED) {
      for (const [method, path] of [['POST', '/registrations'], ['PUT', '/registrations/1-2-3']] as const) {
        const r = await call(method, path, entry(apple(`mine,${tag}`)));
        assert.equal(r.status, 400, `${method} ${tag}: ${r.text}`);
        assert.match(r.text, /^<Error><Code>400<\/Code><Detail>Tag at index 1 '\$[A-Za-z]+:\{victim[^']*\}' is a system tag, which Herald sets itself/);
      }
    }
    assert.equal(await total(), before, 'nothing stored');
    assert.equal(await stored('$UserId:{victim}'), 0);

    // An update of an existing registration that adds one is refused too, and the stored one is unchanged.
    const created = await call('PUT', '/registrations/5-6-7', entry(apple('mine')));
    assert.equal(created.status, 200, created.text);
    const update = await call('PUT', '/registrations/5-6-7', entry(apple('mine,$UserId:{victim}')), ATOM, { 'if-match': '*' });
    assert.equal(update.status, 400, update.text);
    const got = await call('GET', '/registrations/5-6-7');
    assert.match(got.text, /<Tags>mine<\/Tags>/);
    assert.equal(await stored('$UserId:{victim}'), 0);
  });

  test('installations: tags in PUT and PATCH add operations may not be system tags', async () => {
    const put = await call('PUT', '/installations/dev-1', JSON.stringify({ installationId: 'dev-1', platform: 'apns', pushChannel: 'ABCD0123', tags: ['$UserId:{victim}'] }), 'application/json');
    assert.equal(put.status, 400, put.text);
    assert.match(put.text, /is a system tag/);
    const ok = await call('PUT', '/installations/dev-1', JSON.stringify({ installationId: 'dev-1', platform: 'apns', pushChannel: 'ABCD0123', userId: 'me' }), 'application/json');
    assert.equal(ok.status, 200, ok.text);
    for (const value of ['$UserId:{victim}', ['x', '$InstallationId:{victim-device}']]) {
      const patch = await call('PATCH', '/installations/dev-1', JSON.stringify([{ op: 'add', path: '/tags', value }]), 'application/json-patch+json');
      assert.equal(patch.status, 400, patch.text);
      assert.match(patch.text, /is a system tag/);
    }
    assert.equal(await stored('$UserId:{victim}'), 0);
    assert.equal(await stored('$InstallationId:{victim-device}'), 0);
    // The userId field is the way to get a $UserId tag: the installation generates it.
    assert.equal(await stored('$UserId:{me}'), 1);
  });

  test('import jobs refuse rows with a system tag, line by line', async () => {
    const lines = [apple('ok', 'ABCDEF01'), apple('x,$UserId:{victim}', 'ABCDEF02'), apple('$InstallationId:{victim-device}', 'ABCDEF03')].join('\n');
    const up = await fetch(`${h.adminUrl}/_admin/v1/files/reserved/in.txt`, { method: 'PUT', headers: { authorization: `Bearer ${h.adminKey}` }, body: lines });
    assert.ok(up.ok, String(up.status));
    const job = await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: 'reserved/in.txt', outputDir: 'reserved/out' });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    await h.jobs.idle();
    const done = await h.admin('GET', `/hubs/sandbox/jobs/${job.body.id}`);
    assert.equal(done.body.status, 'Completed', JSON.stringify(done.body));
    assert.equal(done.body.outputProperties.SucceededLines, '1');
    assert.equal(done.body.outputProperties.FailedLines, '2');
    const where = String(done.body.outputProperties.FailedFilePath);
    const failed = readFileSync(where.startsWith('file:') ? fileURLToPath(where) : isAbsolute(where) ? where : join(h.dataDir, 'files', where), 'utf8');
    assert.match(failed, /^2\t.*is a system tag/m);
    assert.match(failed, /^3\t.*is a system tag/m);
    assert.equal(await stored('$UserId:{victim}'), 0);
    assert.equal(await stored('$InstallationId:{victim-device}'), 0);
  });
});
