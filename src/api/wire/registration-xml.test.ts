import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests } from '../../../test/fixtures/captured.ts';
import {
  KIND_PLATFORM,
  NEVER_EXPIRES,
  REGISTRATION_KINDS,
  isTemplateKind,
  type PlatformName,
  type PnsHandle,
  type Registration,
  type RegistrationInput,
  type RegistrationKind,
  type RegistrationTemplate,
} from '../../registry/model.ts';
// The official client's own response parser and request serializer; not exported by the package, so by path.
import {
  registrationDescriptionParser as sdkParser,
  registrationDescriptionSerializer as sdkSerializer,
} from '../../../node_modules/@azure/notification-hubs/dist/esm/serializers/registrationSerializer.js';
import {
  parseRegistrationDescription,
  parseRegistrationEntry,
  renderRegistrationDescription,
  renderRegistrationEntry,
  renderRegistrationFeed,
} from './registration-xml.ts';
import { rejects } from '../../../test/fixtures/hub-error.ts';

const AT = { origin: 'https://localhost:8443', hub: 'myhub' };
const TOKEN = '62BCD3484834B7E2DC56733AC5509259230CC1BA82BA1AE7D06E91908A05A8FA';
// A real Web Push subscription key pair (65-byte P-256 point, 16-byte secret), from the web-push docs.
const P256DH = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
const AUTH = 'tBHItJI5svbpez7KI4CCXg';
const WNS_BODY = '<toast><visual><binding template="ToastText01"><text id="1">$(message)</text></binding></visual></toast>';
const MPNS_BODY = '<wp:Notification xmlns:wp="WPNotification"><wp:Toast><wp:Text1>$(message)</wp:Text1></wp:Toast></wp:Notification>';
const JSON_BODY = '{"message":{"notification":{"title":"$(title)","body":"$(body)"}}}';

const HANDLES: Record<PlatformName, PnsHandle> = {
  apns: { platform: 'apns', value: TOKEN },
  wns: { platform: 'wns', value: 'https://db5.notify.windows.com/?token=AwYAAAB%2b&x=1' },
  mpns: { platform: 'mpns', value: 'https://s.notify.live.net/u/1/db3/H2QAAAD', secondaryTileName: 'tile1' },
  gcm: { platform: 'gcm', value: 'gcm-token-1' },
  fcmv1: { platform: 'fcmv1', value: 'fcm-token-123' },
  adm: { platform: 'adm', value: 'amzn1.adm-registration.v2.123' },
  xiaomi: { platform: 'xiaomi', value: 'xm-1' },
  browser: { platform: 'browser', value: 'https://fcm.googleapis.com/fcm/send/abc', p256dh: P256DH, auth: AUTH },
  baidu: { platform: 'baidu', value: 'channel-1', baiduUserId: 'user-1' },
};

function templateFor(platform: PlatformName): RegistrationTemplate {
  switch (platform) {
    case 'apns':
      return {
        body: '{"aps":{"alert":"$(message)","badge":"#(count)"}}',
        name: 'apnsT',
        headers: [{ name: 'apns-push-type', value: 'alert' }, { name: 'apns-priority', value: '10' }],
        expiry: '2030-01-01T00:00:00.000Z',
        priority: '10',
      };
    case 'wns':
      return { body: WNS_BODY, name: 'toastTemplate', headers: [{ name: 'X-WNS-Type', value: 'wns/toast' }] };
    case 'mpns':
      return { body: MPNS_BODY, name: 'mpnsT', headers: [{ name: 'X-WindowsPhone-Target', value: 'toast' }] };
    default:
      return { body: JSON_BODY, name: `${platform}T` };
  }
}

function sample(kind: RegistrationKind, overrides: Partial<Registration> = {}): Registration {
  const platform = KIND_PLATFORM[kind];
  const reg: Registration = {
    id: `8017651207128774516-${REGISTRATION_KINDS.indexOf(kind)}-1`,
    kind,
    handle: HANDLES[platform],
    tags: ['likes_hockey', '$InstallationId:{inst-1}'],
    pushVariables: { var1: 'value1' },
    etag: 3,
    createdAt: Date.UTC(2024, 0, 1),
    updatedAt: Date.UTC(2024, 0, 2, 3, 4, 5),
    ...(isTemplateKind(kind) ? { template: templateFor(platform) } : {}),
    ...overrides,
  };
  return reg;
}

