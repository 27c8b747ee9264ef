import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMap } from './bounded-map.ts';

test('100,000 distinct keys: the map never holds more than its cap, and keeps the most recent', () => {
  const m = new BoundedMap<number>({ maxEntries: 1000 });
  for (let i = 0; i < 100_000; i++) {
    m.set(`k${i}`, i);
    assert.ok(m.size <= 1000);
  }
  assert.equal(m.size, 1000);
  assert.equal(m.get('k99999'), 99_999);
  assert.equal(m.get('k0'), undefined);
});

test('eviction is least recently used: an entry read stays, the one read longest ago goes', () => {
  const m = new BoundedMap<string>({ maxEntries: 3 });
  m.set('a', 'A').set('b', 'B').set('c', 'C');
  assert.equal(m.get('a'), 'A');
  m.set('d', 'D');
  assert.equal(m.has('b'), false);
  assert.deepEqual(['a', 'c', 'd'].map((k) => m.has(k)), [true, true, true]);
});

test('a weight budget bounds the total; an entry heavier than the budget is not kept', () => {
  const m = new BoundedMap<string>({ maxEntries: 1000, maxWeight: 10_000, weigh: (v) => v.length });
  for (let i = 0; i < 10_000; i++) {
    m.set(`k${i}`, 'x'.repeat(i % 3000));
    assert.ok(m.totalWeight <= 10_000);
  }
  m.set('huge', 'x'.repeat(20_000));
  assert.equal(m.has('huge'), false);
  m.clear();
  assert.equal(m.totalWeight, 0);
  assert.equal(m.size, 0);
});

test('replacing and deleting keep the weight exact', () => {
  const m = new BoundedMap<string>({ maxEntries: 10, maxWeight: 100, weigh: (v) => v.length });
  m.set('a', 'xxxx');
  m.set('a', 'xx');
  assert.equal(m.totalWeight, 2);
  assert.equal(m.delete('a'), true);
  assert.equal(m.delete('a'), false);
  assert.equal(m.totalWeight, 0);
});
