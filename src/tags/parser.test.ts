import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { formatTagExpression, parseTagExpression, type TagExpression } from './index.ts';

const tag = (t: string): TagExpression => ({ kind: 'tag', tag: t });
const not = (operand: TagExpression): TagExpression => ({ kind: 'not', operand });
const and = (...operands: TagExpression[]): TagExpression => ({ kind: 'and', operands });
const or = (...operands: TagExpression[]): TagExpression => ({ kind: 'or', operands });

function refused(text: string, reason: string, position: number | undefined, message?: string): HubError {
  let caught: unknown;
  try {
    parseTagExpression(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HubError, `expected '${text}' to be refused`);
  assert.equal(caught.code, 'invalid_request');
  assert.equal(caught.details?.['reason'], reason, caught.message);
  assert.equal(caught.details?.['position'], position, caught.message);
  if (message !== undefined) assert.equal(caught.message, message);
  return caught;
}

function syntaxError(text: string, position: number, message?: string): HubError {
  return refused(text, 'tag_expression_syntax', position, message);
}

test('a single tag is a valid expression (§12.2)', () => {
  assert.deepEqual(parseTagExpression('likes_hockey'), { ast: tag('likes_hockey'), tags: ['likes_hockey'], orOnly: true });
});

test('precedence is ! over && over ||', () => {
  assert.deepEqual(parseTagExpression('a || b && !c').ast, or(tag('a'), and(tag('b'), not(tag('c')))));
  assert.deepEqual(parseTagExpression('!a && b || c').ast, or(and(not(tag('a')), tag('b')), tag('c')));
  assert.deepEqual(parseTagExpression('!!a').ast, not(not(tag('a'))));
});

test('chains of one operator become one n-ary node; parentheses group', () => {
  assert.deepEqual(parseTagExpression('a&&b&&c').ast, and(tag('a'), tag('b'), tag('c')));
  assert.deepEqual(parseTagExpression('(a || b) && c').ast, and(or(tag('a'), tag('b')), tag('c')));
  assert.deepEqual(parseTagExpression('!(a || b)').ast, not(or(tag('a'), tag('b'))));
  assert.deepEqual(parseTagExpression('((a))').ast, tag('a'));
  assert.deepEqual(parseTagExpression('(a && b) && c').ast, and(and(tag('a'), tag('b')), tag('c')));
});

test('whitespace is optional around operators and parentheses', () => {
  const expected = and(or(tag('a'), tag('b')), not(tag('c')));
  for (const text of ['(a||b)&&!c', ' ( a || b ) && ! c ', '(a\t||\tb)\n&&\r\n!c']) {
    assert.deepEqual(parseTagExpression(text).ast, expected, text);
  }
});

test('the JS SDK createTagExpression form (no spaces) parses', () => {
  assert.deepEqual(parseTagExpression('likes_hockey||likes_football').tags, ['likes_hockey', 'likes_football']);
});

test('system tags may contain spaces and operator characters inside the braces', () => {
  const parsed = parseTagExpression('$InstallationId:{inst 1} || $UserId:{a && (b)}');
  assert.deepEqual(parsed.ast, or(tag('$InstallationId:{inst 1}'), tag('$UserId:{a && (b)}')));
  assert.equal(parsed.orOnly, true);
});

test('system-tag prefixes are canonicalised so they match the stored tags', () => {
  assert.deepEqual(parseTagExpression('$installationID:{X}').ast, tag('$InstallationId:{X}'));
});

test('tags are kept exactly; case matters', () => {
  assert.deepEqual(parseTagExpression('News || news').tags, ['News', 'news']);
});

test('tags lists distinct tags in order of first appearance', () => {
  assert.deepEqual(parseTagExpression('b && (a || b) && !c').tags, ['b', 'a', 'c']);
});

test('orOnly is true only when no && and no ! appear', () => {
  assert.equal(parseTagExpression('a || (b || c)').orOnly, true);
  assert.equal(parseTagExpression('a || b && c').orOnly, false);
  assert.equal(parseTagExpression('a || !b').orOnly, false);
});

test('syntax errors name the position and what was expected', () => {
  syntaxError('a && && b', 5, "Tag expression error at position 5: expected a tag, '!' or '(' but found '&&'.");
  syntaxError('a &&', 4, "Tag expression error at position 4: expected a tag, '!' or '(' but found end of expression.");
  syntaxError('', 0, "Tag expression error at position 0: expected a tag, '!' or '(' but found end of expression.");
  syntaxError('   ', 3);
  syntaxError('a b', 2, "Tag expression error at position 2: expected '&&', '||' or end of expression but found tag 'b'.");
  syntaxError('(a || b', 7, "Tag expression error at position 7: expected ')' to close the '(' at position 0 but found end of expression.");
  syntaxError('(a b)', 3, "Tag expression error at position 3: expected '&&', '||' or ')' but found tag 'b'.");
  syntaxError('a)', 1, "Tag expression error at position 1: expected '&&', '||' or end of expression but found ')' (this ')' has no matching '(').");
  syntaxError('()', 1);
  syntaxError('a !b', 2);
  syntaxError('!', 1);
  syntaxError('|| a', 0);
});

test('single & and | are refused with a hint', () => {
  syntaxError('a & b', 2, "Tag expression error at position 2: expected '&&' but found '&'.");
  syntaxError('a | b', 2, "Tag expression error at position 2: expected '||' but found '|'.");
  syntaxError('a &', 2);
});

test('characters outside the tag alphabet are refused at their position', () => {
  syntaxError('a || b,c', 6, "Tag expression error at position 6: expected a tag, an operator or a parenthesis but found character ','.");
  syntaxError('a || "b"', 5);
  syntaxError('tag  é', 5);
});

test('malformed system tags are refused', () => {
  syntaxError('a || $UserId:{bob', 17);
  syntaxError('$UserId:{}', 9);
  syntaxError('$Other:{x}', 0);
  syntaxError('$InstallationId:{x}#y', 19);
  syntaxError(`$UserId:{${'u'.repeat(121)}}`, 129);
});

test('a tag longer than 120 characters is refused at the 121st character', () => {
  syntaxError(`ok || ${'t'.repeat(121)}`, 6 + 120);
  assert.equal(parseTagExpression('t'.repeat(120)).tags[0]?.length, 120);
});

test('at most 20 tags when only || is used (§12.2)', () => {
  const tags = Array.from({ length: 20 }, (_, i) => `t${i}`);
  assert.equal(parseTagExpression(tags.join(' || ')).tags.length, 20);
  const err = refused([...tags, 'x'].join('||'), 'tag_expression_too_many_tags', undefined);
  assert.equal(err.message, "Tag expression uses 21 tags; at most 20 are allowed when it uses only '||'.");
  assert.deepEqual(err.details, { reason: 'tag_expression_too_many_tags', count: 21, limit: 20, orOnly: true });
});

test('at most 6 tags once && or ! is used (§12.2); occurrences are counted', () => {
  assert.equal(parseTagExpression('a && b && c && d && e && f').tags.length, 6);
  const err = refused('a && b && c && d && e && f && g', 'tag_expression_too_many_tags', undefined);
  assert.equal(err.message, "Tag expression uses 7 tags; at most 6 are allowed when it uses '&&' or '!'.");
  refused('!a || b || c || d || e || f || a', 'tag_expression_too_many_tags', undefined);
});

test('a hub can raise the tag limits', () => {
  const text = 'a && b && c && d && e && f && g';
  assert.equal(parseTagExpression(text, { maxTagsMixed: 10 }).tags.length, 7);
  const tags = Array.from({ length: 30 }, (_, i) => `t${i}`).join('||');
  assert.equal(parseTagExpression(tags, { maxTagsOrOnly: 30 }).tags.length, 30);
});

test('the expression length is bounded', () => {
  const err = refused('a'.repeat(4097), 'tag_expression_too_long', undefined);
  assert.equal(err.details?.['limit'], 4096);
  const longest = `a ||${' '.repeat(4090)} b`;
  assert.equal(longest.length, 4096);
  assert.deepEqual(parseTagExpression(longest).tags, ['a', 'b']);
});

test('nesting depth is bounded, for parentheses and for !', () => {
  assert.deepEqual(parseTagExpression(`${'('.repeat(64)}a${')'.repeat(64)}`).ast, tag('a'));
  refused(`${'('.repeat(65)}a${')'.repeat(65)}`, 'tag_expression_too_deep', 64);
  refused(`${'!'.repeat(65)}a`, 'tag_expression_too_deep', 64);
  refused(`${'!('.repeat(40)}a${')'.repeat(40)}`, 'tag_expression_too_deep', 64);
  assert.ok(parseTagExpression(`${'!'.repeat(65)}a`, { maxDepth: 100 }).ast.kind === 'not');
});

test('a non-string expression is refused', () => {
  assert.throws(() => parseTagExpression(undefined), (err: unknown) =>
    err instanceof HubError && err.details?.['reason'] === 'tag_expression_not_string');
});

test('formatTagExpression prints text that parses back to the same tree', () => {
  for (const text of ['a', 'a || b && !c', '!(a || b) && c', '(a && b) && c', '(a || b) || c', '!!a', '!(a && b)',
    '$UserId:{x y} || (b && !(c || d))']) {
    const { ast } = parseTagExpression(text);
    assert.deepEqual(parseTagExpression(formatTagExpression(ast)).ast, ast, text);
  }
  assert.equal(formatTagExpression(parseTagExpression('(a||b)&&!c').ast), '(a || b) && !c');
});
