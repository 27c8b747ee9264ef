import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate } from '../store/sqlite/migrate.ts';
import {
  compileTagExpressionToSql,
  evaluate,
  formatTagExpression,
  parseTagExpression,
  toPostgresPlaceholders,
  type TagExpression,
} from './index.ts';

const probe = (test: string) => `EXISTS (SELECT 1 FROM registration_tags t WHERE t.registration_id = r.id AND t.tag ${test})`;

test('a tag compiles to an EXISTS probe with a ? parameter', () => {
  assert.deepEqual(compileTagExpressionToSql(parseTagExpression('a').ast), { sql: probe('= ?'), params: ['a'] });
});

test('!, && and || compose with NOT, AND and OR', () => {
  const { sql, params } = compileTagExpressionToSql(parseTagExpression('!a && (b || c && d)').ast);
  assert.equal(sql, `(NOT ${probe('= ?')} AND (${probe('= ?')} OR (${probe('= ?')} AND ${probe('= ?')})))`);
  assert.deepEqual(params, ['a', 'b', 'c', 'd']);
});

test('the plain tags of one || share a single IN probe; parameters stay in text order', () => {
  const orOnly = compileTagExpressionToSql(parseTagExpression('a || b || c').ast);
  assert.deepEqual(orOnly, { sql: probe('IN (?, ?, ?)'), params: ['a', 'b', 'c'] });
  const mixed = compileTagExpressionToSql(parseTagExpression('(x && y) || a || (z && w) || b').ast);
  assert.equal(mixed.sql, `((${probe('= ?')} AND ${probe('= ?')}) OR ${probe('IN (?, ?)')} OR (${probe('= ?')} AND ${probe('= ?')}))`);
  assert.deepEqual(mixed.params, ['x', 'y', 'a', 'b', 'z', 'w']);
  assert.deepEqual(compileTagExpressionToSql(parseTagExpression('a || a').ast), { sql: probe('= ?'), params: ['a'] });
});

test('tags only travel as parameters, never in the SQL text', () => {
  const { sql, params } = compileTagExpressionToSql(parseTagExpression("$UserId:{x' OR 1=1 --}").ast);
  assert.equal(sql, probe('= ?'));
  assert.deepEqual(params, ["$UserId:{x' OR 1=1 --}"]);
});

test('table and column names can be changed but must be identifiers', () => {
  const { sql } = compileTagExpressionToSql(parseTagExpression('a').ast,
    { tagTable: 'installation_tags', registrationIdColumn: 'installation_id', outerIdColumn: 'i.pk' });
  assert.equal(sql, 'EXISTS (SELECT 1 FROM installation_tags t WHERE t.installation_id = i.pk AND t.tag = ?)');
  assert.throws(() => compileTagExpressionToSql(parseTagExpression('a').ast, { tagTable: 'x; DROP TABLE y' }));
});

// The SQLite store's tag table is keyed (hub_key, tag, seq), so its probes carry the hub.
const SCOPED = { tagTable: 'registration_tags', registrationIdColumn: 'seq', outerIdColumn: 'r.seq', scopeColumn: 'hub_key', outerScopeColumn: 'r.hub_key' };
const scopedProbe = (test: string) => `EXISTS (SELECT 1 FROM registration_tags t WHERE t.hub_key = r.hub_key AND t.tag ${test} AND t.seq = r.seq)`;

test('a scope adds its condition to every probe, in the order of a (scope, tag, id) key', () => {
  assert.deepEqual(compileTagExpressionToSql(parseTagExpression('a').ast, SCOPED), { sql: scopedProbe('= ?'), params: ['a'] });
  const { sql, params } = compileTagExpressionToSql(parseTagExpression('!a && (b || c)').ast, SCOPED);
  assert.equal(sql, `(NOT ${scopedProbe('= ?')} AND ${scopedProbe('IN (?, ?)')})`);
  assert.deepEqual(params, ['a', 'b', 'c']);
});

test('scope columns must be identifiers and must be given together', () => {
  const a = parseTagExpression('a').ast;
  assert.throws(() => compileTagExpressionToSql(a, { ...SCOPED, scopeColumn: 'hub_key = 1 OR 1' }), /scopeColumn/);
  assert.throws(() => compileTagExpressionToSql(a, { ...SCOPED, outerScopeColumn: 'r.hub_key)' }), /outerScopeColumn/);
  assert.throws(() => compileTagExpressionToSql(a, { scopeColumn: 'hub_key' }), /go together/);
  assert.throws(() => compileTagExpressionToSql(a, { outerScopeColumn: 'r.hub_key' }), /go together/);
});

