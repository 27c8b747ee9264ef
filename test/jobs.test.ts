/**
 * Import and export jobs (wire spec §11, test plan T29 to T31) through the official client, the
 * management API and the CLI, with Herald's file area standing where Azure puts blob containers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NotificationHubsClient, createFcmV1RegistrationDescription } from '@azure/notification-hubs';
import { allowHttpPolicy, httpConnectionString, startTestHerald, tempDir, type TestHerald } from './helpers.ts';
import { heraldBin } from './cli-bin.ts';

const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';
const line = (token: string, id?: string) =>
  `<FcmV1RegistrationDescription ${NS}>${id ? `<RegistrationId>${id}</RegistrationId>` : ''}<Tags>imported</Tags><FcmV1RegistrationId>${token}</FcmV1RegistrationId></FcmV1RegistrationDescription>`;

describe('jobs', () => {
  let h: TestHerald;
  let client: NotificationHubsClient;
  let files: string;
  let hubFiles: string;
  before(async () => {
    h = await startTestHerald();
    files = join(h.dataDir, 'files');
    hubFiles = join(files, 'hubs', 'sandbox');
    mkdirSync(hubFiles, { recursive: true });
    client = new NotificationHubsClient(await httpConnectionString(h), 'sandbox', allowHttpPolicy as never);
    for (let i = 0; i < 3; i++) await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: `existing-${i}` }));
  });
  after(() => h.close());

  test('T29, T30: an export job is accepted, listed, and writes one description per registration', async () => {
    // Jobs from the Azure surface reach only the hub's folder of the file area.
    const out = pathToFileURL(join(hubFiles, 'exports')).href;
    const job = await client.submitNotificationHubJob({ type: 'ExportRegistrations', outputContainerUrl: out });
    assert.ok(job.jobId);
    assert.equal(job.type, 'ExportRegistrations');
    await h.jobs.idle();
    const got = await client.getNotificationHubJob(job.jobId!);
    assert.equal(got.status, 'Completed');
    assert.equal(got.progress, 100);
    const output = got.outputFileName ?? (got as unknown as { outputProperties?: Record<string, string> }).outputProperties?.OutputFilePath;
    const listed = await client.listNotificationHubJobs();
    assert.ok(listed.some((j) => j.jobId === job.jobId));
    const text = readFileSync(join(hubFiles, 'exports', 'sandbox', job.jobId!, 'Output.txt'), 'utf8').trim().split('\n');
    assert.equal(text.length, 3);
    assert.ok(text.every((l) => l.startsWith('<FcmV1RegistrationDescription')), String(output));
  });

  test('T31: beginSubmitNotificationHubJob resolves on Completed and rejects with the failure on Failed', async () => {
    const input = join(hubFiles, 'in.txt');
    writeFileSync(input, `${line('fcm-a')}\n${line('fcm-b')}\n`);
    // The poller is thenable: awaiting it polls until the job ends.
    const done = await client.beginSubmitNotificationHubJob(
      { type: 'ImportCreateRegistrations', outputContainerUrl: pathToFileURL(join(hubFiles, 'out')).href, importFileUrl: pathToFileURL(input).href },
      { updateIntervalInMs: 50 },
    );
    assert.equal(done.status, 'Completed');
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?tagExpression=imported&count=true')).body.total, 2);

    // An output place that cannot be made (a file stands where the hub's folder would go).
    mkdirSync(join(hubFiles, 'blocked'), { recursive: true });
    writeFileSync(join(hubFiles, 'blocked', 'sandbox'), 'in the way');
    await assert.rejects(
      (async () => client.beginSubmitNotificationHubJob({ type: 'ExportRegistrations', outputContainerUrl: pathToFileURL(join(hubFiles, 'blocked')).href }, { updateIntervalInMs: 50 }))().then((p) => p),
      /The job could not run/,
    );
  });

  test('an import with garbage lines fails only those lines and reports them with their reasons', async () => {
    const input = join(files, 'mixed.txt');
    writeFileSync(input, [line('good-1'), 'this is not xml', line('good-2'), '', `<FooRegistrationDescription ${NS}/>`, line('bad token with spaces'), line('good-3')].join('\n'));
    const res = await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: 'mixed.txt', outputDir: 'mixed-out' });
    assert.equal(res.status, 201);
    await h.jobs.idle();
    const job = (await h.admin('GET', `/hubs/sandbox/jobs/${res.body.id}`)).body;
    assert.equal(job.status, 'Completed');
    assert.equal(job.outputProperties.SucceededLines, '3');
    assert.equal(job.outputProperties.FailedLines, '3');
    const failed = readFileSync(fileURLToPath(job.outputProperties.FailedFilePath), 'utf8').trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(failed.map((f) => f[0]), ['2', '5', '6'], 'line numbers of the input, the empty line skipped');
    assert.match(failed[1]![1]!, /FooRegistrationDescription/);
    assert.match(failed[2]![1]!, /FcmV1RegistrationId/);
    const output = readFileSync(fileURLToPath(job.outputProperties.OutputFilePath), 'utf8').trim().split('\n');
    assert.deepEqual(output.map((l) => l.split('\t').slice(0, 2).join(' ')), ['1 Succeeded', '3 Succeeded', '7 Succeeded']);
    const stored = (await h.admin('GET', '/hubs/sandbox/registrations?tagExpression=imported&count=true')).body.total;
    assert.equal(stored, 5, 'the two of T31 and the three good lines');
  });

  test('update, upsert and delete imports by RegistrationId', async () => {
    const reg = await client.createRegistration(createFcmV1RegistrationDescription({ fcmV1RegistrationId: 'to-change' }));
    const id = reg.registrationId!;
    writeFileSync(join(files, 'upd.txt'), `${line('changed', id)}\n${line('nobody', 'missing-id-1')}\n`);
    await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportUpdateRegistrations', importFile: 'upd.txt' });
    await h.jobs.idle();
    assert.equal((await client.getRegistration(id) as { fcmV1RegistrationId: string }).fcmV1RegistrationId, 'changed');
    await assert.rejects(client.getRegistration('missing-id-1'), (e: { statusCode?: number }) => e.statusCode === 404, 'update does not create');
    writeFileSync(join(files, 'del.txt'), `${line('changed', id)}\n`);
    await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportDeleteRegistrations', importFile: 'del.txt' });
    await h.jobs.idle();
    await assert.rejects(client.getRegistration(id), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('jobs that name storage Herald does not have, or a path outside its file area, are 400', async () => {
    await assert.rejects(
      client.submitNotificationHubJob({ type: 'ExportRegistrations', outputContainerUrl: 'https://x.blob.core.windows.net/c?sig=a' }),
      (e: { statusCode?: number; message: string }) => e.statusCode === 400 && /Herald has no blob storage/.test(e.message),
    );
    await assert.rejects(
      client.submitNotificationHubJob({ type: 'ExportRegistrations', outputContainerUrl: 'file:///etc' }),
      (e: { statusCode?: number; message: string }) => e.statusCode === 400 && /inside this hub's folder of Herald's file area/.test(e.message),
    );
    const res = await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: '../../admin.key' });
    assert.equal(res.status, 400);
    assert.equal((await h.admin('POST', '/hubs/sandbox/jobs', { type: 'ImportCreateRegistrations', importFile: 'nothing.txt' })).body.error.message.includes('names no file'), true);
    assert.equal((await h.admin('PUT', '/files/a%2F..%2F..%2Fescape.txt', 'x')).status, 400);
  });
});

/** Runs the CLI without blocking this process (its hub runs in this process). */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const bin = heraldBin;
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('herald import and export', () => {
  test('import a file with a bad line, then export everything, as a user would', async () => {
    const h = await startTestHerald();
    try {
      const dir = tempDir();
      const input = join(dir, 'devices.txt');
      writeFileSync(input, `${line('cli-1')}\nnot a registration\n${line('cli-2')}\n`);
      const env = { ...process.env, HERALD_URL: h.adminUrl, HERALD_ADMIN_KEY: h.adminKey };
      const imp = await cli(['import', input, '--hub', 'sandbox', '--json'], env);
      assert.equal(imp.status, 2, 'some lines failed: exit 2');
      const result = JSON.parse(imp.stdout);
      assert.equal(result.succeeded, 2);
      assert.equal(result.failed, 1);
      const failedLines = await cli(['download', result.failedLinesFile], env);
      assert.match(failedLines.stdout, /^2\t.*\tnot a registration\n$/);

      const out = join(dir, 'export.txt');
      const exp = await cli(['export', '--hub', 'sandbox', '--out', out], env);
      assert.equal(exp.status, 0, exp.stderr);
      assert.equal(exp.stdout.trim(), `Exported 2 registration(s) to ${out}.`);
      assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2);
      const listed = await cli(['registrations', '--hub', 'sandbox', '--tag-expression', 'imported'], env);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /^2 registrations match\.\n\S+  FcmV1  cli-1  imported\n/);
      const paged = await cli(['registrations', '--hub', 'sandbox', '--json', '--top', '1', '--all'], env);
      assert.deepEqual(paged.stdout.trim().split('\n').map((l) => JSON.parse(l).kind), ['FcmV1', 'FcmV1'], 'every page with --all');
      const badExpression = await cli(['registrations', '--hub', 'sandbox', '--tag-expression', 'a && ('], env);
      assert.equal(badExpression.status, 1);
      assert.match(badExpression.stderr, /^herald: Tag expression error at position \d+/);
      assert.equal((await cli(['installations', '--hub', 'sandbox'], env)).stdout, '0 installations match.\n');
      const missing = await cli(['import', join(dir, 'nope.txt'), '--hub', 'sandbox'], env);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /^herald: cannot read .*nope\.txt: no such file\n$/);
    } finally {
      await h.close();
    }
  });
});
