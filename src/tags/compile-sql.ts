import type { TagExpression } from './ast.ts';

/**
 * A tag filter a SQL store can push down into its registration scan (design: "Plan", the compiled tag filter
 * is pushed down into the store's query). Placeholders are `?` (SQLite); see {@link toPostgresPlaceholders}.
 * Tags only ever travel as parameters, never inside the SQL text.
 */
export interface SqlPredicate {
  readonly sql: string;
  readonly params: readonly string[];
}

/** Where the tags live. Names are spliced into SQL, so they must be plain identifiers (checked). */
export interface SqlTagSchema {
  /** Table of (registration id, tag) rows. Default `registration_tags`. */
  readonly tagTable: string;
  /** Column of the tag table holding the registration id. Default `registration_id`. */
  readonly registrationIdColumn: string;
  /** Column of the tag table holding the tag. Default `tag`. */
  readonly tagColumn: string;
  /** The outer query's registration key. Default `r.id`. */
  readonly outerIdColumn: string;
  /**
   * Optional scope shared by the tag row and the outer row (a hub), given together with
   * `outerScopeColumn`: the probe then also requires `t.<scopeColumn> = <outerScopeColumn>`. A store whose
   * tag table is keyed (scope, tag, registration id) needs it to make each probe one primary-key lookup.
   * A column of the tag table, like `registrationIdColumn`.
   */
  readonly scopeColumn?: string;
  /** The outer query's scope column, e.g. `r.hub_key`. */
  readonly outerScopeColumn?: string;
}

export const DEFAULT_SQL_TAG_SCHEMA: SqlTagSchema = Object.freeze({
  tagTable: 'registration_tags',
  registrationIdColumn: 'registration_id',
  tagColumn: 'tag',
  outerIdColumn: 'r.id',
});

export interface SqlTagOptions {
  /**
   * Another condition that also makes the outer row carry `tag`, ORed with its tag-row probe: for tags a
   * store answers from other columns instead of storing rows for them (an installation's system tags).
   * Undefined for a tag that has only its rows.
   */
  readonly alsoMatches?: (tag: string) => SqlPredicate | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/**
 * Compiles an expression into a boolean SQL condition over the outer registration row:
 * a tag becomes `EXISTS (SELECT 1 FROM registration_tags t WHERE t.registration_id = r.id AND t.tag = ?)`
 * (with a scope: `t.hub_key = r.hub_key AND t.tag = ? AND t.seq = r.seq`),
 * and `!`, `&&`, `||` become NOT, AND, OR. EXISTS is never NULL, so NOT needs no three-valued-logic care.
 * The plain-tag operands of one `||` share a single `t.tag IN (?, …)` probe, which turns the common OR-only
 * expression (§12.2 allows 20 tags) into one index lookup per tag instead of 20 subqueries.
 */
export function compileTagExpressionToSql(ast: TagExpression, schema: Partial<SqlTagSchema> = {}, options: SqlTagOptions = {}): SqlPredicate {
  const s: SqlTagSchema = { ...DEFAULT_SQL_TAG_SCHEMA, ...schema };
  for (const [key, value] of Object.entries(s)) {
    // Developer configuration, not user input: a bad name is a programming error.
    if (value === undefined) continue;
    if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
      throw new Error(`compileTagExpressionToSql: ${key} '${String(value)}' is not a plain SQL identifier`);
    }
  }
  // Half a scope would silently match tag rows of every scope: refuse it.
  if ((s.scopeColumn === undefined) !== (s.outerScopeColumn === undefined)) {
    throw new Error('compileTagExpressionToSql: scopeColumn and outerScopeColumn go together');
  }
  // With a scope the conditions are written in the order of a (scope, tag, id) key, which is how they read
  // in a query plan; SQLite itself matches terms to an index in any order.
  const where = (test: string): string =>
    s.scopeColumn === undefined
      ? `t.${s.registrationIdColumn} = ${s.outerIdColumn} AND t.${s.tagColumn} ${test}`
      : `t.${s.scopeColumn} = ${s.outerScopeColumn} AND t.${s.tagColumn} ${test} AND t.${s.registrationIdColumn} = ${s.outerIdColumn}`;
  const params: string[] = [];
  const probe = (tags: readonly string[]): string => {
    params.push(...tags);
    const test = tags.length === 1 ? `= ?` : `IN (${tags.map(() => '?').join(', ')})`;
    const rows = `EXISTS (SELECT 1 FROM ${s.tagTable} t WHERE ${where(test)})`;
    const others = tags.flatMap((tag) => options.alsoMatches?.(tag) ?? []);
    if (others.length === 0) return rows;
    for (const o of others) params.push(...o.params);
    return `(${[rows, ...others.map((o) => o.sql)].join(' OR ')})`;
  };
  const compile = (node: TagExpression): string => {
    switch (node.kind) {
      case 'tag':
        return probe([node.tag]);
      case 'not':
        return `NOT ${compile(node.operand)}`;
      case 'and':
        return `(${node.operands.map(compile).join(' AND ')})`;
      case 'or': {
        // The probe sits where the first plain tag sits, and is compiled there, so placeholders and params
        // stay in text order.
        const plain = [...new Set(node.operands.flatMap((o) => (o.kind === 'tag' ? [o.tag] : [])))];
        const parts: string[] = [];
        let probed = false;
        for (const o of node.operands) {
          if (o.kind !== 'tag') parts.push(compile(o));
          else if (!probed) {
            parts.push(probe(plain));
            probed = true;
          }
        }
        return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
      }
    }
  };
  return { sql: compile(ast), params };
}

/**
 * Rewrites `?` placeholders as `$1..$n` for PostgreSQL, starting at `startAt` so a predicate can be embedded
 * in a query that already has parameters. `?` inside quoted strings or identifiers is left alone.
 */
export function toPostgresPlaceholders(sql: string, startAt = 1): string {
  let out = '';
  let n = startAt;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined; // a doubled quote re-enters the string on the next char
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${n++}`;
    } else {
      out += ch;
    }
  }
  return out;
}
