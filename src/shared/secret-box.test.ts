import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box.ts';

test('a sealed value opens only with the same key and associated data', () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('{"secret":"s3cr3t"}', 'hub/apns');
  assert.ok(!sealed.includes('s3cr3t'));
  assert.notEqual(box.seal('{"secret":"s3cr3t"}', 'hub/apns'), sealed, 'a fresh nonce every time');
  assert.equal(box.open(sealed, 'hub/apns'), '{"secret":"s3cr3t"}');
  assert.throws(() => box.open(sealed, 'other/apns'));
  assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'hub/apns'));
  assert.throws(() => new SecretBox(randomBytes(16)));
});
