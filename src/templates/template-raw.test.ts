import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, renderTemplate } from './index.ts';

const render = (body: string, props: Record<string, string>, vars?: Record<string, string>) => renderTemplate(compileTemplate(body, 'raw'), props, vars);

test('a raw body is opaque text with expressions inside, whatever it looks like (#10 item 5)', () => {
  assert.equal(render('{"m":"$(message)"}', { message: 'hi' }), '{"m":"hi"}');
  assert.equal(render('<x a="$(a)">%(q)</x>', { a: '1', q: 'a b&c' }), '<x a="1">a%20b%26c</x>');
  assert.equal(render('count=#(n); short=$(t, 3); more=.(t, 5)', { n: '40', t: 'abcdefgh' }), 'count=40; short=abc; more=ab...');
  assert.equal(render('plain text, no expressions', {}), 'plain text, no expressions');
  assert.equal(render('$(message)', { message: 'whole' }), 'whole');
  assert.equal(render('$(Message) and $(missing)!', { message: 'case-insensitive' }), 'case-insensitive and !');
  assert.equal(render('$(v)', {}, { v: 'from the device' }), 'from the device');
  // A body that is one concatenation is that expression; text that only looks like a start stays text.
  assert.equal(render("{'Hi, ' + $(name)}", { name: 'Ann' }), 'Hi, Ann');
  assert.equal(render('50% (about) .(no length) $(unclosed $body $(ok)', { ok: 'yes' }), '50% (about) .(no length) $(unclosed $body yes');
  assert.deepEqual(compileTemplate('{"a":"$(x)","b":"$(X)","c":"$(y)"}', 'raw').properties, ['x', 'y']);
  // Values are not escaped: a raw body has no syntax to escape for.
  assert.equal(render('{"m":"$(m)"}', { m: 'a"b' }), '{"m":"a"b"}');
});

test('starts that never parse stay text, however many there are', () => {
  const body = '$(a:{'.repeat(2_000);
  assert.equal(render(body, {}), body);
});