function inputOf(reg: Registration): RegistrationInput {
  const input: RegistrationInput = { kind: reg.kind, handle: reg.handle, tags: reg.tags };
  if (reg.pushVariables) input.pushVariables = reg.pushVariables;
  if (reg.template) input.template = reg.template;
  return input;
}


/** An entry as the JS client sends it (§6.1), around a description body. */
function entry(root: string, inner: string): string {
  return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><entry xmlns="http://www.w3.org/2005/Atom"><updated>2024-01-01T00:00:00.000Z</updated>'
    + `<content type="application/xml"><${root} xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" `
    + `xmlns:i="http://www.w3.org/2001/XMLSchema-instance">${inner}</${root}></content></entry>`;
}

test('every registration body the official client sent (captured) parses to its kind, handle, tags and template (§6.4)', () => {
  const bodies = capturedRequests().filter((r) => /\/registrations(\/|\?)/.test(r.url) && (r.method === 'POST' || r.method === 'PUT'));
  const apple = (value: string, tags: string[]): RegistrationInput => ({ kind: 'Apple', handle: { platform: 'apns', value }, tags });
  const browserHandle: PnsHandle = { platform: 'browser', value: 'https://fcm.googleapis.com/fcm/send/abc', p256dh: P256DH, auth: AUTH };
  // The captured browser keys and the 6-digit token in the PUTs are placeholders that validation.ts refuses
  // (65-byte P-256 key; at least 8 hex digits); they are checked refused, then parsed with real-shaped values.
  const browserFix: [string, string][] = [['BP256DH', P256DH], ['AUTHSECRET', AUTH]];
  const expected: { input: RegistrationInput; refused?: string; fix?: [string, string][] }[] = [
    { input: apple('00FC13ADFF785122B4AD28809A3420982341241421348097878E577C991DE8F0', ['likes_hockey', 'likes_football']) },
    {
      input: {
        kind: 'AppleTemplate', handle: { platform: 'apns', value: '00FC13ADFF78' }, tags: ['a'], pushVariables: { v: '1' },
        template: {
          body: '{"aps":{"alert":"$(message)","badge":"#(count)"}}', name: 'tmpl',
          headers: [{ name: 'apns-push-type', value: 'alert' }, { name: 'apns-priority', value: '10' }],
          expiry: 'Tue Jan 01 2030 00:00:00 GMT+0000 (Coordinated Universal Time)',
        },
      },
    },
    { input: { kind: 'Windows', handle: { platform: 'wns', value: 'https://db5.notify.windows.com/?token=AwYAAAB%2b' }, tags: ['myTag', 'myOtherTag'] } },
    {
      input: {
        kind: 'WindowsTemplate', handle: { platform: 'wns', value: 'https://db5.notify.windows.com/?token=AwYAAAB' }, tags: ['myTag'],
        template: { body: WNS_BODY, name: 'toastTemplate', headers: [{ name: 'X-WNS-Type', value: 'wns/toast' }] },
      },
    },
    { input: { kind: 'FcmV1', handle: { platform: 'fcmv1', value: 'fcm-token-123' }, tags: ['a', 'b'] } },
    { input: { kind: 'FcmV1Template', handle: { platform: 'fcmv1', value: 'fcm-token-123' }, tags: [], template: { body: JSON_BODY, name: 'fcmT' } } },
    { input: { kind: 'Browser', handle: browserHandle, tags: ['web'] }, refused: 'P256DH', fix: browserFix },
    { input: { kind: 'BrowserTemplate', handle: browserHandle, tags: [], template: { body: '{"title":"$(title)"}' } }, refused: 'P256DH', fix: browserFix },
    { input: { kind: 'Adm', handle: { platform: 'adm', value: 'amzn1.adm-registration.v2.123' }, tags: [] } },
    { input: { kind: 'Baidu', handle: { platform: 'baidu', value: 'ch', baiduUserId: 'usr' }, tags: [] } },
    { input: { kind: 'Xiaomi', handle: { platform: 'xiaomi', value: 'xm' }, tags: [] } },
    { input: { kind: 'Gcm', handle: { platform: 'gcm', value: 'gcm' }, tags: [] } },
    { input: apple('00FC13AB', ['x']), refused: 'DeviceToken', fix: [['00fc13', '00fc13ab']] },
    { input: apple('00FC13AB', ['x']), refused: 'DeviceToken', fix: [['00fc13', '00fc13ab']] },
  ];
  assert.equal(bodies.length, expected.length);
  bodies.forEach((req, i) => {
    const want = expected[i]!;
    let body = req.body;
    if (want.refused !== undefined) {
      rejects(() => parseRegistrationEntry(body), 'invalid_request', 'invalid_handle', { field: want.refused });
      for (const [from, to] of want.fix ?? []) body = body.replace(from, to);
    }
    assert.deepEqual(parseRegistrationEntry(body), { input: want.input }, `${req.method} ${req.url} #${i}`);
    assert.deepEqual(parseRegistrationEntry(Buffer.from(body)), { input: want.input }, 'a Buffer reads the same');
  });
});

