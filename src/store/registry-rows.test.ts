import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorTags, evaluate, formatTagExpression, parseTagExpression } from '../tags/index.ts';
import { tagOnlyCount, tagRowCountParts } from './registry-rows.ts';
import { randomExpressions } from '../tags/random-expressions.ts';

test('tagRowCountParts: every set an expression selects is counted exactly once, on the first anchor it carries (random check, #13)', () => {
  const tags = ['a', 'b', 'c', 'd', 'e'];
  const { rnd, gen } = randomExpressions(5, tags);
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const { ast } = parseTagExpression(gen(3), { maxTagsMixed: 50, maxTagsOrOnly: 50 });
    const anchors = anchorTags(ast);
    if (!anchors) continue;
    checked++;
    const parts = tagRowCountParts(ast, rnd() < 0.5 ? anchors : [...anchors].reverse());
    for (let mask = 0; mask < 32; mask++) {
      const set = new Set(tags.filter((_, k) => mask & (1 << k)));
      // The rows a part reads are its anchor's; a set is counted by each part whose anchor it has and whose condition it passes.
      const counted = parts.filter((p) => set.has(p.anchor) && (!p.condition || evaluate(p.condition, set))).length;
      assert.equal(counted, evaluate(ast, set) ? 1 : 0, `${formatTagExpression(ast)} on {${[...set]}}: counted ${counted} times`);
    }
  }
  assert.ok(checked > 100);
});

test('tagRowCountParts: an OR of plain tags probes only for the anchors before; an AND probes its other operand', () => {
  const ast = (text: string) => parseTagExpression(text).ast;
  assert.deepEqual(tagRowCountParts(ast('sports || lang_fr'), ['sports', 'lang_fr']), [{ anchor: 'sports' }, { anchor: 'lang_fr', condition: ast('!sports') }]);
  assert.deepEqual(tagRowCountParts(ast('news && lang_fr'), ['lang_fr']), [{ anchor: 'lang_fr', condition: ast('news') }]);
});

test('tagOnlyCount: a platform filter still counts from tag rows; any other filter or a system tag does not', () => {
  const expression = parseTagExpression('a || b').ast;
  assert.deepEqual(tagOnlyCount({ tagExpression: expression, platform: 'fcmv1', liveAt: 5 }), { expression, platform: 'fcmv1' });
  assert.deepEqual(tagOnlyCount({ tagExpression: expression }), { expression });
  assert.equal(tagOnlyCount({ tagExpression: expression, installationId: 'i' }), undefined);
  assert.equal(tagOnlyCount({ tagExpression: parseTagExpression('a || $UserId:{u}').ast, platform: 'apns' }), undefined);
  assert.equal(tagOnlyCount({ platform: 'apns' }), undefined);
});
