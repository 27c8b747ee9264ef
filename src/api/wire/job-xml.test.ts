import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests } from '../../../test/fixtures/captured.ts';
// The official client's own job parsers; not exported by the package, so imported by path.
import {
  parseNotificationHubJobEntry,
  parseNotificationHubJobFeed,
  serializeNotificationHubJobEntry,
} from '../../../node_modules/@azure/notification-hubs/dist/esm/serializers/notificationHubJobSerializer.js';
import { JOB_TYPES } from '../../registry/jobs.ts';
import { parseJobEntry, renderJobEntry, renderJobFeed, type JobView } from './job-xml.ts';
import { rejects } from '../../../test/fixtures/hub-error.ts';

const AT = { origin: 'https://localhost:8443', hub: 'myhub' };
const JOB_ID = '2518085877924241193a972e50a-f767-43f5-9389-22c9956daafa';


function job(overrides: Partial<JobView> = {}): JobView {
  return {
    id: JOB_ID,
    type: 'ImportCreateRegistrations',
    status: 'Completed',
    progress: 100,
    outputContainerUri: 'https://x.blob.core.windows.net/c?sv=1&sig=a',
    importFileUri: 'https://x.blob.core.windows.net/c/in.txt?sig=b',
    outputProperties: { OutputFilePath: 'c/myhub/j/Output.txt', FailedFilePath: 'c/myhub/j/Failed.txt' },
    createdAt: Date.UTC(2020, 6, 2, 18, 3, 28),
    updatedAt: Date.UTC(2020, 6, 2, 18, 4, 0),
    ...overrides,
  };
}

function submit(inner: string): string {
  return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">'
    + `<NotificationHubJob xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">${inner}</NotificationHubJob></content></entry>`;
}

test('the job submissions the official client sent (captured) parse (§11.1)', () => {
  const bodies = capturedRequests().filter((r) => r.method === 'POST' && /\/jobs\?/.test(r.url)).map((r) => r.body);
  assert.deepEqual(bodies.map((b) => parseJobEntry(b)), [
    { type: 'ImportCreateRegistrations', outputContainerUri: 'https://x.blob.core.windows.net/c?sig=a&sp=rwl', importFileUri: 'https://x.blob.core.windows.net/c/in.txt?sig=b' },
    { type: 'ExportRegistrations', outputContainerUri: 'https://x/c' },
  ]);
});

test('what the official serializer writes for each job type parses', () => {
  for (const type of JOB_TYPES) {
    const importFileUrl = type === 'ExportRegistrations' ? undefined : 'https://x/c/in.txt?a=1&b=2';
    const body = serializeNotificationHubJobEntry({ type, outputContainerUrl: 'https://x/c?a=1&b=]]>', importFileUrl });
    const want = { type, outputContainerUri: 'https://x/c?a=1&b=]]>', ...(importFileUrl ? { importFileUri: importFileUrl } : {}) };
    assert.deepEqual(parseJobEntry(body), want, type);
  }
});

test('bad submissions are refused with their reason', () => {
  rejects(() => parseJobEntry(submit('<OutputContainerUri>https://x/c</OutputContainerUri>')), 'invalid_request', 'missing_field', { field: 'Type' });
  rejects(() => parseJobEntry(submit('<Type>ExportEverything</Type><OutputContainerUri>https://x/c</OutputContainerUri>')),
    'invalid_request', 'unknown_job_type', { field: 'Type', type: 'ExportEverything' });
  rejects(() => parseJobEntry(submit('<Type>ExportRegistrations</Type>')), 'invalid_request', 'missing_field', { field: 'OutputContainerUri' });
  rejects(() => parseJobEntry(submit('<Type>ExportRegistrations</Type><OutputContainerUri>not a uri</OutputContainerUri>')),
    'invalid_request', 'invalid_field', { field: 'OutputContainerUri' });
  rejects(() => parseJobEntry(submit('<Type>ImportUpsertRegistrations</Type><OutputContainerUri>https://x/c</OutputContainerUri>')),
    'invalid_request', 'missing_field', { field: 'ImportFileUri' });
  rejects(() => parseJobEntry('<entry xmlns="http://www.w3.org/2005/Atom"><content><QueueDescription/></content></entry>'),
    'invalid_request', 'not_a_job', { element: 'QueueDescription' });
  rejects(() => parseJobEntry('<entry xmlns="http://www.w3.org/2005/Atom"/>'), 'invalid_request', 'not_a_job');
  rejects(() => parseJobEntry('<NotificationHubJob/>'), 'invalid_request', 'not_an_atom_entry');
  rejects(() => parseJobEntry(submit('<Type>ExportRegistrations</Type')), 'malformed_body', undefined);
  rejects(() => parseJobEntry(`<!DOCTYPE e [<!ENTITY x "y">]>${submit('<Type>&x;</Type>')}`), 'invalid_request', 'xml_doctype_refused');
});

