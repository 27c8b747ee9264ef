import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { parseTemplateExpression, type ExpressionTerm } from './expression.ts';
import { validateTemplateExpression } from './index.ts';

const ref = (name: string, defaultValue?: string) => ({ name, folded: name.toLowerCase(), defaultValue });
const terms = (source: string): readonly ExpressionTerm[] => parseTemplateExpression(source).terms;

function refused(source: string, position: number, reason: string, message?: string, allowNumeric = true): HubError {
  let caught: unknown;
  try {
    parseTemplateExpression(source, { allowNumeric });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HubError, `expected '${source}' to be refused`);
  assert.equal(caught.code, 'invalid_request');
  assert.equal(caught.details?.['reason'], reason, caught.message);
  assert.equal(caught.details?.['position'], position, caught.message);
  if (message !== undefined) assert.equal(caught.message, message);
  return caught;
}

test('a value not starting with $ . % # { is a literal, even a quoted one (§13.1)', () => {
  for (const source of ['hello', 'Hello $(name)', "'quoted'", '"dq"', ' $(a)', '', '1.5']) {
    const parsed = parseTemplateExpression(source);
    assert.deepEqual(parsed.terms, [{ kind: 'literal', text: source }], source);
    assert.equal(parsed.constant, true);
    assert.equal(parsed.numeric, false);
  }
});

test('the single forms parse (§13.2)', () => {
  assert.deepEqual(terms('$(name)'), [{ kind: 'value', property: ref('name'), maxLength: undefined }]);
  assert.deepEqual(terms('$(name,10)'), [{ kind: 'value', property: ref('name'), maxLength: 10 }]);
  assert.deepEqual(terms('.(name, 20)'), [{ kind: 'ellipsis', property: ref('name'), maxLength: 20 }]);
  assert.deepEqual(terms('%(url)'), [{ kind: 'uri', property: ref('url') }]);
  assert.deepEqual(terms('#(count)'), [{ kind: 'number', property: ref('count') }]);
  assert.equal(parseTemplateExpression('#(count)').numeric, true);
  assert.equal(parseTemplateExpression('$(count)').numeric, false);
  assert.equal(parseTemplateExpression('$(count)').constant, false);
});

test('whitespace is allowed inside the parentheses', () => {
  assert.deepEqual(terms('$( name , 5 )'), [{ kind: 'value', property: ref('name'), maxLength: 5 }]);
  assert.deepEqual(terms('.(\tname,\t0)'), [{ kind: 'ellipsis', property: ref('name'), maxLength: 0 }]);
});

test('property names keep their spelling and carry an ASCII-folded key', () => {
  assert.deepEqual(terms('$(User_Name9)'), [{ kind: 'value', property: ref('User_Name9'), maxLength: undefined }]);
  assert.equal(parseTemplateExpression(`$(${'p'.repeat(120)})`).terms.length, 1);
});

test('concatenation with + inside braces, with literals in either quote and doubled-quote escapes', () => {
  assert.deepEqual(terms("{'Hi, ' + $(name) + \"!\"}"), [
    { kind: 'literal', text: 'Hi, ' },
    { kind: 'value', property: ref('name'), maxLength: undefined },
    { kind: 'literal', text: '!' },
  ]);
  assert.deepEqual(terms(`{'It''s' + "say ""hi""" + ''}`), [
    { kind: 'literal', text: "It's" },
    { kind: 'literal', text: 'say "hi"' },
    { kind: 'literal', text: '' },
  ]);
  assert.deepEqual(terms("{ .(a,5)+%(b)+'+}' }").map((t) => t.kind), ['ellipsis', 'uri', 'literal']);
  assert.equal(parseTemplateExpression("{'a' + 'b'}").constant, true);
  assert.equal(parseTemplateExpression('{$(a)}').constant, false);
});

test('$(p:{default}) with \\ escaping } (§13.2, .NET validator)', () => {
  assert.deepEqual(terms('$(name:{friend})'), [{ kind: 'value', property: ref('name', 'friend'), maxLength: undefined }]);
  assert.deepEqual(terms('$(name :{a\\}b\\\\c, d) }, 4)'),
    [{ kind: 'value', property: ref('name', 'a}b\\c, d) '), maxLength: 4 }]);
  assert.deepEqual(terms('.(n:{}, 9)'), [{ kind: 'ellipsis', property: ref('n', ''), maxLength: 9 }]);
});

