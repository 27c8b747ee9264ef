import { HubError } from '../shared/errors.ts';
import type { TagExpression } from './ast.ts';
import { describeToken, syntaxError, tokenize, type Token } from './lexer.ts';

/**
 * Bounds on a tag expression. The tag counts are the Azure limits (§12.2, §14) and a hub setting may raise
 * them; length and depth exist so that a hostile header cannot cost much (design: every parser at the edge
 * has limits on size and depth).
 */
export interface TagExpressionLimits {
  /** Tags allowed when the only operator is `||` (§12.2: 20). */
  readonly maxTagsOrOnly: number;
  /** Tags allowed when `&&` or `!` appears (§12.2: 6). */
  readonly maxTagsMixed: number;
  /** Characters in the expression text. */
  readonly maxLength: number;
  /** Nesting of `(` and `!`. */
  readonly maxDepth: number;
}

export const DEFAULT_TAG_EXPRESSION_LIMITS: TagExpressionLimits = Object.freeze({
  maxTagsOrOnly: 20,
  maxTagsMixed: 6,
  maxLength: 4096,
  maxDepth: 64,
});

export interface ParsedTagExpression {
  readonly ast: TagExpression;
  /** Distinct tags in order of first appearance (a store can use them to narrow its scan). */
  readonly tags: readonly string[];
  /** True when the expression uses no operator other than `||` (a single tag counts as OR-only). */
  readonly orOnly: boolean;
}

/**
 * Parses the `ServiceBusNotification-Tags` value (§7.1, §12.2) and enforces the limits. An absent header means
 * broadcast; that decision belongs to the caller, so an empty string here is a syntax error.
 *
 * The tag limit counts tag occurrences, not distinct tags: `a || a` uses two. UNCONFIRMED how Azure counts;
 * counting occurrences is the stricter reading and also bounds the size of the compiled SQL.
 */
export function parseTagExpression(text: unknown, limits: Partial<TagExpressionLimits> = {}): ParsedTagExpression {
  const l: TagExpressionLimits = { ...DEFAULT_TAG_EXPRESSION_LIMITS, ...limits };
  if (typeof text !== 'string') {
    throw new HubError('invalid_request', 'Tag expression must be a string.', { reason: 'tag_expression_not_string' });
  }
  if (text.length > l.maxLength) {
    throw new HubError('invalid_request',
      `Tag expression is ${text.length} characters long; at most ${l.maxLength} are allowed.`,
      { reason: 'tag_expression_too_long', length: text.length, limit: l.maxLength });
  }
  const parser = new Parser(tokenize(text), l.maxDepth);
  const ast = parser.parseExpression();
  const stats = { occurrences: 0, orOnly: true, tags: new Set<string>() };
  collect(ast, stats);
  const limit = stats.orOnly ? l.maxTagsOrOnly : l.maxTagsMixed;
  if (stats.occurrences > limit) {
    const rule = stats.orOnly ? "when it uses only '||'" : "when it uses '&&' or '!'";
    throw new HubError('invalid_request',
      `Tag expression uses ${stats.occurrences} tags; at most ${limit} are allowed ${rule}.`,
      { reason: 'tag_expression_too_many_tags', count: stats.occurrences, limit, orOnly: stats.orOnly });
  }
  return { ast, tags: [...stats.tags], orOnly: stats.orOnly };
}

function collect(ast: TagExpression, stats: { occurrences: number; orOnly: boolean; tags: Set<string> }): void {
  switch (ast.kind) {
    case 'tag':
      stats.occurrences++;
      stats.tags.add(ast.tag);
      return;
    case 'not':
      stats.orOnly = false;
      collect(ast.operand, stats);
      return;
    case 'and':
      stats.orOnly = false;
      for (const o of ast.operands) collect(o, stats);
      return;
    case 'or':
      for (const o of ast.operands) collect(o, stats);
  }
}

/** Recursive descent over §12.2: or := and ("||" and)*, and := unary ("&&" unary)*, unary := "!" unary | "(" or ")" | TAG. */
class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[], private readonly maxDepth: number) {}

  parseExpression(): TagExpression {
    const ast = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'end') {
      const hint = next.kind === 'rparen' ? " (this ')' has no matching '(')" : '';
      throw this.unexpected(next, `'&&', '||' or end of expression`, hint);
    }
    return ast;
  }

  private parseOr(): TagExpression {
    const operands = [this.parseAnd()];
    while (this.peek().kind === 'or') {
      this.index++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(): TagExpression {
    const operands = [this.parseUnary()];
    while (this.peek().kind === 'and') {
      this.index++;
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parseUnary(): TagExpression {
    const token = this.peek();
    switch (token.kind) {
      case 'tag':
        this.index++;
        return { kind: 'tag', tag: token.tag };
      case 'not': {
        this.index++;
        this.enter(token);
        const operand = this.parseUnary();
        this.depth--;
        return { kind: 'not', operand };
      }
      case 'lparen': {
        this.index++;
        this.enter(token);
        const inner = this.parseOr();
        const close = this.peek();
        if (close.kind !== 'rparen') {
          throw this.unexpected(close, close.kind === 'end' ? `')' to close the '(' at position ${token.position}` : `'&&', '||' or ')'`);
        }
        this.index++;
        this.depth--;
        return inner;
      }
      default:
        throw this.unexpected(token, `a tag, '!' or '('`);
    }
  }

  private enter(token: Token): void {
    this.depth++;
    if (this.depth > this.maxDepth) {
      throw new HubError('invalid_request',
        `Tag expression error at position ${token.position}: nesting deeper than ${this.maxDepth} levels of '(' and '!'.`,
        { reason: 'tag_expression_too_deep', position: token.position, limit: this.maxDepth });
    }
  }

  private peek(): Token {
    // The token list always ends with an 'end' token and the parser never moves past it.
    return this.tokens[this.index]!;
  }

  private unexpected(token: Token, expected: string, hint = ''): HubError {
    const found = describeToken(token);
    return syntaxError(token.position, `expected ${expected} but found ${found}${hint}`, { expected, found });
  }
}
