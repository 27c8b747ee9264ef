import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rejects } from '../../test/fixtures/hub-error.ts';
import { validateHandle, validatePushVariables, validateTemplate } from './validation.ts';

const APNS_BODY = '{"aps":{"alert":"$(message)"}}';

test('a literal Expiry must be a date or 0; an expression is checked as one (#10 item 8, §13.1)', () => {
  for (const expiry of ['2030-01-01T00:00:00Z', 'Tue Jan 01 2030 00:00:00 GMT+0000 (Coordinated Universal Time)', '0', '1893456000', '$(expiry)', "{'2030-01-0' + $(day)}"]) {
    assert.equal(validateTemplate('apns', { body: APNS_BODY, expiry }).expiry, expiry);
  }
  for (const expiry of ['next tuesday', 'soon', '2030-02-30T00:00:00Z']) {
    rejects(() => validateTemplate('apns', { body: APNS_BODY, expiry }), 'invalid_request', 'invalid_field', { field: 'Expiry' });
  }
  rejects(() => validateTemplate('apns', { body: APNS_BODY, expiry: '$(broken' }), 'invalid_request', 'template_expression_syntax');
});

test('literal template header values must be what the PNS takes; expressions pass (§13.1)', () => {
  const ok = [
    { name: 'apns-priority', value: '5' },
    { name: 'apns-expiration', value: '0' },
    { name: 'apns-push-type', value: 'background' },
    { name: 'apns-collapse-id', value: '$(group)' },
  ];
  assert.deepEqual(validateTemplate('apns', { body: APNS_BODY, headers: ok }).headers, ok);
  for (const [name, value] of [['apns-priority', 'high'], ['apns-expiration', 'next tuesday'], ['apns-push-type', 'Alert!'], ['apns-id', 'not-a-uuid']]) {
    rejects(() => validateTemplate('apns', { body: APNS_BODY, headers: [{ name: name!, value: value! }] }), 'invalid_request', 'invalid_header', { header: name });
  }
  const toast = '<toast><visual><binding template="ToastText01"><text id="1">$(m)</text></binding></visual></toast>';
  rejects(() => validateTemplate('wns', { body: toast, headers: [{ name: 'X-WNS-Type', value: 'wns/toast' }, { name: 'X-WNS-TTL', value: 'a day' }] }),
    'invalid_request', 'invalid_header', { header: 'X-WNS-TTL' });
});

test('a WNS raw template body may be any text: JSON, XML, or words with expressions inside (#10 item 5)', () => {
  const raw = [{ name: 'X-WNS-Type', value: 'wns/raw' }];
  for (const body of ['{"m":"$(message)"}', 'just text', '<not-xml', "{'a' + $(b)}", '$(message)']) {
    assert.equal(validateTemplate('wns', { body, headers: raw }).body, body);
  }
  // A toast is still XML with expressions as whole values.
  rejects(() => validateTemplate('wns', { body: '{"m":"$(message)"}', headers: [{ name: 'X-WNS-Type', value: 'wns/toast' }] }), 'invalid_request', 'template_xml_syntax');
});