test('syntax errors name the expression and the position', () => {
  refused('$(a', 3, 'template_expression_syntax',
    "Invalid template expression '$(a' at position 3: expected ',' or ')' but found end of expression.");
  refused('$a', 1, 'template_expression_syntax', "Invalid template expression '$a' at position 1: expected '(' after '$' but found 'a'.");
  refused('$ (a)', 1, 'template_expression_syntax');
  refused('$(a)x', 4, 'template_expression_syntax', "Invalid template expression '$(a)x' at position 4: expected end of expression but found 'x'.");
  refused('$(a, 1.5)', 6, 'template_expression_syntax');
  refused('$(a:x)', 4, 'template_expression_syntax');
  refused('$(a:{x)', 7, 'template_expression_syntax');
  refused('%', 1, 'template_expression_syntax');
  refused('{', 1, 'template_expression_syntax');
});

test('concatenation needs braces; a bare + is refused with a hint', () => {
  const err = refused('$(a)+$(b)', 4, 'template_expression_syntax');
  assert.match(err.message, /wrap a concatenation in braces/);
  refused('$(a) + $(b)', 4, 'template_expression_syntax');
});

test('brace errors', () => {
  refused('{}', 1, 'template_expression_syntax',
    "Invalid template expression '{}' at position 1: expected $(…), .(…), %(…) or a quoted literal but found '}'.");
  refused('{$(a) +}', 7, 'template_expression_syntax');
  refused('{$(a)', 5, 'template_expression_syntax',
    "Invalid template expression '{$(a)' at position 5: expected '+' or '}' but found end of expression.");
  refused('{$(a) $(b)}', 6, 'template_expression_syntax');
  refused('{$(a)} ', 6, 'template_expression_syntax');
  refused('{{$(a)}}', 1, 'template_expression_syntax');
  refused("{'abc}", 6, 'template_expression_syntax',
    "Invalid template expression '{'abc}' at position 6: expected ' to close the literal opened at position 1.");
  refused('{hello}', 1, 'template_expression_syntax');
});

test('property-name errors', () => {
  refused('$()', 2, 'template_property_name_invalid',
    "Invalid template expression '$()' at position 2: expected a property name but found ')'.");
  refused('$(a-b)', 3, 'template_property_name_invalid',
    "Invalid template expression '$(a-b)' at position 3: '-' is not allowed in a property name; use letters, digits and '_'.");
  refused('$(é)', 2, 'template_property_name_invalid');
  refused('$(a b)', 4, 'template_expression_syntax');
  refused(`$(${'p'.repeat(121)})`, 2, 'template_property_name_too_long');
});

test('length errors: n is a non-negative integer', () => {
  refused('$(a,)', 4, 'template_length_invalid',
    "Invalid template expression '$(a,)' at position 4: expected a non-negative integer length but found ')'.");
  refused('$(a,-1)', 4, 'template_length_invalid');
  refused('$(a,+1)', 4, 'template_length_invalid');
  refused('$(a,x)', 4, 'template_length_invalid');
  refused('$(a,2147483648)', 4, 'template_length_invalid');
  assert.equal(terms('$(a,2147483647)').length, 1);
});

test('.(p, n) needs the length; %(p) and #(p) take none', () => {
  refused('.(a)', 3, 'template_expression_syntax', "Invalid template expression '.(a)' at position 3: '.(…)' needs a length: .(property, n).");
  refused('.(a', 3, 'template_expression_syntax');
  refused('%(a,3)', 3, 'template_expression_syntax', "Invalid template expression '%(a,3)' at position 3: '%(…)' takes no length.");
  refused('#(a, 3)', 3, 'template_expression_syntax');
});

test('#() is refused inside braces and, when asked, outside JSON', () => {
  refused('{$(a) + #(b)}', 8, 'template_numeric_in_concatenation');
  refused('{#(b)}', 1, 'template_numeric_in_concatenation');
  refused('#(b)', 0, 'template_numeric_not_allowed', undefined, false);
});

test('$body is refused (§13.2, .NET validator)', () => {
  refused('$body', 0, 'template_body_unsupported');
  refused('$BODY', 0, 'template_body_unsupported');
  refused("{'x' + $body}", 7, 'template_body_unsupported');
  assert.equal(terms('$(body)').length, 1);
});

test('long expressions are shortened in the message', () => {
  const err = refused(`{${"'x' + ".repeat(100)}`, 601, 'template_expression_syntax');
  assert.ok(err.message.length < 300, err.message);
});

test('validateTemplateExpression serves header values and accepts #()', () => {
  assert.equal(validateTemplateExpression('10').constant, true);
  assert.equal(validateTemplateExpression('#(priority)').numeric, true);
  assert.throws(() => validateTemplateExpression('$(x'), HubError);
});