test('the bodies the official serializer writes for all 18 kinds parse back to what was given (§6.2)', () => {
  for (const kind of REGISTRATION_KINDS) {
    const reg = sample(kind);
    const sdk: Record<string, unknown> = { kind, registrationId: reg.id, tags: reg.tags, pushVariables: reg.pushVariables };
    const h = reg.handle;
    if (h.platform === 'apns') sdk['deviceToken'] = h.value.toLowerCase(); // the hub upper-cases it (§6.2)
    else if (h.platform === 'wns' || h.platform === 'mpns') sdk['channelUri'] = h.value;
    else if (h.platform === 'browser') Object.assign(sdk, { endpoint: h.value, p256dh: h.p256dh, auth: h.auth });
    else if (h.platform === 'baidu') Object.assign(sdk, { baiduChannelId: h.value, baiduUserId: h.baiduUserId });
    else sdk[`${h.platform === 'fcmv1' ? 'fcmV1' : h.platform}RegistrationId`] = h.value;
    const t = reg.template;
    if (t) {
      Object.assign(sdk, { bodyTemplate: t.body, templateName: t.name });
      const headers = Object.fromEntries((t.headers ?? []).map((x) => [x.name, x.value]));
      if (h.platform === 'apns') Object.assign(sdk, { apnsHeaders: headers, expiry: t.expiry });
      if (h.platform === 'wns') sdk['wnsHeaders'] = headers;
      if (h.platform === 'mpns') sdk['mpnsHeaders'] = headers;
    }
    const body = sdkSerializer.serializeRegistrationDescription(sdk as never);
    const want = inputOf(reg);
    // The JS client never writes Priority (§6.4) nor SecondaryTileName.
    if (want.template) {
      const { priority: _neverSent, ...sent } = want.template;
      want.template = sent;
    }
    if (h.platform === 'mpns') want.handle = { platform: 'mpns', value: h.value };
    assert.deepEqual(parseRegistrationEntry(body), { registrationId: reg.id, input: want }, kind);
  }
});

test('render then parse gives back the registration, for each of the 18 kinds', () => {
  for (const kind of REGISTRATION_KINDS) {
    const reg = sample(kind);
    if (kind === 'Gcm') { // and one with neither tags nor push variables
      reg.tags = [];
      delete reg.pushVariables;
    }
    const want = { registrationId: reg.id, input: inputOf(reg) };
    assert.deepEqual(parseRegistrationEntry(renderRegistrationEntry(reg, AT)), want, kind);
    assert.deepEqual(parseRegistrationDescription(renderRegistrationDescription(reg)), want, `${kind} (bare, §11.1)`);
  }
});