test('submissions are read leniently: type case, an export ImportFileUri ignored, i:nil read-only fields', () => {
  assert.deepEqual(parseJobEntry(submit('<JobId i:nil="true" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/><type>x</type>'
    + '<Type> exportregistrations </Type><ImportFileUri>https://x/in</ImportFileUri><OutputContainerUri> https://x/c </OutputContainerUri>')),
  { type: 'ExportRegistrations', outputContainerUri: 'https://x/c' });
});

test('the rendered entry has the element order of §11.1 and the literal d3p1 prefix', () => {
  const xml = renderJobEntry(job({ inputProperties: { a: '1' }, failure: 'x & y' }), AT);
  const names = [...xml.matchAll(/<([A-Za-z0-9:]+)[ >]/g)].map((m) => m[1]);
  const inJob = names.slice(names.indexOf('NotificationHubJob') + 1).filter((n) => !n!.startsWith('d3p1:'));
  assert.deepEqual(inJob, ['JobId', 'Progress', 'Type', 'Status', 'OutputContainerUri', 'ImportFileUri', 'InputProperties', 'Failure',
    'OutputProperties', 'CreatedAt', 'UpdatedAt']);
  assert.ok(xml.includes('<Progress>100.00</Progress>'));
  assert.ok(xml.includes('<OutputContainerUri>https://x.blob.core.windows.net/c?sv=1&amp;sig=a</OutputContainerUri>'));
  assert.ok(xml.includes('<OutputProperties xmlns:d3p1="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><d3p1:KeyValueOfstringstring>'
    + '<d3p1:Key>OutputFilePath</d3p1:Key><d3p1:Value>c/myhub/j/Output.txt</d3p1:Value></d3p1:KeyValueOfstringstring>'));
  assert.ok(xml.includes(`<id>https://localhost:8443/myhub/jobs/${JOB_ID}?api-version=2020-06</id>`));
  assert.ok(!xml.includes('a:etag'));
  const bare = renderJobEntry(job({ type: 'ExportRegistrations', importFileUri: undefined, outputProperties: {}, status: 'Running', progress: 12.5 }), AT);
  assert.doesNotMatch(bare, /ImportFileUri|InputProperties|OutputProperties|Failure|<(\w+)\/>|<(\w+)><\/\2>/);
  assert.ok(bare.includes('<Progress>12.50</Progress>'));
});

test('the official client reads the rendered entry: id, type, status, progress, URIs, failure, dates, properties', async () => {
  const got = await parseNotificationHubJobEntry(renderJobEntry(job({ inputProperties: { In: 'x' } }), AT));
  assert.deepEqual(got, {
    jobId: JOB_ID,
    type: 'ImportCreateRegistrations',
    status: 'Completed',
    progress: 100,
    outputContainerUrl: 'https://x.blob.core.windows.net/c?sv=1&sig=a',
    importFileUrl: 'https://x.blob.core.windows.net/c/in.txt?sig=b',
    failure: undefined,
    createdAt: new Date(Date.UTC(2020, 6, 2, 18, 3, 28)),
    updatedAt: new Date(Date.UTC(2020, 6, 2, 18, 4, 0)),
    inputProperties: { In: 'x' },
    outputProperties: { OutputFilePath: 'c/myhub/j/Output.txt', FailedFilePath: 'c/myhub/j/Failed.txt' },
  });
  const failed = await parseNotificationHubJobEntry(renderJobEntry(job({ status: 'Failed', failure: 'The file <in.txt> was not found & more', outputProperties: { One: '1' } }), AT));
  assert.equal(failed.status, 'Failed');
  assert.equal(failed.failure, 'The file <in.txt> was not found & more');
  assert.deepEqual(failed.outputProperties, { One: '1' }, 'a single key/value pair is read too');
});

test('the official client reads a feed of jobs, and an empty one (§11.2)', async () => {
  const jobs = [job(), job({ id: 'job-2', type: 'ExportRegistrations', importFileUri: undefined, status: 'Started', progress: 0, outputProperties: undefined })];
  const feed = renderJobFeed(jobs, AT);
  assert.match(feed, /^<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
  const got = await parseNotificationHubJobFeed(feed);
  assert.deepEqual(got.map((j) => [j.jobId, j.type, j.status, j.progress, j.importFileUrl, j.outputProperties]), [
    [JOB_ID, 'ImportCreateRegistrations', 'Completed', 100, 'https://x.blob.core.windows.net/c/in.txt?sig=b', jobs[0]!.outputProperties],
    ['job-2', 'ExportRegistrations', 'Started', 0, undefined, undefined],
  ]);
  assert.deepEqual(await parseNotificationHubJobFeed(renderJobFeed([], { ...AT, now: 0 })), []);
});
