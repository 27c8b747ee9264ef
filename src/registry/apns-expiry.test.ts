import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apnsExpirationSeconds, parseExpiryDate } from './apns-expiry.ts';

const T = Date.UTC(2030, 0, 31, 13, 5, 9) / 1000;

test('expiry literals in the forms the clients write parse to the same second (§6.4, §7.1)', () => {
  for (const text of [
    '2030-01-31T13:05:09Z',
    '2030-01-31T13:05:09.000Z',
    '2030-01-31T13:05:09',
    '2030-01-31T14:05:09+01:00',
    '2030-01-31T05:05:09.1234567-08:00',
    '2030-01-31T14:05:09+0100',
    'Thu Jan 31 2030 13:05:09 GMT+0000 (Coordinated Universal Time)',
    'Thu Jan 31 2030 14:05:09 GMT+0100',
    'Thu, 31 Jan 2030 13:05:09 GMT',
    '01/31/2030 13:05:09',
    '  2030-01-31T13:05:09Z ',
    String(T),
  ]) {
    assert.equal(apnsExpirationSeconds(text), T, text);
  }
  assert.equal(apnsExpirationSeconds('0'), 0);
  assert.equal(parseExpiryDate('2030-01-31'), Date.UTC(2030, 0, 31));
});

test('text that names no date is not an expiry (#10 item 8)', () => {
  for (const text of [
    'next tuesday', '', 'tomorrow', '2030-02-30T00:00:00Z', '2030-13-01', '2030-01-01T25:00:00Z', '2030-01-01T00:00:00+15:00',
    'Foo Jan 31 2030 13:05:09 GMT+0000', '31/31/2030 13:05:09', 'hello 1', '1e9', '-5', '2030-01-31T13:05:09Z junk', 'Thu, 31 Jan 2030 13:05:09 PST',
  ]) {
    assert.equal(apnsExpirationSeconds(text), undefined, text);
  }
});
