import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests, header } from '../../../test/fixtures/captured.ts';
import { MISSING_PART_MESSAGE, multipartBoundary, parseBatchSendBody, parseDeviceList, parseHeaderParameters, parseMultipart } from './multipart.ts';
import { rejects } from '../../../test/fixtures/hub-error.ts';


const B = 'nh-boundary-1';
const CT = `multipart/mixed; boundary = "${B}"`;
function body(parts: string[], close = `--${B}--`, eol = '\r\n'): Buffer {
  return Buffer.from(parts.map((p) => `--${B}${eol}${p}${eol}`).join('') + close);
}
const notificationPart = 'Content-type: application/json;charset=utf-8\r\nContent-Disposition: inline; name=notification\r\n\r\n{"message":{"data":{"a":"b"}}}';
const devicesPart = (list: string) => `Content-type: application/json\r\nContent-Disposition: inline; name=devices\r\n\r\n${list}`;

test('the official client\'s captured $batch request parses: spaces around =, Content-type, no CRLF after the close', () => {
  const req = capturedRequests().find((r) => r.url.includes('/messages/$batch'))!;
  const parsed = parseBatchSendBody(header(req, 'content-type'), Buffer.from(req.body));
  assert.equal(parsed.notificationContentType, 'application/json;charset=utf-8');
  assert.equal(parsed.notification.toString(), '{"message":{"data":{"a":"b"}}}');
  assert.deepEqual(parsed.devices, ['tok1', 'tok2']);
});

test('Content-Type parameters: quoted or bare boundary, any case, spaces around =', () => {
  assert.equal(multipartBoundary('multipart/mixed; boundary = "a b"'), 'a b');
  assert.equal(multipartBoundary('Multipart/Mixed;BOUNDARY=xyz'), 'xyz');
  assert.equal(multipartBoundary('multipart/mixed; charset=utf-8; boundary="q\\"x"'), 'q"x');
  assert.deepEqual({ ...parseHeaderParameters('inline; name=devices').params }, { name: 'devices' });
  assert.deepEqual({ ...parseHeaderParameters('inline; NAME="notification"').params }, { name: 'notification' });
});

test('a batch without a multipart Content-Type or boundary is a 400 naming the header', () => {
  rejects(() => multipartBoundary(undefined), 'invalid_request', 'multipart_content_type', { header: 'Content-Type' });
  rejects(() => multipartBoundary('application/json'), 'invalid_request', 'multipart_content_type');
  rejects(() => multipartBoundary('multipart/mixed'), 'invalid_request', 'multipart_boundary');
  rejects(() => multipartBoundary(`multipart/mixed; boundary=${'x'.repeat(71)}`), 'invalid_request', 'multipart_boundary');
});

test('CRLF and bare LF line ends, a preamble, an epilogue and a trailing CRLF are all read', () => {
  const lf = body([notificationPart.replaceAll('\r\n', '\n'), devicesPart('["x"]').replaceAll('\r\n', '\n')], `--${B}--`, '\n');
  assert.deepEqual(parseBatchSendBody(CT, lf).devices, ['x']);
  const framed = Buffer.concat([Buffer.from('preamble text\r\n'), body([notificationPart, devicesPart('["y"]')], `--${B}--\r\nepilogue`)]);
  const parsed = parseBatchSendBody(CT, framed);
  assert.deepEqual(parsed.devices, ['y']);
  assert.equal(parsed.notification.toString(), '{"message":{"data":{"a":"b"}}}');
});

test('parts are binary-safe and keep their own CRLFs; only the one before the delimiter is dropped', () => {
  const raw = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2d, 0x2d, 0x41, 0x0d, 0x0a]);
  const doc = Buffer.concat([
    Buffer.from(`--${B}\r\nContent-Disposition: inline; name=notification\r\n\r\n`), raw,
    Buffer.from(`\r\n--${B}\r\n${devicesPart('["z"]')}\r\n--${B}--`),
  ]);
  const parsed = parseBatchSendBody(CT, doc);
  assert.deepEqual([...parsed.notification], [...raw]);
  assert.equal(parsed.notificationContentType, undefined);
});

