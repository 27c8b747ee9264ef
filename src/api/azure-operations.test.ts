import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests, header } from '../../test/fixtures/captured.ts';
import { classifyOperation } from './azure-operations.ts';

function classify(method: string, url: string, ifMatch = false) {
  const u = new URL(url, 'https://localhost');
  const segments = u.pathname.split('/').slice(2).map(decodeURIComponent);
  if (segments.at(-1) === '') segments.pop();
  return classifyOperation(method, segments, u.searchParams, { ifMatch });
}

test('every request the JS SDK sent in the capture is the operation its telemetry header names', () => {
  for (const req of capturedRequests()) {
    const telemetry = /method=(\w+)/.exec(header(req, 'x-ms-azsdk-telemetry') ?? '')?.[1];
    const c = classify(req.method, req.url, header(req, 'if-match') !== undefined);
    assert.equal(c.kind, 'operation', `${req.method} ${req.url}`);
    if (c.kind !== 'operation') continue;
    // The SDK reports by-channel listing as listRegistrations and a batch send as sendNotification.
    const reported = { listRegistrationsByChannel: 'listRegistrations', sendBatchNotification: 'sendNotification' }[c.operation.name as string] ?? c.operation.name;
    assert.equal(reported, telemetry, `${req.method} ${req.url}`);
  }
});

test('ids are decoded, resource names match in any case, the trailing slash is optional', () => {
  const c = classify('GET', '/myhub/tags/$InstallationId:%7Binst%201%7D%23x/registrations');
  assert.deepEqual(c, { kind: 'operation', operation: { name: 'listRegistrationsByTag', right: 'Manage', id: '$InstallationId:{inst 1}#x' } });
  assert.equal((classify('POST', '/myhub/registrationids') as { operation: { name: string } }).operation.name, 'createRegistrationId');
  assert.equal((classify('POST', '/myhub/messages') as { operation: { name: string } }).operation.name, 'sendNotification');
  assert.equal((classify('POST', '/myhub/Messages/') as { operation: { name: string } }).operation.name, 'sendNotification');
});

test('rights follow wire spec §2.4', () => {
  const right = (m: string, u: string) => (classify(m, u) as { operation: { right: string } }).operation.right;
  assert.equal(right('PUT', '/h/installations/i'), 'Listen');
  assert.equal(right('GET', '/h/registrations?%24filter=DeviceToken+eq+%27AB%27'), 'Listen');
  assert.equal(right('GET', '/h/registrations'), 'Manage');
  assert.equal(right('POST', '/h/messages/?direct=true'), 'Send');
  assert.equal(right('POST', '/h/jobs'), 'Manage');
});

test('unknown paths and wrong methods are told apart', () => {
  assert.deepEqual(classify('GET', '/h/nothing-here'), { kind: 'not_found' });
  assert.deepEqual(classify('GET', '/h/installations'), { kind: 'not_found' });
  assert.deepEqual(classify('POST', '/h/installations/x'), { kind: 'method_not_allowed', allowed: ['PUT', 'PATCH', 'GET', 'DELETE'] });
});
