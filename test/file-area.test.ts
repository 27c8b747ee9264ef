/**
 * The file area across hubs (issue 10, item 12): a job submitted on the Azure surface (a hub's Manage
 * key) reaches only its hub's folder, `hubs/<hub>/`; the management API reaches the whole area. Errors
 * and job failures name paths relative to the area, and a malformed URI is a 400, never a 500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSasToken } from '../src/auth/sas.ts';
import { startTestHerald, type TestHerald } from './helpers.ts';

const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';
const line = (token: string) => `<FcmV1RegistrationDescription ${NS}><Tags>imported</Tags><FcmV1RegistrationId>${token}</FcmV1RegistrationId></FcmV1RegistrationDescription>`;

function jobEntry(type: string, output: string, input?: string): string {
  const inner = `<Type>${type}</Type><OutputContainerUri><![CDATA[${output}]]></OutputContainerUri>${input === undefined ? '' : `<ImportFileUri><![CDATA[${input}]]></ImportFileUri>`}`;
  return `<?xml version="1.0" encoding="UTF-8"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><NotificationHubJob ${NS}>${inner}</NotificationHubJob></content></entry>`;
}

describe('the file area across hubs', () => {
  let h: TestHerald;
  let files: string;
  let auth: string;
  before(async () => {
    h = await startTestHerald();
    files = join(h.dataDir, 'files');
    const rule = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    auth = createSasToken('https://localhost/', rule.name, rule.primaryKey, Math.floor(Date.now() / 1000) + 3600);
    assert.equal((await h.admin('POST', '/hubs', { name: 'other' })).status, 201);
    // Another hub's upload, and one at the top of the area (the admin's), both through the admin API.
    assert.equal((await h.admin('PUT', '/files/hubs/other/devices.txt', `${line('theirs')}\n`, { 'content-type': 'text/plain' })).status, 201);
    assert.equal((await h.admin('PUT', '/files/devices.txt', `${line('admins')}\n`, { 'content-type': 'text/plain' })).status, 201);
  });
  after(async () => {
    await h.close();
    rmSync(h.dataDir, { recursive: true, force: true });
  });

  async function submit(output: string, input?: string) {
    const res = await fetch(`${h.httpUrl}/sandbox/jobs?api-version=2020-06`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/atom+xml;type=entry;charset=utf-8' },
      body: jobEntry(input === undefined ? 'ExportRegistrations' : 'ImportCreateRegistrations', output, input),
    });
    return { status: res.status, text: await res.text() };
  }
  const detail = (text: string) => text.replace(/\.TrackingId:.*$/, '');
  const jobs = async () => (await h.admin('GET', '/hubs/sandbox/jobs')).body.jobs as Array<{ id: string }>;
  const url = (rel: string) => pathToFileURL(join(files, rel)).href;

  test("an Azure-surface job cannot import another hub's file, nor learn whether a path exists", async () => {
    const out = url('hubs/sandbox/out');
    const theirs = await submit(out, url('hubs/other/devices.txt'));
    const missing = await submit(out, url('hubs/other/no-such-file.txt'));
    const admins = await submit(out, url('devices.txt'));
    const viaEndpoint = await submit(out, `${h.httpUrl}/_admin/v1/files/hubs/other/devices.txt`);
    for (const r of [theirs, missing, admins, viaEndpoint]) {
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, /^<Error><Code>400<\/Code><Detail>ImportFileUri must name a place inside this hub's folder of Herald's file area \(hubs\/sandbox\/\)\./);
      assert.ok(!r.text.includes(h.dataDir), `no server path: ${r.text}`);
    }
    assert.equal(detail(theirs.text), detail(missing.text), 'an existing and a missing file answer alike');
    const output = await submit(url('hubs/other'));
    assert.equal(output.status, 400);
    assert.match(output.text, /OutputContainerUri must name a place inside this hub's folder/);
    assert.deepEqual(await jobs(), [], 'nothing was stored');
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total, 0);
  });

  test('malformed URIs are 400 and name no server path', async () => {
    const cases = [
      'file://remote-host/etc/passwd',
      `${url('hubs/sandbox')}/a%2Fb`,
      `${url('hubs/sandbox')}/a%00b`,
      `${h.httpUrl}/_admin/v1/files/hubs/sandbox/%E0%A4%A`,
      `${url('hubs/sandbox')}/${'x'.repeat(300)}`,
      `${url('hubs/sandbox')}/${'y/'.repeat(3000)}`,
      `${url('hubs/sandbox')}/..%2F..%2Fother`,
      'file:///etc/passwd',
      'not a url',
    ];
    for (const bad of cases) {
      for (const r of [await submit(bad), await submit(url('hubs/sandbox/out'), bad)]) {
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
        assert.ok(!r.text.includes(h.dataDir), `${bad}: ${r.text}`);
      }
    }
    assert.deepEqual(await jobs(), [], 'nothing was stored');
  });

  test("a job in the hub's folder runs; its output names places as the job named its container, privately", async () => {
    mkdirSync(join(files, 'hubs', 'sandbox'), { recursive: true });
    writeFileSync(join(files, 'hubs', 'sandbox', 'mine.txt'), `${line('mine')}\n`);
    const viaFile = await submit(url('hubs/sandbox/out'), url('hubs/sandbox/mine.txt'));
    assert.equal(viaFile.status, 201, viaFile.text);
    const viaEndpoint = await submit(`${h.httpUrl}/_admin/v1/files/hubs/sandbox/out2`);
    assert.equal(viaEndpoint.status, 201, viaEndpoint.text);
    await h.jobs.idle();
    const [exported, imported] = (await jobs()) as unknown as Array<{ status: string; outputProperties: Record<string, string> }>;
    assert.equal(imported!.status, 'Completed');
    assert.match(imported!.outputProperties.OutputFilePath!, new RegExp(`^${url('hubs/sandbox/out/sandbox/')}[^/]+/Output\\.txt$`));
    assert.equal(exported!.status, 'Completed');
    assert.match(exported!.outputProperties.OutputFilePath!, new RegExp(`^${h.httpUrl}/_admin/v1/files/hubs/sandbox/out2/sandbox/[^/]+/Output\\.txt$`));
    const rel = exported!.outputProperties.OutputFilePath!.slice(`${h.httpUrl}/_admin/v1/files/`.length);
    assert.equal(readFileSync(join(files, rel), 'utf8').trim().split('\n').length, 1, 'the imported registration, exported');
    assert.equal((statSync(join(files, rel)).mode & 0o777).toString(8), '600');
    assert.equal((statSync(join(files, rel, '..')).mode & 0o777).toString(8), '700');
  });

  test('a job that fails names the place relative to the area', async () => {
    // A file stands where the job's folder would go.
    writeFileSync(join(files, 'hubs', 'sandbox', 'blocked'), 'in the way');
    const r = await submit(url('hubs/sandbox/blocked'));
    assert.equal(r.status, 201, r.text);
    await h.jobs.idle();
    const failed = (await h.admin('GET', '/hubs/sandbox/jobs')).body.jobs.find((j: { status: string }) => j.status === 'Failed');
    // The same words on every file store (the data directory's, PostgreSQL's).
    assert.match(failed.failure, /^The job could not run: Cannot write hubs\/sandbox\/blocked\/sandbox\/[^/ ]+\/Output\.txt: a file stands where a folder is needed\.$/);
  });

  test('the admin API reaches the whole area, and its bad paths are 4xx, never 500', async () => {
    const res = await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: 'hubs/other/devices.txt', outputDir: 'admin-out' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const put = (path: string) => h.admin('PUT', `/files/${path}`, 'x', { 'content-type': 'text/plain' });
    const cases: Array<[string, number]> = [
      ['a%00b', 400],
      ['a%5C..%5C..%5Cescape', 400],
      ['..%2F..%2Fescape', 400],
      [`${'x'.repeat(300)}`, 400],
      [`${'y/'.repeat(600)}z`, 400],
      ['devices.txt/inside-a-file', 409],
      ['hubs', 409],
      ['hubs/other/', 409],
    ];
    for (const [path, status] of cases) {
      const r = await put(path);
      assert.equal(r.status, status, `PUT ${path}: ${JSON.stringify(r.body)}`);
      assert.ok(!JSON.stringify(r.body).includes(h.dataDir), `PUT ${path}: ${JSON.stringify(r.body)}`);
    }
    for (const path of ['devices.txt/inside-a-file', `${'x'.repeat(300)}`, 'hubs', 'a%00b']) {
      const r = await h.admin('GET', `/files/${path}`);
      assert.ok(r.status === 404 || r.status === 400, `GET ${path}: ${r.status}`);
      assert.ok(!JSON.stringify(r.body).includes(h.dataDir), `GET ${path}: ${JSON.stringify(r.body)}`);
    }
    const job = await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: 'devices.txt/inside-a-file' });
    assert.equal(job.status, 400, JSON.stringify(job.body));
  });

  test("a deleted hub's folder goes with it: a new hub of the same name finds none of its files", async () => {
    assert.equal((await h.admin('POST', '/hubs', { name: 'Gone' })).status, 201);
    assert.equal((await h.admin('PUT', '/files/hubs/Gone/out/Output.txt', 'handles', { 'content-type': 'text/plain' })).status, 201);
    const get = async (path: string) => {
      const res = await fetch(`${h.adminUrl}/_admin/v1/files/${path}`, { headers: { authorization: `Bearer ${h.adminKey}` } });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await get('hubs/Gone/out/Output.txt'), 200);
    assert.equal((await h.admin('DELETE', '/hubs/gone')).status, 204);
    assert.equal((await h.admin('POST', '/hubs', { name: 'Gone' })).status, 201);
    assert.equal(await get('hubs/Gone/out/Output.txt'), 404);
    assert.equal(await get('hubs/other/devices.txt'), 200, "another hub's files stay");
  });
});
