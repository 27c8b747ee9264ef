import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { HubError } from '../shared/errors.ts';
import { ContinuationTokens } from './continuation.ts';

const invalid = (err: unknown) => err instanceof HubError && err.code === 'invalid_continuation_token';

test("a token seals the store's opaque cursor, for its own listing only", () => {
  const secret = randomBytes(32);
  const tokens = new ContinuationTokens(secret);
  const cursor = 's1r.2n9c.0k7';
  const t = tokens.issue('hub|registrations|all', cursor);
  assert.match(t, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.equal(tokens.read('hub|registrations|all', t), cursor);
  assert.throws(() => tokens.read('hub|registrations|tag:x', t), invalid, 'another listing');
  assert.throws(() => new ContinuationTokens(randomBytes(32)).read('hub|registrations|all', t), invalid, 'another secret key');
  assert.throws(() => tokens.read('hub|registrations|all', `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`), invalid, 'tampered');
  assert.throws(() => tokens.read('hub|registrations|all', '5'), invalid, 'a bare position');
});

test('a token handed out before cursors were opaque (a number inside) still reads, as that number', () => {
  const secret = randomBytes(32);
  // How the previous version sealed `{ a: <position>, s: <scope digest> }`, with the same key derivation.
  const key = createHmac('sha256', secret).update('herald continuation tokens v1').digest();
  const scope = 'hub|installations|{}';
  const seal = (payload: unknown) => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${createHmac('sha256', key).update(body).digest('base64url').slice(0, 22)}`;
  };
  const s = createHash('sha256').update(scope).digest('base64url').slice(0, 12);
  const tokens = new ContinuationTokens(secret);
  assert.equal(tokens.read(scope, seal({ a: 42, s })), '42');
  for (const a of [-1, 1.5, '', null, { x: 1 }]) assert.throws(() => tokens.read(scope, seal({ a, s })), invalid, JSON.stringify(a));
});
