import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUriValue, isTemplateNumber, truncate, truncateWithEllipsis } from './evaluate.ts';
import { prepareProperties, renderTemplateExpression, validateTemplateExpression, type PropertySource } from './index.ts';

const render = (source: string, send: PropertySource, push?: PropertySource): string =>
  renderTemplateExpression(validateTemplateExpression(source), send, push);

test('$(p) gives the value; a missing property gives ""', () => {
  assert.equal(render('$(name)', { name: 'Ann' }), 'Ann');
  assert.equal(render('$(name)', {}), '');
  assert.equal(render('{$(a) + $(b)}', { b: 'x' }), 'x');
  assert.equal(render('.(name, 5)', {}), '');
  assert.equal(render('%(name)', {}), '');
});

test('$(p, n) truncates to at most n characters', () => {
  assert.equal(render('$(p, 3)', { p: 'abcdef' }), 'abc');
  assert.equal(render('$(p, 3)', { p: 'abc' }), 'abc');
  assert.equal(render('$(p, 3)', { p: 'ab' }), 'ab');
  assert.equal(render('$(p, 0)', { p: 'abc' }), '');
});

test('.(p, n) adds ... only when it truncates, and the result is at most n', () => {
  assert.equal(render('.(p, 5)', { p: 'abcde' }), 'abcde');
  assert.equal(render('.(p, 5)', { p: 'abcdef' }), 'ab...');
  assert.equal(render('.(p, 4)', { p: 'abcdef' }), 'a...');
  assert.equal(render('.(p, 3)', { p: 'abcdef' }), '...');
  assert.equal(render('.(p, 2)', { p: 'abcdef' }), '..');
  assert.equal(render('.(p, 0)', { p: 'abcdef' }), '');
  assert.equal(render('.(p, 0)', { p: '' }), '');
  assert.equal(render('.(p, 3)', { p: 'abc' }), 'abc');
  for (let n = 0; n < 12; n++) {
    for (const value of ['', 'a', 'abcdefghij', '😀😀😀😀😀']) {
      const out = truncateWithEllipsis(value, n);
      assert.ok(out.length <= n, `${value} ${n}`);
      assert.equal(out.endsWith('...'), value.length > n && n >= 3, `${value} ${n}`);
    }
  }
});

test('truncation never splits a surrogate pair', () => {
  assert.equal(truncate('😀😀', 3), '😀');
  assert.equal(truncate('😀😀', 1), '');
  assert.equal(truncate('a😀', 2), 'a');
  assert.equal(truncateWithEllipsis('a😀bcdef', 5), 'a...');
  assert.equal(truncateWithEllipsis('ab😀cdef', 5), 'ab...');
});

test('%(p) percent-encodes UTF-8, leaving only RFC 3986 unreserved characters', () => {
  assert.equal(render('%(q)', { q: "a b&c=d/é!*()'~-._" }), 'a%20b%26c%3Dd%2F%C3%A9%21%2A%28%29%27~-._');
  assert.equal(render('%(q)', { q: '😀' }), '%F0%9F%98%80');
  assert.equal(encodeUriValue('x\uD800y'), 'x%EF%BF%BDy');
  assert.equal(render("{'https://x.example/?q=' + %(q)}", { q: 'a+b' }), 'https://x.example/?q=a%2Bb');
});

test('the §13.2 number pattern', () => {
  for (const yes of ['0', '40', '3.14', '1e5', '2E-3', '1.5e+10', '0.0']) assert.equal(isTemplateNumber(yes), true, yes);
  for (const no of ['', '-1', '01', '1.', '.5', ' 1', '1 ', 'NaN', 'Infinity', '0x10', '1e', '+1', '1,2', '1e5x']) {
    assert.equal(isTemplateNumber(no), false, no);
  }
});

test('literals render as written; quoted literals inside braces lose their quotes', () => {
  assert.equal(render('plain $(x)', { x: 'no' }), 'plain $(x)');
  assert.equal(render(`{'It''s ' + $(x) + "!"}`, { x: 'ok' }), "It's ok!");
});

test('property names are case-insensitive; an exact-case match wins', () => {
  assert.equal(render('$(NAME)', { name: 'x' }), 'x');
  const both = { Name: 'first', name: 'second' };
  assert.equal(render('$(name)', both), 'second');
  assert.equal(render('$(Name)', both), 'first');
  assert.equal(render('$(NAME)', both), 'first');
  const prepared = prepareProperties(both);
  assert.equal(render('$(name)', prepared), 'second');
  assert.equal(render('$(NAME)', prepared), 'first');
});

test('case folding is ASCII-only: the Kelvin sign is not k', () => {
  assert.equal(render('$(k)', { '\u212A': 'kelvin' }), '');
  assert.equal(render('$(k)', prepareProperties({ '\u212A': 'kelvin' })), '');
});

test('inherited object members are not properties', () => {
  assert.equal(render('$(constructor)', {}), '');
  assert.equal(render('$(toString)', prepareProperties({})), '');
  assert.equal(render('$(__proto__)', JSON.parse('{"__proto__":"own"}') as Record<string, string>), 'own');
});

test('non-string values count as missing', () => {
  const sloppy = { n: 5, z: null } as unknown as Record<string, string>;
  assert.equal(render('$(n)', sloppy), '');
  assert.equal(render('$(z:{d})', prepareProperties(sloppy)), 'd');
});

test('a default applies only when the property is missing, then the form applies', () => {
  assert.equal(render('$(name:{friend})', {}), 'friend');
  assert.equal(render('$(name:{friend})', { name: '' }), '');
  assert.equal(render('.(name:{a long default}, 6)', {}), 'a l...');
  assert.equal(render('%(q:{a b})', {}), 'a%20b');
});

test('send properties take precedence over pushVariables (§13.2 UNCONFIRMED)', () => {
  assert.equal(render('$(x)', { x: 'send' }, { x: 'device' }), 'send');
  assert.equal(render('$(x)', {}, { x: 'device' }), 'device');
  assert.equal(render('$(x)', { X: 'send' }, { x: 'device' }), 'send');
  assert.equal(render('{$(a) + $(b)}', prepareProperties({ a: '1' }), prepareProperties({ a: '2', B: '3' })), '13');
  assert.equal(render('$(x:{d})', {}, {}), 'd');
});

test('prepareProperties accepts a Map', () => {
  assert.equal(render('$(A)', prepareProperties(new Map([['a', 'from map']]))), 'from map');
});