test('the official client reads every rendered entry: kind, id, etag, expiry, tags, handle, template, headers', async () => {
  for (const kind of REGISTRATION_KINDS) {
    const reg = sample(kind);
    const got = (await sdkParser.parseRegistrationEntry(renderRegistrationEntry(reg, AT))) as unknown as Record<string, unknown>;
    assert.equal(got['kind'], kind);
    assert.equal(got['registrationId'], reg.id);
    assert.equal(got['etag'], '3');
    assert.ok(got['expirationTime'] instanceof Date && !Number.isNaN(+got['expirationTime']), `${kind} expirationTime`);
    assert.equal((got['expirationTime'] as Date).toISOString(), NEVER_EXPIRES);
    assert.deepEqual(got['tags'], reg.tags);
    assert.deepEqual(got['pushVariables'], reg.pushVariables);
    const h = reg.handle;
    if (h.platform === 'apns') assert.equal(got['deviceToken'], h.value);
    else if (h.platform === 'wns' || h.platform === 'mpns') assert.equal(got['channelUri'], h.value);
    else if (h.platform === 'browser') assert.deepEqual([got['endpoint'], got['p256dh'], got['auth']], [h.value, h.p256dh, h.auth]);
    else if (h.platform === 'baidu') assert.deepEqual([got['baiduChannelId'], got['baiduUserId']], [h.value, h.baiduUserId]);
    else assert.equal(got[`${h.platform === 'fcmv1' ? 'fcmV1' : h.platform}RegistrationId`], h.value);
    const t = reg.template;
    if (t) {
      assert.equal(got['bodyTemplate'], t.body);
      assert.equal(got['templateName'], t.name);
      const headers = Object.fromEntries((t.headers ?? []).map((x) => [x.name, x.value]));
      const key = { apns: 'apnsHeaders', wns: 'wnsHeaders', mpns: 'mpnsHeaders' }[h.platform as string];
      if (key) assert.deepEqual(got[key], headers, `${kind} headers`);
      if (h.platform === 'apns') assert.equal(got['priority'], '10');
    }
  }
});