test("on the SQLite store's schema each probe is one primary-key lookup", () => {
  const db = new Database(':memory:');
  try {
    migrate(db);
    const { sql, params } = compileTagExpressionToSql(parseTagExpression('a && !(b || c)').ast, SCOPED);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT r.seq FROM registrations r WHERE r.hub_key = ? AND ${sql}`)
      .all('h', ...params) as { detail: string }[]).map((row) => row.detail);
    const probes = plan.filter((d) => / t /.test(`${d} `));
    assert.equal(probes.length, 2, plan.join('\n'));
    for (const d of probes) assert.match(d, /^SEARCH t (EXISTS )?USING PRIMARY KEY \(hub_key=\? AND tag=\? AND seq=\?\)$/, plan.join('\n'));
    assert.ok(!plan.some((d) => d.startsWith('SCAN')), plan.join('\n'));
  } finally {
    db.close();
  }
});

test('toPostgresPlaceholders numbers ? as $1..$n, from an offset, outside quotes', () => {
  const { sql } = compileTagExpressionToSql(parseTagExpression('a && (b || c)').ast);
  assert.equal(toPostgresPlaceholders(sql), `(${probe('= $1')} AND ${probe('IN ($2, $3)')})`);
  assert.equal(toPostgresPlaceholders('a = ? AND b = ?', 3), 'a = $3 AND b = $4');
  assert.equal(toPostgresPlaceholders(`x = '?' AND "a?b" = ? AND y = 'it''s ?' AND z = ?`),
    `x = '?' AND "a?b" = $1 AND y = 'it''s ?' AND z = $2`);
});

// A small property test: on random expressions over random registrations, SQLite running the compiled
// predicate selects exactly the registrations the evaluator matches.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNIVERSE = ['a', 'b', 'c', 'd', 'e', 'News', 'news', '$UserId:{bob smith}', '$InstallationId:{i-1}'];

function randomExpression(rand: () => number, depth: number): TagExpression {
  const pick = (): string => UNIVERSE[Math.floor(rand() * UNIVERSE.length)]!;
  const r = rand();
  if (depth === 0 || r < 0.3) return { kind: 'tag', tag: pick() };
  if (r < 0.45) return { kind: 'not', operand: randomExpression(rand, depth - 1) };
  const operands = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => randomExpression(rand, depth - 1));
  return { kind: r < 0.72 ? 'and' : 'or', operands };
}

function propertyTest(scoped: boolean): void {
  const rand = mulberry32(20240611);
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE TABLE registrations (id INTEGER PRIMARY KEY, hub TEXT NOT NULL DEFAULT 'h');
      CREATE TABLE registration_tags (registration_id INTEGER NOT NULL, hub TEXT NOT NULL DEFAULT 'h', tag TEXT NOT NULL,
        PRIMARY KEY (hub, tag, registration_id)) WITHOUT ROWID;`);
    const tagSets = new Map<number, Set<string>>();
    const addRegistration = db.prepare('INSERT INTO registrations (id) VALUES (?)');
    const addTag = db.prepare('INSERT INTO registration_tags (registration_id, hub, tag) VALUES (?, ?, ?)');
    for (let id = 1; id <= 60; id++) {
      const tags = new Set(UNIVERSE.filter(() => rand() < 0.4));
      tagSets.set(id, tags);
      addRegistration.run(id);
      for (const tag of tags) addTag.run(id, 'h', tag);
      // With a scope, another hub's tag rows under the same ids (the complement) must not be seen.
      if (scoped) for (const tag of UNIVERSE.filter((t) => !tags.has(t))) addTag.run(id, 'other', tag);
    }
    const schema = scoped ? { scopeColumn: 'hub', outerScopeColumn: 'r.hub' } : {};
    let nonTrivial = 0;
    for (let i = 0; i < 400; i++) {
      const ast = randomExpression(rand, 4);
      // Going through the text also checks that formatting and parsing agree with the generated tree.
      const parsed = parseTagExpression(formatTagExpression(ast), { maxTagsMixed: 1000, maxTagsOrOnly: 1000 }).ast;
      assert.deepEqual(parsed, ast);
      const { sql, params } = compileTagExpressionToSql(parsed, schema);
      const fromSql = (db.prepare(`SELECT r.id FROM registrations r WHERE ${sql} ORDER BY r.id`).all(...params) as { id: number }[])
        .map((row) => row.id);
      const fromEvaluator = [...tagSets].filter(([, tags]) => evaluate(parsed, tags)).map(([id]) => id);
      assert.deepEqual(fromSql, fromEvaluator, formatTagExpression(parsed));
      if (fromSql.length > 0 && fromSql.length < tagSets.size) nonTrivial++;
    }
    assert.ok(nonTrivial > 100, `only ${nonTrivial} expressions split the registrations`);
  } finally {
    db.close();
  }
}

test('property: SQLite and the evaluator select the same registrations', () => propertyTest(false));
test('property: with a scope, too, and tag rows of another scope are not seen', () => propertyTest(true));

test('alsoMatches ORs another condition into the probe of the tags it knows, params in text order', () => {
  const alsoMatches = (tag: string) => (tag.startsWith('$') ? { sql: 'r.x IS ?', params: [`x:${tag}`] } : undefined);
  const one = compileTagExpressionToSql(parseTagExpression('$UserId:{u}').ast, {}, { alsoMatches });
  assert.deepEqual(one, { sql: `(${probe('= ?')} OR r.x IS ?)`, params: ['$UserId:{u}', 'x:$UserId:{u}'] });
  const mixed = compileTagExpressionToSql(parseTagExpression('a || $UserId:{u} || $InstallationId:{i} && !b').ast, {}, { alsoMatches });
  assert.equal(mixed.sql, `((${probe('IN (?, ?)')} OR r.x IS ?) OR ((${probe('= ?')} OR r.x IS ?) AND NOT ${probe('= ?')}))`);
  assert.deepEqual(mixed.params, ['a', '$UserId:{u}', 'x:$UserId:{u}', '$InstallationId:{i}', 'x:$InstallationId:{i}', 'b']);
  assert.deepEqual(compileTagExpressionToSql(parseTagExpression('a').ast, {}, { alsoMatches }), { sql: probe('= ?'), params: ['a'] });
});