test('text XML cannot carry is refused in every template field, handle field and push variable (#10 item 7)', () => {
  const raw = [{ name: 'X-WNS-Type', value: 'wns/raw' }];
  for (const ch of ['\u0001', '\u0008', '\u000b', '\u001f', '\ufffe', '\ud800']) {
    const at = (field: string) => ({ field });
    rejects(() => validateTemplate('wns', { body: `a${ch}b`, headers: raw }), 'invalid_request', 'invalid_character', at('BodyTemplate'));
    rejects(() => validateTemplate('apns', { body: APNS_BODY, name: `n${ch}` }), 'invalid_request', 'invalid_character', at('TemplateName'));
    rejects(() => validateTemplate('apns', { body: APNS_BODY, expiry: `{'2030-01-01' + '${ch}'}` }), 'invalid_request', 'invalid_character', at('Expiry'));
    rejects(() => validateTemplate('apns', { body: APNS_BODY, priority: `{'1' + '${ch}'}` }), 'invalid_request', 'invalid_character', at('Priority'));
    rejects(() => validateTemplate('apns', { body: APNS_BODY, headers: [{ name: 'apns-collapse-id', value: `c${ch}` }] }), 'invalid_request', 'invalid_character', { header: 'apns-collapse-id' });
    rejects(() => validateHandle('wns', { value: 'https://db5.notify.windows.com/?token=x', secondaryTileName: `t${ch}` }), 'invalid_request', 'invalid_character', at('SecondaryTileName'));
    rejects(() => validatePushVariables({ v: `x${ch}y` }), 'invalid_request', 'invalid_character', at('PushVariables'));
  }
  // Tab, CR and LF are XML; so are characters outside the BMP.
  assert.equal(validateTemplate('wns', { body: 'a\tb\r\nc 😀', headers: raw }).body, 'a\tb\r\nc 😀');
  assert.deepEqual(validatePushVariables({ v: 'line\nbreak' }), { v: 'line\nbreak' });
});

test('FCM v1 handles: a registration token, or fid: and a Firebase installation id; a bare FID is refused (#14 item 3)', () => {
  const token = `abcdefghijklmnopqrstuv:APA91b${'x'.repeat(134)}`;
  const fid = 'dXk3nV9aQ0yF2b8c1ZqW_-';
  assert.deepEqual(validateHandle('fcmv1', { value: token }), { platform: 'fcmv1', value: token });
  assert.deepEqual(validateHandle('fcmv1', { value: `fid:${fid}` }), { platform: 'fcmv1', value: `fid:${fid}` });
  const bare = rejects(() => validateHandle('fcmv1', { value: fid }), 'invalid_request', 'invalid_handle', { field: 'FcmV1RegistrationId' });
  assert.match(bare.message, new RegExp(`register it as fid:${fid}`));
  // First 4 bits 0111 → the first character is c, d, e or f; 22 characters; base64url only.
  for (const wrong of ['fid:aXk3nV9aQ0yF2b8c1ZqW_-', 'fid:dXk3nV9aQ0yF2b8c1ZqW_', 'fid:dXk3nV9aQ0yF2b8c1ZqW+-', 'fid:']) {
    rejects(() => validateHandle('fcmv1', { value: wrong }, 'pushChannel'), 'invalid_request', 'invalid_handle', { field: 'pushChannel' });
  }
  rejects(() => validateHandle('gcm', { value: `fid:${fid}` }), 'invalid_request', 'invalid_handle', { field: 'GcmRegistrationId' });
});

test('an FCM v1 template must not name its own token, topic, condition or fid (#14 item 3)', () => {
  assert.ok(validateTemplate('fcmv1', { body: '{"message":{"notification":{"title":"$(t)"}}}' }));
  for (const key of ['token', 'topic', 'condition', 'fid']) {
    rejects(() => validateTemplate('fcmv1', { body: `{"message":{"${key}":"$(x)","data":{"a":"b"}}}` }), 'fcm_target_in_payload', 'fcm_target_in_payload', { field: 'BodyTemplate', member: `message.${key}` });
  }
});

test('a browser template\'s literal TTL, Urgency and Topic headers are checked as a send\'s are; expressions pass (#14 item 4)', () => {
  const body = '{"title":"$(t)"}';
  assert.ok(validateTemplate('browser', { body, headers: [{ name: 'TTL', value: '60' }, { name: 'Urgency', value: 'high' }, { name: 'Topic', value: 'news_1' }] }));
  assert.ok(validateTemplate('browser', { body, headers: [{ name: 'Topic', value: '$(topic)' }] }));
  for (const [name, value] of [['TTL', '2419201'], ['Urgency', 'urgent'], ['Topic', 'x'.repeat(33)], ['Topic', 'a b']]) {
    rejects(() => validateTemplate('browser', { body, headers: [{ name: name!, value: value! }] }), 'invalid_request', 'invalid_header', { header: name });
  }
});