test('the official client reads a feed of mixed kinds, and an empty feed (§6.10)', async () => {
  const regs = REGISTRATION_KINDS.map((k) => sample(k));
  const self = `${AT.origin}/myhub/registrations?api-version=2020-06&$top=100`;
  const feed = renderRegistrationFeed(regs, AT, self);
  assert.match(feed, /^<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"><title type="text">Registrations<\/title>/);
  assert.ok(feed.includes('<id>https://localhost:8443/myhub/registrations?api-version=2020-06&amp;$top=100</id>'));
  const got = (await sdkParser.parseRegistrationFeed(feed)) as unknown as Record<string, unknown>[];
  assert.deepEqual(got.map((r) => [r['kind'], r['registrationId']]), regs.map((r) => [r.kind, r.id]));
  assert.deepEqual(await sdkParser.parseRegistrationFeed(renderRegistrationFeed([], { ...AT, now: 0 }, self)), []);
});

test('the entry has the shape of §6.5: Atom default namespace, a:etag, links with the api-version', () => {
  const reg = sample('Apple', { tags: ['tag1'], expiresAt: Date.UTC(2030, 0, 1) });
  const href = `https://localhost:8443/myhub/registrations/${reg.id}?api-version=2020-06`;
  assert.equal(renderRegistrationEntry(reg, { origin: 'https://localhost:8443/', hub: 'myhub' }),
    '<entry a:etag="W/&quot;3&quot;" xmlns="http://www.w3.org/2005/Atom" xmlns:a="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
    + `<id>${href}</id><title type="text">${reg.id}</title>`
    + '<published>2024-01-01T00:00:00.000Z</published><updated>2024-01-02T03:04:05.000Z</updated>'
    + `<link rel="self" href="${href}"/><content type="application/xml">`
    + '<AppleRegistrationDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
    + `<ETag>3</ETag><ExpirationTime>2030-01-01T00:00:00.000Z</ExpirationTime><RegistrationId>${reg.id}</RegistrationId>`
    + `<Tags>tag1</Tags><PushVariables>{&quot;var1&quot;:&quot;value1&quot;}</PushVariables><DeviceToken>${TOKEN}</DeviceToken>`
    + '</AppleRegistrationDescription></content></entry>');
});

test('descriptions follow the canonical element order of §6.3 and carry no empty elements', () => {
  const order = (xml: string) => [...xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').matchAll(/<([A-Za-z0-9]+)[ >]/g)].map((m) => m[1]).slice(1);
  const bare: Partial<Registration> = { tags: [], pushVariables: undefined };
  assert.deepEqual(order(renderRegistrationDescription(sample('AppleTemplate'))),
    ['ETag', 'ExpirationTime', 'RegistrationId', 'Tags', 'PushVariables', 'DeviceToken', 'BodyTemplate', 'Expiry', 'TemplateName', 'Priority',
      'ApnsHeaders', 'ApnsHeader', 'Header', 'Value', 'ApnsHeader', 'Header', 'Value']);
  assert.deepEqual(order(renderRegistrationDescription(sample('WindowsTemplate', bare))),
    ['ETag', 'ExpirationTime', 'RegistrationId', 'ChannelUri', 'BodyTemplate', 'WnsHeaders', 'WnsHeader', 'Header', 'Value', 'TemplateName']);
  assert.deepEqual(order(renderRegistrationDescription(sample('MpnsTemplate', bare))),
    ['ETag', 'ExpirationTime', 'RegistrationId', 'ChannelUri', 'SecondaryTileName', 'BodyTemplate', 'MpnsHeaders', 'MpnsHeader', 'Header', 'Value', 'TemplateName']);
  assert.deepEqual(order(renderRegistrationDescription(sample('Baidu', bare))), ['ETag', 'ExpirationTime', 'RegistrationId', 'BaiduUserId', 'BaiduChannelId']);
  assert.deepEqual(order(renderRegistrationDescription(sample('BrowserTemplate', bare))),
    ['ETag', 'ExpirationTime', 'RegistrationId', 'Endpoint', 'P256DH', 'Auth', 'BodyTemplate', 'TemplateName']);
  const xml = renderRegistrationDescription(sample('GcmTemplate', { ...bare, template: { body: JSON_BODY } }));
  assert.doesNotMatch(xml, /<(\w+)\/>|<(\w+)><\/\2>|<Tags|<PushVariables|<TemplateName/);
  assert.match(xml, new RegExp(`<ExpirationTime>${NEVER_EXPIRES}</ExpirationTime>`));
});

test('a body template containing "]]>" survives the CDATA section, for the hub and for the client', async () => {
  // ']]>' cannot appear in XML text, so a JSON body (FCM v1) carries it.
  const body = '{"message":{"data":{"a":"x]]>y","b":"$(b)"}}}';
  const reg = sample('FcmV1Template', { template: { body, name: 'cdata' } });
  const xml = renderRegistrationEntry(reg, AT);
  assert.ok(xml.includes('<BodyTemplate><![CDATA[{"message":{"data":{"a":"x]]]]><![CDATA[>y","b":"$(b)"}}}]]></BodyTemplate>'));
  assert.equal(parseRegistrationEntry(xml).input.template?.body, body);
  assert.equal(((await sdkParser.parseRegistrationEntry(xml)) as unknown as Record<string, unknown>)['bodyTemplate'], body);
});

test('requests are read leniently: prefixes, namespaces, order, whitespace, i:nil, empty tags, .NET Fcm root (§6.1)', () => {
  const pretty = `<?xml version="1.0" encoding="utf-8"?>
<atom:entry xmlns:atom="http://www.w3.org/2005/Atom">
  <atom:title>ignored</atom:title>
  <atom:content type="application/xml">
    <sb:AppleTemplateRegistrationDescription xmlns:sb="https://schemas.microsoft.com/netservices/2010/10/servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
      <sb:TemplateName>t</sb:TemplateName>
      <sb:ETag>7</sb:ETag>
      <sb:ExpirationTime>9999-12-31T23:59:59.9999999Z</sb:ExpirationTime>
      <sb:Expiry i:nil="true"/>
      <sb:Tags>a,,b, c,</sb:Tags>
      <sb:BodyTemplate>
        <![CDATA[{"aps":{"alert":"$(m)"}}]]>
      </sb:BodyTemplate>
      <sb:PushVariables>{}</sb:PushVariables>
      <sb:DeviceToken> ${TOKEN.toLowerCase()} </sb:DeviceToken>
      <sb:RegistrationId>123-234-1</sb:RegistrationId>
    </sb:AppleTemplateRegistrationDescription>
  </atom:content>
</atom:entry>`;
  assert.deepEqual(parseRegistrationEntry(pretty), {
    registrationId: '123-234-1',
    input: { kind: 'AppleTemplate', handle: { platform: 'apns', value: TOKEN }, tags: ['a', 'b', 'c'], template: { body: '{"aps":{"alert":"$(m)"}}', name: 't' } },
  });
  assert.deepEqual(parseRegistrationEntry(entry('FcmRegistrationDescription', '<GcmRegistrationId>g1</GcmRegistrationId><Tags i:nil="true"/>')).input,
    { kind: 'Gcm', handle: { platform: 'gcm', value: 'g1' }, tags: [] });
  assert.equal(parseRegistrationEntry(entry('WindowsRegistrationDescription', '<ChannelUri>https://x.notify.windows.com/?a=1&amp;b=&#x32;</ChannelUri>')).input.handle.value,
    'https://x.notify.windows.com/?a=1&b=2');
});

test('bad input is refused with its code and reason', () => {
  const apple = (inner: string) => entry('AppleRegistrationDescription', inner);
  const withToken = (inner: string) => apple(`<DeviceToken>${TOKEN}</DeviceToken>${inner}`);
  rejects(() => parseRegistrationEntry(apple('<DeviceToken>ab</DeviceToken')), 'malformed_body', undefined);
  rejects(() => parseRegistrationEntry('not xml at all'), 'malformed_body', undefined);
  const laughs = '<?xml version="1.0"?><!DOCTYPE entry [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]>'
    + apple('<DeviceToken>&b;</DeviceToken>').replace(/^<\?xml[^>]*\?>/, '');
  const err = rejects(() => parseRegistrationEntry(laughs), 'invalid_request', 'xml_doctype_refused');
  assert.doesNotMatch(err.message, /lol/);
  rejects(() => parseRegistrationEntry(`<!ENTITY x SYSTEM "file:///etc/passwd">${apple('<DeviceToken>&x;</DeviceToken>')}`), 'invalid_request', 'xml_doctype_refused');
  rejects(() => parseRegistrationEntry(entry('FooRegistrationDescription', '<X>1</X>')), 'invalid_request', 'unknown_registration_kind', { element: 'FooRegistrationDescription' });
  rejects(() => parseRegistrationEntry(entry('QueueDescription', '')), 'invalid_request', 'unknown_registration_kind', { element: 'QueueDescription' });
  rejects(() => parseRegistrationDescription('<Foo/>'), 'invalid_request', 'unknown_registration_kind', { element: 'Foo' });
  rejects(() => parseRegistrationEntry('<feed xmlns="http://www.w3.org/2005/Atom"/>'), 'invalid_request', 'not_an_atom_entry');
  rejects(() => parseRegistrationEntry('<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"/></entry>'), 'invalid_request', 'missing_registration_description');
  const tags = Array.from({ length: 61 }, (_, i) => `t${i}`).join(',');
  rejects(() => parseRegistrationEntry(withToken(`<Tags>${tags}</Tags>`)), 'invalid_request', 'too_many_tags', { limit: 60, index: 60 });
  rejects(() => parseRegistrationEntry(withToken('<Tags>ok,bad!tag</Tags>')), 'invalid_request', 'tag_invalid_char', { index: 1, position: 3 });
  rejects(() => parseRegistrationEntry(entry('AppleTemplateRegistrationDescription',
    `<DeviceToken>${TOKEN}</DeviceToken><BodyTemplate><![CDATA[{"aps":{"alert":"$(message"}}]]></BodyTemplate>`)), 'invalid_request', 'template_expression_syntax');
  rejects(() => parseRegistrationEntry(apple('<DeviceToken>not-hex-token</DeviceToken>')), 'invalid_request', 'invalid_handle', { field: 'DeviceToken' });
  rejects(() => parseRegistrationEntry(apple('')), 'invalid_request', 'missing_field', { field: 'DeviceToken' });
  rejects(() => parseRegistrationEntry(entry('WindowsTemplateRegistrationDescription',
    `<ChannelUri>https://db5.notify.windows.com/?token=A</ChannelUri><BodyTemplate><![CDATA[${WNS_BODY}]]></BodyTemplate>`)), 'invalid_request', 'missing_header', { header: 'X-WNS-Type' });
  rejects(() => parseRegistrationEntry(entry('WindowsTemplateRegistrationDescription',
    `<ChannelUri>https://db5.notify.windows.com/?token=A</ChannelUri><BodyTemplate><![CDATA[${WNS_BODY}]]></BodyTemplate><WnsHeaders><WnsHeader><Value>wns/toast</Value></WnsHeader></WnsHeaders>`)),
  'invalid_request', 'invalid_header', { index: 0 });
  rejects(() => parseRegistrationEntry(entry('FcmV1TemplateRegistrationDescription', '<FcmV1RegistrationId>f</FcmV1RegistrationId>')), 'invalid_request', 'missing_field', { field: 'BodyTemplate' });
  rejects(() => parseRegistrationEntry(withToken('<PushVariables>{not json</PushVariables>')), 'invalid_request', 'invalid_field', { field: 'PushVariables' });
  rejects(() => parseRegistrationEntry(withToken('<PushVariables>{"a b":"1"}</PushVariables>')), 'invalid_request', 'invalid_field', { field: 'PushVariables' });
  rejects(() => parseRegistrationEntry(withToken('<RegistrationId>a/b</RegistrationId>')), 'invalid_request', 'invalid_id', { field: 'RegistrationId' });
});

/** `<XxxRegistrationDescription …>` → `<RegistrationDescription i:type="XxxRegistrationDescription" …>` (.NET DataContract, azure-sb). */
function polymorphic(xml: string, kind: string, typeValue = `${kind}RegistrationDescription`): string {
  const root = `${kind}RegistrationDescription`;
  return xml
    .replace(`<${root} `, `<RegistrationDescription i:type="${typeValue}" `)
    .replace(`</${root}>`, '</RegistrationDescription>');
}

test('the polymorphic form <RegistrationDescription i:type="…"> reads as its kind, for each of the 18 kinds (#10 item 2)', () => {
  for (const kind of REGISTRATION_KINDS) {
    const reg = sample(kind);
    const want = { registrationId: reg.id, input: inputOf(reg) };
    const entryXml = polymorphic(renderRegistrationEntry(reg, AT), kind);
    assert.match(entryXml, /<RegistrationDescription i:type=/);
    assert.deepEqual(parseRegistrationEntry(entryXml), want, kind);
    assert.deepEqual(parseRegistrationDescription(polymorphic(renderRegistrationDescription(reg), kind)), want, `${kind} (bare, §11.1)`);
  }
  // azure-sb writes the attributes in this order; a prefixed type name and .NET's Fcm alias read too.
  const sb = '<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><RegistrationDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
    + 'i:type="WindowsRegistrationDescription" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><Tags>a,b</Tags>'
    + '<ChannelUri>https://db5.notify.windows.com/?token=x</ChannelUri></RegistrationDescription></content></entry>';
  assert.deepEqual(parseRegistrationEntry(sb).input, { kind: 'Windows', handle: { platform: 'wns', value: 'https://db5.notify.windows.com/?token=x' }, tags: ['a', 'b'] });
  assert.equal(parseRegistrationEntry(sb.replace('i:type="Windows', 'i:type="d2p1:Windows')).input.kind, 'Windows');
  const fcm = entry('RegistrationDescription', '<GcmRegistrationId>g1</GcmRegistrationId>').replace('<RegistrationDescription ', '<RegistrationDescription i:type="FcmRegistrationDescription" ');
  assert.equal(parseRegistrationEntry(fcm).input.kind, 'Gcm');
});

test('an i:type that names no kind, or contradicts the element name, is refused', () => {
  const body = entry('RegistrationDescription', '<DeviceToken>ABCD0123</DeviceToken>');
  rejects(() => parseRegistrationEntry(body), 'invalid_request', 'unknown_registration_kind');
  rejects(() => parseRegistrationEntry(body.replace('<RegistrationDescription ', '<RegistrationDescription i:type="FooRegistrationDescription" ')),
    'invalid_request', 'unknown_registration_kind', { type: 'FooRegistrationDescription' });
  const apple = entry('AppleRegistrationDescription', '<DeviceToken>ABCD0123</DeviceToken>');
  rejects(() => parseRegistrationEntry(apple.replace('<AppleRegistrationDescription ', '<AppleRegistrationDescription i:type="GcmRegistrationDescription" ')),
    'invalid_request', 'conflicting_registration_kind');
  assert.equal(parseRegistrationEntry(apple.replace('<AppleRegistrationDescription ', '<AppleRegistrationDescription i:type="AppleRegistrationDescription" ')).input.kind, 'Apple');
});
