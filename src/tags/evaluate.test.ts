import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, parseTagExpression } from './index.ts';

const matches = (text: string, tags: string[]): boolean => evaluate(parseTagExpression(text).ast, new Set(tags));

test('a tag matches by presence', () => {
  assert.equal(matches('a', ['a', 'b']), true);
  assert.equal(matches('a', ['b']), false);
  assert.equal(matches('a', []), false);
});

test('tags match exactly and case-sensitively (§12.1: opaque strings)', () => {
  assert.equal(matches('News', ['news']), false);
  assert.equal(matches('a.b', ['a.b']), true);
  assert.equal(matches('a.b', ['aXb']), false);
});

test('!, && and || follow boolean logic with the usual precedence', () => {
  assert.equal(matches('!a', []), true);
  assert.equal(matches('!a', ['a']), false);
  assert.equal(matches('a && b', ['a']), false);
  assert.equal(matches('a && b', ['a', 'b']), true);
  assert.equal(matches('a || b', ['b']), true);
  assert.equal(matches('a || b', []), false);
  // a || (b && c), not (a || b) && c
  assert.equal(matches('a || b && c', ['a']), true);
  assert.equal(matches('(a || b) && c', ['a']), false);
  // (!a) && b, not !(a && b)
  assert.equal(matches('!a && b', ['a']), false);
  assert.equal(matches('!(a && b)', ['a']), true);
});

test('the docs example: follows_RedSox || follows_Cardinals && location_Boston', () => {
  const text = '(follows_RedSox || follows_Cardinals) && location_Boston';
  assert.equal(matches(text, ['follows_RedSox', 'location_Boston']), true);
  assert.equal(matches(text, ['follows_RedSox', 'location_NYC']), false);
});

test('system tags are matched with their canonical prefix', () => {
  assert.equal(matches('$userid:{bob}', ['$UserId:{bob}']), true);
  assert.equal(matches('$UserId:{bob}', ['$UserId:{Bob}']), false);
});
