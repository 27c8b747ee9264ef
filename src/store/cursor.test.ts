import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { cursorCheck, cursorCodec } from './cursor.ts';

const refusedAsToken = (err: unknown) => err instanceof HubError && err.code === 'invalid_continuation_token';

test('a cursor reads back as the position it was made from, for the codec that made it only', () => {
  const codec = cursorCodec('s1r', 1);
  for (const n of [0, 1, 35, 36, 1_000_000, Number.MAX_SAFE_INTEGER]) {
    const c = codec.encode(n);
    assert.match(c, /^s1r\.[0-9a-z]+\.[0-9a-z]{3}$/);
    assert.deepEqual(codec.decode(c), [n]);
  }
  const pair = cursorCodec('p1o', 2);
  assert.deepEqual(pair.decode(pair.encode(7, 123_456)), [7, 123_456]);
  assert.throws(() => codec.encode(-1));
  assert.throws(() => codec.encode(1.5));
  assert.throws(() => pair.encode(1));
  // Another listing's, another adapter's, another version's, another arity's.
  for (const other of [cursorCodec('s1i', 1), cursorCodec('p1r', 1), cursorCodec('s2r', 1)]) {
    assert.throws(() => codec.decode(other.encode(5)), refusedAsToken);
    assert.throws(() => other.decode(codec.encode(5)), refusedAsToken);
  }
  assert.throws(() => pair.decode(codec.encode(5)), refusedAsToken);
});

test('a garbled cursor is invalid_continuation_token: every one-character change, and well-checked forms that are not canonical', () => {
  const codec = cursorCodec('s1r', 1);
  const good = codec.encode(987_654_321);
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzA.-_~ ';
  let tried = 0;
  for (let i = 0; i < good.length; i++) {
    for (const ch of alphabet) {
      if (ch === good[i]) continue;
      const bad = good.slice(0, i) + ch + good.slice(i + 1);
      assert.throws(() => codec.decode(bad), refusedAsToken, bad);
      tried++;
    }
    assert.throws(() => codec.decode(good.slice(0, i) + good.slice(i + 1)), refusedAsToken, 'a character lost');
  }
  assert.ok(tried > 400);
  // Right check, wrong form: leading zeros, past a safe integer, upper case, empty.
  const withCheck = (body: string) => `${body}.${cursorCheck(body)}`;
  for (const body of ['s1r.01', 's1r.zzzzzzzzzzz', 's1r.ZZ', 's1r.', 's1r.-1', 's1r']) {
    assert.throws(() => codec.decode(withCheck(body)), refusedAsToken, body);
  }
  assert.deepEqual(codec.decode(withCheck('s1r.10')), [36], 'the same body made by hand reads');
  for (const bad of ['', '5', 'x'.repeat(1000)]) assert.throws(() => codec.decode(bad), refusedAsToken, bad);
  assert.equal(codec.tryDecode(42), undefined, 'a hint that is not even a string');
  assert.equal(codec.tryDecode(null), undefined);
});

test('a bare decimal (a position from before cursors were opaque) reads only where the codec allows it', () => {
  const legacy = cursorCodec('s1r', 1, { legacyDecimal: true });
  assert.deepEqual(legacy.decode('42'), [42]);
  assert.deepEqual(legacy.decode(legacy.encode(42)), [42]);
  for (const bad of ['-1', '1e3', '4.2', '99999999999999999', ' 42']) assert.throws(() => legacy.decode(bad), refusedAsToken, bad);
  assert.throws(() => cursorCodec('s1o', 1).decode('42'), refusedAsToken);
  // A plan job's payload is JSON: a position queued before is a number there.
  assert.deepEqual(legacy.tryDecode(42), [42]);
  for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2, NaN]) assert.equal(legacy.tryDecode(bad), undefined, String(bad));
  assert.equal(cursorCodec('s1o', 1).tryDecode(42), undefined);
});
