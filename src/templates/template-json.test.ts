import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { compileTemplate, prepareProperties, renderTemplate } from './index.ts';

const renderJson = (body: string, props: Record<string, string>): string => renderTemplate(compileTemplate(body, 'json'), props);

function refused(body: string, reason: string, position: number | undefined, message?: string): HubError {
  let caught: unknown;
  try {
    compileTemplate(body, 'json');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HubError, `expected ${JSON.stringify(body)} to be refused`);
  assert.equal(caught.code, 'invalid_request');
  assert.equal(caught.details?.['reason'], reason, caught.message);
  assert.equal(caught.details?.['position'], position, caught.message);
  if (message !== undefined) assert.equal(caught.message, message);
  return caught;
}

test('an APNs template renders, keeping the body formatting', () => {
  const body = '{ "aps": {\n  "alert": "$(message)",\n  "badge": "#(count)",\n  "sound": "default"\n} }';
  assert.equal(renderJson(body, { message: 'Hello', count: '40' }),
    '{ "aps": {\n  "alert": "Hello",\n  "badge": 40,\n  "sound": "default"\n} }');
});

test('#(p) is a bare number only when the value matches the §13.2 pattern', () => {
  const body = '{"badge":"#(count)"}';
  assert.equal(renderJson(body, { count: '40' }), '{"badge":40}');
  assert.equal(renderJson(body, { count: '1.5e3' }), '{"badge":1.5e3}');
  assert.equal(renderJson(body, { count: '-1' }), '{"badge":"-1"}');
  assert.equal(renderJson(body, { count: 'forty' }), '{"badge":"forty"}');
  assert.equal(renderJson(body, { count: '1,"x":2' }), '{"badge":"1,\\"x\\":2"}');
  assert.equal(renderJson(body, {}), '{"badge":""}');
  assert.equal(renderJson('["#(a)", "#(b)"]', { a: '0', b: '' }), '[0, ""]');
});

test('only an entire string value is an expression: not keys, not embedded text', () => {
  assert.equal(renderJson('{"$(k)":"v","t":"Hello $(name)","u":" $(name)"}', { k: 'K', name: 'N' }),
    '{"$(k)":"v","t":"Hello $(name)","u":" $(name)"}');
  assert.equal(renderJson('{"n":1,"b":true,"z":null,"a":["$(x)",{"y":"%(x)"}]}', { x: 'a b' }),
    '{"n":1,"b":true,"z":null,"a":["a b",{"y":"a%20b"}]}');
});

test('the decoded string is the value: JSON escapes in the template are honoured', () => {
  assert.equal(renderJson('{"a":"\\u0024(name)","b":"{\'say \\"\' + $(name) + \'\\"\'}"}', { name: 'hi' }),
    '{"a":"hi","b":"say \\"hi\\""}');
  // Literal strings are copied verbatim, escapes included.
  assert.equal(renderJson('{"a":"caf\\u00e9 \\/"}', {}), '{"a":"caf\\u00e9 \\/"}');
});

test('rendered values are escaped so the body stays valid JSON', () => {
  const value = 'quote " backslash \\ slash / newline \n tab \t cr \r nul \u0000 bell \u0007 é 😀 lone \uD800 sep \u2028';
  const out = renderJson('{"a":"$(v)","b":"{\'<\' + $(v)}"}', { v: value });
  const parsed = JSON.parse(out) as { a: string; b: string };
  assert.equal(parsed.a, value);
  assert.equal(parsed.b, `<${value}`);
  assert.ok(!/[\u0000-\u001f]/.test(out), 'no raw control characters');
  assert.ok(out.includes('\\ud800'), 'a lone surrogate is escaped');
});

test('a top-level string template works', () => {
  assert.equal(renderJson('"$(a)"', { a: 'x' }), '"x"');
});

test('constant expressions are rendered at compile time', () => {
  const compiled = compileTemplate('{"a":"{\'x\' + \\"y\\"}","b":"$(b)"}', 'json');
  assert.deepEqual(compiled.fragments, ['{"a":"xy","b":', '}']);
  assert.equal(compiled.slots.length, 1);
  assert.deepEqual(compileTemplate('{"a":1}', 'json').fragments, ['{"a":1}']);
});

