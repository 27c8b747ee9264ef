/**
 * Anchor tags: a set of tags such that every registration an expression selects carries at least one of
 * them. A store uses them to start from its tag index (the few registrations with those tags) instead of
 * testing the expression on every registration of the hub; the expression itself is still applied.
 * A targeted send to one user among millions reads that user's rows, not the hub's.
 */
import type { TagExpression } from './ast.ts';

/**
 * The anchors, or undefined when the expression can select a registration with none of its tags (`!a`).
 * `cost`, when given, says how many index rows a set of anchors reads (a store's estimate); an `&&` then
 * starts from its cheapest operand, not the one with the fewest tags (`news && lang_fr` reads the rarer tag).
 */
export function anchorTags(ast: TagExpression, cost?: (tags: readonly string[]) => number): string[] | undefined {
  switch (ast.kind) {
    case 'tag':
      return [ast.tag];
    case 'not':
      return undefined;
    case 'and': {
      // Any operand's anchors will do; the smallest set reads the fewest index rows.
      let best: string[] | undefined;
      let bestCost = Infinity;
      for (const o of ast.operands) {
        const a = anchorTags(o, cost);
        if (!a) continue;
        const c = cost ? cost(a) : a.length;
        if (c < bestCost) (best = a), (bestCost = c);
      }
      return best;
    }
    case 'or': {
      const all = new Set<string>();
      for (const o of ast.operands) {
        const a = anchorTags(o, cost);
        if (!a) return undefined;
        for (const t of a) all.add(t);
      }
      return [...all];
    }
  }
}

/**
 * The expression with the tags in `known` replaced by their truth value and simplified: what is left to
 * test once those are known (`true` or `false` when nothing is). A count that walks one anchor's rows
 * knows that anchor is there, and that the anchors walked before it are not; `sports || lang_fr` then
 * needs no probe at all, and `news && lang_fr` read from `lang_fr` only the probe of `news`.
 */
export function assumeTags(ast: TagExpression, known: ReadonlyMap<string, boolean>): TagExpression | boolean {
  switch (ast.kind) {
    case 'tag':
      return known.get(ast.tag) ?? ast;
    case 'not': {
      const o = assumeTags(ast.operand, known);
      return typeof o === 'boolean' ? !o : { kind: 'not', operand: o };
    }
    case 'and':
    case 'or': {
      // `and` is decided by a false operand, `or` by a true one; the other value drops out.
      const decisive = ast.kind === 'or';
      const rest: TagExpression[] = [];
      for (const operand of ast.operands) {
        const o = assumeTags(operand, known);
        if (o === decisive) return decisive;
        if (typeof o !== 'boolean') rest.push(o);
      }
      if (rest.length === 0) return !decisive;
      return rest.length === 1 ? rest[0]! : { kind: ast.kind, operands: rest };
    }
  }
}
