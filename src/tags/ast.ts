/**
 * A parsed tag expression (§12.2). `and` / `or` are n-ary (at least two operands): a chain `a && b && c`
 * becomes one node, which keeps evaluation and the SQL shallow. Tags are canonical (see tag.ts).
 */
export type TagExpression =
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'not'; readonly operand: TagExpression }
  | { readonly kind: 'and'; readonly operands: readonly TagExpression[] }
  | { readonly kind: 'or'; readonly operands: readonly TagExpression[] };

/**
 * Prints an expression in the §12.2 syntax with the fewest parentheses that parse back to the same tree,
 * for logs, the admin UI and round-trip tests. Nested same-kind nodes keep their parentheses, so
 * `parse(format(ast))` equals `ast` for every tree the parser produces.
 */
export function formatTagExpression(ast: TagExpression): string {
  switch (ast.kind) {
    case 'tag':
      return ast.tag;
    case 'not':
      return ast.operand.kind === 'tag' || ast.operand.kind === 'not'
        ? `!${formatTagExpression(ast.operand)}`
        : `!(${formatTagExpression(ast.operand)})`;
    case 'and':
      return ast.operands
        .map((o) => (o.kind === 'and' || o.kind === 'or' ? `(${formatTagExpression(o)})` : formatTagExpression(o)))
        .join(' && ');
    case 'or':
      return ast.operands
        .map((o) => (o.kind === 'or' ? `(${formatTagExpression(o)})` : formatTagExpression(o)))
        .join(' || ');
  }
}
