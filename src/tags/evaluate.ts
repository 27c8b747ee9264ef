import type { TagExpression } from './ast.ts';

/**
 * Whether a registration with `tagSet` matches (§12.2 semantics: tags are opaque strings matched by presence,
 * exactly and case-sensitively). Which tags make up the set (installation tags, template tags, template name,
 * system tags) is the caller's business.
 */
export function evaluate(ast: TagExpression, tagSet: ReadonlySet<string>): boolean {
  switch (ast.kind) {
    case 'tag':
      return tagSet.has(ast.tag);
    case 'not':
      return !evaluate(ast.operand, tagSet);
    case 'and':
      for (const o of ast.operands) if (!evaluate(o, tagSet)) return false;
      return true;
    case 'or':
      for (const o of ast.operands) if (evaluate(o, tagSet)) return true;
      return false;
  }
}
