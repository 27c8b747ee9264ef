import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorTags, assumeTags } from './anchors.ts';
import { formatTagExpression } from './ast.ts';
import { evaluate } from './evaluate.ts';
import { parseTagExpression } from './parser.ts';
import { randomExpressions } from './random-expressions.ts';

const anchors = (text: string) => anchorTags(parseTagExpression(text, { maxTagsMixed: 50, maxTagsOrOnly: 50 }).ast);

test('anchors of the common shapes', () => {
  assert.deepEqual(anchors('UserId:1'), ['UserId:1']);
  assert.deepEqual(anchors('UserId:1 && Event:Comment'), ['UserId:1']);
  assert.deepEqual(anchors('a || b || c'), ['a', 'b', 'c']);
  assert.deepEqual(anchors('(a && !b) || (c && d)'), ['a', 'c']);
  assert.deepEqual(anchors('!a && b'), ['b']);
  assert.equal(anchors('!a'), undefined);
  assert.equal(anchors('a || !b'), undefined);
});

test('every set an expression selects carries one of its anchors (random check)', () => {
  const tags = ['a', 'b', 'c', 'd', 'e'];
  const { rnd, gen } = randomExpressions(7, tags);
  for (let i = 0; i < 300; i++) {
    const text = gen(3);
    const { ast } = parseTagExpression(text, { maxTagsMixed: 50, maxTagsOrOnly: 50 });
    const a = anchorTags(ast);
    if (!a) continue;
    for (let mask = 0; mask < 32; mask++) {
      const set = new Set(tags.filter((_, k) => mask & (1 << k)));
      if (evaluate(ast, set)) assert.ok(a.some((t) => set.has(t)), `${text} selects ${[...set]} without an anchor of ${a}`);
    }
  }
});

test('with a cost, an && starts from its cheapest operand, not the one with the fewest tags (#13 registry page)', () => {
  const rows: Record<string, number> = { news: 1_000_000, lang_fr: 100_000, a: 10, b: 10 };
  const cost = (tags: readonly string[]) => tags.reduce((n, t) => n + (rows[t] ?? 0), 0);
  const ast = (text: string) => parseTagExpression(text, { maxTagsMixed: 50, maxTagsOrOnly: 50 }).ast;
  assert.deepEqual(anchorTags(ast('news && lang_fr'), cost), ['lang_fr']);
  assert.deepEqual(anchorTags(ast('news && (a || b)'), cost), ['a', 'b']);
  assert.deepEqual(anchorTags(ast('news && (a || b)')), ['news'], 'without a cost: the fewest tags');
  assert.equal(anchorTags(ast('!news && !a'), cost), undefined);
});

test('assumeTags: what is left of an expression once some tags are known agrees with it on every set that fits (random check, #13)', () => {
  const tags = ['a', 'b', 'c', 'd'];
  const { rnd, gen } = randomExpressions(11, tags);
  for (let i = 0; i < 300; i++) {
    const { ast } = parseTagExpression(gen(3), { maxTagsMixed: 50, maxTagsOrOnly: 50 });
    const known = new Map(tags.filter(() => rnd() < 0.5).map((t) => [t, rnd() < 0.5] as const));
    const rest = assumeTags(ast, known);
    for (let mask = 0; mask < 16; mask++) {
      const set = new Set(tags.filter((_, k) => mask & (1 << k)));
      if ([...known].some(([t, v]) => set.has(t) !== v)) continue;
      assert.equal(typeof rest === 'boolean' ? rest : evaluate(rest, set), evaluate(ast, set), `${formatTagExpression(ast)} with ${[...known]}`);
    }
  }
});

test('assumeTags simplifies: an OR of anchors needs no probe once one is known there', () => {
  const ast = (text: string) => parseTagExpression(text).ast;
  assert.equal(assumeTags(ast('sports || lang_fr'), new Map([['lang_fr', true]])), true);
  assert.deepEqual(assumeTags(ast('news && lang_fr'), new Map([['lang_fr', true]])), ast('news'));
  assert.equal(assumeTags(ast('a && !b'), new Map([['b', true]])), false);
  assert.deepEqual(assumeTags(ast('(a || b) && !c'), new Map([['a', false]])), ast('b && !c'));
});