test('the compiled form lists properties and is frozen for sharing', () => {
  const compiled = compileTemplate('{"a":"$(Title)","b":"{$(title) + .(Body, 9)}","c":"#(n)"}', 'json');
  assert.deepEqual(compiled.properties, ['Title', 'Body', 'n']);
  assert.deepEqual(compiled.slots.map((s) => [s.encoding, s.position]), [['json-string', 5], ['json-string', 20], ['json-number', 50]]);
  assert.ok(Object.isFrozen(compiled) && Object.isFrozen(compiled.fragments) && Object.isFrozen(compiled.slots));
});

test('render is substitution only: no JSON.parse per device', () => {
  const compiled = compileTemplate('{"a":"$(a)","n":"#(n)"}', 'json');
  const props = prepareProperties({ a: 'x', n: '2' });
  const original = JSON.parse;
  JSON.parse = () => {
    throw new Error('JSON.parse called during render');
  };
  try {
    assert.equal(renderTemplate(compiled, props), '{"a":"x","n":2}');
  } finally {
    JSON.parse = original;
  }
});

test('invalid JSON is refused with the position', () => {
  refused('{"a":}', 'template_json_syntax', 5, "Template body is not valid JSON: at position 5: expected a JSON value but found '}'.");
  refused('{"a" 1}', 'template_json_syntax', 5);
  refused('{"a":1,}', 'template_json_syntax', 7);
  refused("{'a':1}", 'template_json_syntax', 1);
  refused('[1 2]', 'template_json_syntax', 3);
  refused('{"a":"x', 'template_json_syntax', 7, 'Template body is not valid JSON: at position 7: expected \'"\' to close the string but found end of body.');
  refused('"\\x"', 'template_json_syntax', 2);
  refused('"\\u12G4"', 'template_json_syntax', 3);
  refused('"a\nb"', 'template_json_syntax', 2, 'Template body is not valid JSON: at position 2: control character character U+000A must be escaped in a JSON string.');
  refused('01', 'template_json_syntax', 1);
  refused('1.', 'template_json_syntax', 1);
  refused('-', 'template_json_syntax', 0);
  refused('tru', 'template_json_syntax', 0);
  refused('{} x', 'template_json_syntax', 3);
  refused('', 'template_json_syntax', 0, 'Template body is not valid JSON: at position 0: expected a JSON value but found end of body.');
  refused('\uFEFF{}', 'template_json_syntax', 0);
});

test('valid JSON edge cases are accepted', () => {
  for (const body of [' {} ', '[]', '0', '-0.5e-7', 'null', '{"a":{"b":[[],{}]}}', '"\\ud83d\\ude00"', '{"a":1,"a":2}']) {
    assert.equal(renderJson(body, {}), body, body);
  }
});

test('an invalid expression inside the body names its place and its position', () => {
  const err = refused('{"aps":{"alert":"$(msg"}}', 'template_expression_syntax', 5,
    "Template body error in the string value at position 16: invalid template expression '$(msg' at position 5: expected ',' or ')' but found end of expression.");
  assert.equal(err.details?.['bodyPosition'], 16);
  refused('{"a":"{$(x) + #(n)}"}', 'template_numeric_in_concatenation', 8);
  refused('{"a":"$5 off"}', 'template_expression_syntax', 1);
});

test('size and depth are bounded', () => {
  refused(`[${' '.repeat(70_000)}]`, 'template_too_large', undefined);
  assert.equal(renderJson(`${'['.repeat(64)}${']'.repeat(64)}`, {}).length, 128);
  refused(`${'['.repeat(65)}${']'.repeat(65)}`, 'template_too_deep', 64);
  assert.doesNotThrow(() => compileTemplate(`${'['.repeat(100)}${']'.repeat(100)}`, 'json', { maxDepth: 100 }));
});

test('a body that is not a string, or an unknown format, is refused', () => {
  assert.throws(() => compileTemplate(42, 'json'), (e: unknown) => e instanceof HubError && e.details?.['reason'] === 'template_not_string');
  assert.throws(() => compileTemplate('{}', 'yaml' as 'json'),
    (e: unknown) => e instanceof HubError && e.details?.['reason'] === 'template_format_unknown');
});
