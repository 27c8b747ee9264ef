/**
 * What the Azure surface must tolerate because clients in the wild send it (issue #10, wire tolerance):
 * empty or missing Content-Type, tokens signed over other spellings of the path, legacy APNs headers,
 * raw WNS templates. Raw HTTP, so each request carries exactly the bytes a legacy client sends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createHmac } from 'node:crypto';
import { createSasToken } from '../src/auth/sas.ts';
import { emulatorCall, startTestHerald, type TestHerald } from './helpers.ts';

const NS = 'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"';

function entry(kind: string, inner: string): string {
  return `<?xml version="1.0" encoding="utf-8" standalone="yes"?><entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><${kind} ${NS}>${inner}</${kind}></content></entry>`;
}

interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

describe('wire tolerance of the Azure surface', () => {
  let h: TestHerald;
  let key: { name: string; primaryKey: string };
  let auth: string;
  before(async () => {
    h = await startTestHerald();
    key = await h.hubs.getRule('sandbox', 'DefaultFullSharedAccessSignature');
    auth = createSasToken('https://localhost/', key.name, key.primaryKey, Math.floor(Date.now() / 1000) + 3600);
  });
  after(() => h.close());

  /** One request with exactly these headers (null: the header is not sent at all). */
  function call(method: string, path: string, body: string | undefined, headers: Record<string, string | null>): Promise<Answer> {
    const url = new URL(h.httpUrl!);
    const sent: Record<string, string> = { authorization: auth };
    for (const [k, v] of Object.entries(headers)) {
      if (v === null) delete sent[k];
      else sent[k] = v;
    }
    if (body !== undefined) sent['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: sent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const registrations = async (query = '') => (await h.admin('GET', `/hubs/sandbox/registrations${query}`)).body.items as Array<Record<string, any>>;
  const token = () => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');

  test('an empty or missing Content-Type on POST, PUT, PATCH and DELETE is taken as the route\'s own type (#10 item 1)', async () => {
    const t1 = token();
    for (const contentType of ['', '  ', null]) {
      const created = await call('POST', '/sandbox/registrations?api-version=2015-01', entry('AppleRegistrationDescription', `<Tags>ct</Tags><DeviceToken>${t1}</DeviceToken>`), { 'content-type': contentType });
      assert.equal(created.status, 200, `POST with Content-Type ${JSON.stringify(contentType)}: ${created.text}`);
      const id = /<RegistrationId>([^<]+)</.exec(created.text)![1]!;
      const put = await call('PUT', `/sandbox/registrations/${id}?api-version=2015-01`, entry('AppleRegistrationDescription', `<Tags>ct2</Tags><DeviceToken>${t1}</DeviceToken>`), { 'content-type': contentType, 'if-match': '*' });
      assert.equal(put.status, 200, put.text);
      const del = await call('DELETE', `/sandbox/registrations/${id}?api-version=2015-01`, contentType === null ? undefined : '', { 'content-type': contentType, 'if-match': '*' });
      assert.equal(del.status, 200, del.text);
    }
    assert.equal((await registrations('?tag=ct2')).length, 0, 'every registration was updated, then deleted');

    const inst = JSON.stringify({ installationId: 'ct-inst', platform: 'apns', pushChannel: t1, tags: ['ct'] });
    assert.equal((await call('PUT', '/sandbox/installations/ct-inst?api-version=2015-01', inst, { 'content-type': '' })).status, 200);
    const patch = JSON.stringify([{ op: 'add', path: '/tags', value: 'ct-patched' }]);
    assert.equal((await call('PATCH', '/sandbox/installations/ct-inst?api-version=2015-01', patch, { 'content-type': '' })).status, 200);
    assert.deepEqual(JSON.parse((await call('GET', '/sandbox/installations/ct-inst?api-version=2015-01', undefined, {})).text).tags, ['ct', 'ct-patched']);
    assert.equal((await call('DELETE', '/sandbox/installations/ct-inst?api-version=2015-01', '', { 'content-type': '' })).status, 204);
    assert.equal((await call('POST', '/sandbox/registrationids?api-version=2015-01', '', { 'content-type': '' })).status, 201);

    // The management API takes JSON when no type is given.
    const admin = new URL(h.adminUrl);
    const made = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ name: 'ct-hub' });
      const req = httpRequest({ host: admin.hostname, port: admin.port, method: 'POST', path: '/_admin/v1/hubs',
        headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': '', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(made, 201);
  });

  test('legacy APNs send headers reach APNs as apns-priority and apns-expiration (#10 item 4)', async () => {
    const device = await emulatorCall(h, 'apns', '/_emulator/devices', 'POST', { topic: 'com.example.app' });
    const created = await call('POST', '/sandbox/registrations', entry('AppleRegistrationDescription', `<Tags>legacy</Tags><DeviceToken>${device.handle}</DeviceToken>`), { 'content-type': 'application/atom+xml;type=entry;charset=utf-8' });
    assert.equal(created.status, 200, created.text);
    const sent = await call('POST', '/sandbox/messages?api-version=2015-01', JSON.stringify({ aps: { alert: 'legacy' } }), {
      'content-type': 'application/json;charset="utf-8"',
      'servicebusnotification-format': 'apple',
      'servicebusnotification-tags': 'legacy',
      'x-apns-priority': '5',
      'servicebusnotification-apns-expiry': '2030-01-31T13:05:09.000Z',
    });
    assert.equal(sent.status, 201, sent.text);
    await h.worker.idle();
    const got = (await emulatorCall(h, 'apns', `/_emulator/deliveries?handle=${device.handle}`)).deliveries as Array<{ headers: Record<string, string> }>;
    assert.equal(got.length, 1);
    assert.equal(got[0]!.headers['apns-priority'], '5');
    assert.equal(got[0]!.headers['apns-expiration'], String(Date.UTC(2030, 0, 31, 13, 5, 9) / 1000));
    assert.equal(got[0]!.headers['x-apns-priority'], undefined);

    const bad = await call('POST', '/sandbox/messages', JSON.stringify({ aps: { alert: 'x' } }), {
      'content-type': 'application/json', 'servicebusnotification-format': 'apple', 'servicebusnotification-apns-expiry': 'next tuesday',
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /ServiceBusNotification-Apns-Expiry/);
  });

  test('a WNS raw template whose body is JSON is stored and rendered as text with expressions inside (#10 item 5)', async () => {
    const device = await emulatorCall(h, 'wns', '/_emulator/devices', 'POST', {});
    const channel = device.channelUri as string;
    const created = await call('POST', '/sandbox/registrations', entry('WindowsTemplateRegistrationDescription',
      `<Tags>raw</Tags><ChannelUri>${channel.replaceAll('&', '&amp;')}</ChannelUri><BodyTemplate><![CDATA[{"m":"$(message)","n":#(count)}]]></BodyTemplate>`
      + '<WnsHeaders><WnsHeader><Header>X-WNS-Type</Header><Value>wns/raw</Value></WnsHeader></WnsHeaders>'), { 'content-type': 'application/atom+xml;type=entry;charset=utf-8' });
    assert.equal(created.status, 200, created.text);
    const sent = await call('POST', '/sandbox/messages', JSON.stringify({ message: 'yo', count: '3' }), {
      'content-type': 'application/json', 'servicebusnotification-format': 'template', 'servicebusnotification-tags': 'raw',
    });
    assert.equal(sent.status, 201, sent.text);
    await h.worker.idle();
    const got = (await emulatorCall(h, 'wns', `/_emulator/deliveries?handle=${encodeURIComponent(device.handle)}`)).deliveries as Array<{ payload: string; headers: Record<string, string> }>;
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload, '{"m":"yo","n":3}');
  });

  test('by-tag listing folds the system-tag prefix; a token signed over the unencoded path covers it (#10 items 3, 6)', async () => {
    const t = token();
    const inst = JSON.stringify({ installationId: 'Fold-1', platform: 'apns', pushChannel: t });
    assert.equal((await call('PUT', '/sandbox/installations/Fold-1', inst, { 'content-type': 'application/json' })).status, 200);
    for (const spelled of ['$InstallationId:%7BFold-1%7D', '$installationid:%7BFold-1%7D', '$INSTALLATIONID:%7bFold-1%7d']) {
      const listed = await call('GET', `/sandbox/tags/${spelled}/registrations?api-version=2015-01`, undefined, {});
      assert.equal(listed.status, 200, listed.text);
      assert.equal((listed.text.match(/<entry /g) ?? []).length, 1, spelled);
      assert.ok(listed.text.includes(t.toUpperCase()), spelled);
    }
    assert.equal(((await call('GET', '/sandbox/tags/$InstallationId:%7Bfold-1%7D/registrations', undefined, {})).text.match(/<entry /g) ?? []).length, 0,
      'the value inside the braces keeps its case');

    // azure-sb signs lower(encodeURIComponent(lower(URL))) over the unencoded path; the request line has %7B...%7D.
    const uri = `https://127.0.0.1/sandbox/tags/$installationid:{Fold-1}/registrations?api-version=2013-04`;
    const sr = encodeURIComponent(uri.toLowerCase()).toLowerCase();
    const se = String(Math.floor(Date.now() / 1000) + 300);
    const sig = encodeURIComponent(createHmac('sha256', key.primaryKey).update(`${sr}\n${se}`).digest('base64'));
    const sb = `SharedAccessSignature sig=${sig}&se=${se}&skn=${key.name}&sr=${sr}`;
    const listed = await call('GET', '/sandbox/tags/$installationid:%7BFold-1%7D/registrations?api-version=2013-04', undefined, { authorization: sb });
    assert.equal(listed.status, 200, listed.text);
    assert.equal((listed.text.match(/<entry /g) ?? []).length, 1);
  });

  test('text XML cannot carry and expiry literals that name no date are refused with 400; nothing is stored (#10 items 7, 8)', async () => {
    const before = (await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total as number;
    const atom = { 'content-type': 'application/atom+xml;type=entry;charset=utf-8' };
    const t = token();
    const apple = (inner: string) => entry('AppleTemplateRegistrationDescription', `<DeviceToken>${t}</DeviceToken>${inner}`);
    const cases: Array<[string, Promise<Answer>, RegExp]> = [
      ['a control character in the body', call('POST', '/sandbox/registrations', apple('<BodyTemplate><![CDATA[{"aps":{"alert":"a\u0001b"}}]]></BodyTemplate>'), atom), /U\+0001/],
      ['a control character in a header value', call('POST', '/sandbox/registrations', apple('<BodyTemplate><![CDATA[{}]]></BodyTemplate><ApnsHeaders><ApnsHeader><Header>apns-collapse-id</Header><Value>x\u001fy</Value></ApnsHeader></ApnsHeaders>'), atom), /U\+001F/],
      ['an expiry that names no date', call('POST', '/sandbox/registrations', apple('<BodyTemplate><![CDATA[{}]]></BodyTemplate><Expiry>next tuesday</Expiry>'), atom), /Expiry 'next tuesday' is not a date/],
      ['a control character in an installation template', call('PUT', '/sandbox/installations/cc-inst',
        JSON.stringify({ installationId: 'cc-inst', platform: 'apns', pushChannel: t, templates: { a: { body: '{"aps":{"alert":"\u0002"}}' } } }), { 'content-type': 'application/json' }), /U\+0002/],
      ['an installation template expiry that names no date', call('PUT', '/sandbox/installations/cc-inst',
        JSON.stringify({ installationId: 'cc-inst', platform: 'apns', pushChannel: t, templates: { a: { body: '{}', expiry: 'next tuesday' } } }), { 'content-type': 'application/json' }), /not a date/],
      ['a control character in push variables', call('PUT', '/sandbox/installations/cc-inst',
        JSON.stringify({ installationId: 'cc-inst', platform: 'apns', pushChannel: t, pushVariables: { v: 'a\u0003' } }), { 'content-type': 'application/json' }), /U\+0003/],
    ];
    for (const [name, answer, detail] of cases) {
      const r = await answer;
      assert.equal(r.status, 400, `${name}: ${r.text}`);
      assert.match(r.text, /^<Error><Code>400<\/Code><Detail>/, name);
      assert.match(r.text, detail, name);
      assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(r.text), `${name}: the error body itself is well-formed XML`);
    }
    assert.equal((await h.admin('GET', '/hubs/sandbox/registrations?count=true&top=1')).body.total, before, 'nothing was stored');
    assert.equal((await call('GET', '/sandbox/installations/cc-inst', undefined, {})).status, 404);
  });
});