test('part headers are case-insensitive; a part with no headers has an empty header map', () => {
  const parts = parseMultipart(body(['CONTENT-DISPOSITION: Inline; Name=Devices\r\nX-Other: 1\r\n\r\n[]', '\r\nno headers']), B);
  assert.equal(parts.length, 2);
  assert.equal(parts[0]!.name, 'devices');
  assert.equal(parts[0]!.headers['x-other'], '1');
  assert.equal(parts[1]!.name, undefined);
  assert.equal(parts[1]!.body.toString(), 'no headers');
});

test('a missing part is the real service\'s 400 "Could not find a part of the multipart content supplied"', () => {
  const noDevices = rejects(() => parseBatchSendBody(CT, body([notificationPart])), 'invalid_request', 'multipart_part_missing', { part: 'devices' });
  assert.ok(noDevices.message.startsWith(MISSING_PART_MESSAGE));
  rejects(() => parseBatchSendBody(CT, body([devicesPart('["a"]')])), 'invalid_request', 'multipart_part_missing', { part: 'notification' });
  rejects(() => parseBatchSendBody(CT, body([notificationPart, devicesPart('["a"]'), devicesPart('["b"]')])), 'invalid_request', 'multipart_part_repeated');
});

test('broken framing is malformed_body: unknown boundary, no closing delimiter, no blank line after headers', () => {
  rejects(() => parseMultipart(Buffer.from('--other\r\n\r\nx\r\n--other--'), B), 'malformed_body', 'multipart_malformed');
  rejects(() => parseMultipart(Buffer.from(`--${B}\r\nContent-Disposition: inline; name=devices\r\n\r\n["a"]`), B), 'malformed_body', 'multipart_malformed');
  rejects(() => parseMultipart(Buffer.from(`--${B}\r\nContent-Disposition: inline\r\n--${B}--`), B), 'malformed_body', 'multipart_malformed');
  rejects(() => parseMultipart(Buffer.from(`--${B}junk\r\n\r\nx\r\n--${B}--`), B), 'malformed_body', 'multipart_malformed');
});

test('sizes are bounded: body, parts and header block', () => {
  rejects(() => parseMultipart(Buffer.alloc(70_000, 0x61), B), 'payload_too_large', 'multipart_too_large', { limit: 65536 });
  rejects(() => parseMultipart(body(Array.from({ length: 9 }, () => '\r\nx')), B), 'invalid_request', 'multipart_too_many_parts', { limit: 8 });
  rejects(() => parseMultipart(body([`X-Big: ${'a'.repeat(5000)}\r\n\r\nx`]), B), 'invalid_request', 'multipart_header_too_large');
  rejects(() => parseMultipart(body([`X-Big: ${'a'.repeat(5000)}`]), B), 'invalid_request', 'multipart_header_too_large');
});

test('devices: JSON array; the docs\' single-quoted pseudo-JSON is read too', () => {
  assert.deepEqual(parseDeviceList(Buffer.from(' ["a","b"] ')), ['a', 'b']);
  assert.deepEqual(parseDeviceList(Buffer.from("['a', 'b']")), ['a', 'b']);
  assert.deepEqual(parseDeviceList(Buffer.from(`['it\\'s', "dq", 'has "quote"']`)), ["it's", 'dq', 'has "quote"']);
  assert.deepEqual(parseDeviceList(Buffer.from('[{"endpoint":"https://x"}]')), [{ endpoint: 'https://x' }]);
});

test('devices: not JSON, not an array, empty, or more than 1000 handles is a 400', () => {
  rejects(() => parseDeviceList(Buffer.from('tok1,tok2')), 'malformed_body', 'devices_not_json');
  rejects(() => parseDeviceList(Buffer.from("['unterminated]")), 'malformed_body', 'devices_not_json');
  rejects(() => parseDeviceList(Buffer.from('{"a":1}')), 'invalid_request', 'devices_not_array');
  rejects(() => parseDeviceList(Buffer.from('[]')), 'invalid_request', 'devices_empty');
  rejects(() => parseDeviceList(Buffer.from('')), 'invalid_request', 'devices_empty');
  const list = (n: number) => Buffer.from(JSON.stringify(Array.from({ length: n }, (_, i) => `t${i}`)));
  assert.equal(parseDeviceList(list(1000)).length, 1000);
  rejects(() => parseDeviceList(list(1001)), 'invalid_request', 'too_many_devices', { count: 1001, limit: 1000 });
  rejects(() => parseBatchSendBody(CT, body([notificationPart, devicesPart(list(1001).toString())])), 'invalid_request', 'too_many_devices');
});
