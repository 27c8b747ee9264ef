import { HubError } from '../shared/errors.ts';

/** §13.2 [NET]: property names match `^[A-Za-z0-9_]+$` and have at most 120 characters. */
export const MAX_PROPERTY_NAME_LENGTH = 120;
/** `n` in `$(p, n)` / `.(p, n)`: the .NET validator parses it as an Int32. */
export const MAX_TRUNCATION_LENGTH = 2_147_483_647;

export interface PropertyReference {
  /** As written in the template. */
  readonly name: string;
  /** ASCII-lower-cased name: property names are case-insensitive (§13.2). */
  readonly folded: string;
  /** `$(p:{default})`, used when the property is missing (§13.2, UNCONFIRMED server support). */
  readonly defaultValue: string | undefined;
}

export type ExpressionTerm =
  | { readonly kind: 'literal'; readonly text: string }
  /** `$(p)` and `$(p, n)`. */
  | { readonly kind: 'value'; readonly property: PropertyReference; readonly maxLength: number | undefined }
  /** `.(p, n)`: truncated with a `...` suffix. */
  | { readonly kind: 'ellipsis'; readonly property: PropertyReference; readonly maxLength: number }
  /** `%(p)`: URI-encoded. */
  | { readonly kind: 'uri'; readonly property: PropertyReference }
  /** `#(p)`: a bare JSON number when the value is numeric. */
  | { readonly kind: 'number'; readonly property: PropertyReference };

/** One parsed value: a literal, a single form, or a `{… + …}` concatenation (§13.2). */
export interface TemplateExpression {
  readonly source: string;
  readonly terms: readonly ExpressionTerm[];
  /** The whole value is `#(p)`; only then may JSON output drop the quotes. */
  readonly numeric: boolean;
  /** No property is referenced, so the value can be computed once at compile time. */
  readonly constant: boolean;
}

export interface ParseExpressionOptions {
  /** `#(p)` is for JSON templates only (§13.2); XML templates refuse it. Default true. */
  readonly allowNumeric?: boolean;
}

/** §13.1: a value that does not begin with `$`, `.`, `%`, `#` or `{` is a literal. */
export function isExpressionStart(value: string): boolean {
  const c = value.charAt(0);
  return c === '$' || c === '.' || c === '%' || c === '#' || c === '{';
}

export function asciiLowerCase(text: string): string {
  // Not toLowerCase(): it folds e.g. the Kelvin sign U+212A to 'k', which would let a non-ASCII send property
  // satisfy an ASCII property name.
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Parses one template value (a JSON string value, an XML attribute or leaf text, a header value). */
export function parseTemplateExpression(source: string, options: ParseExpressionOptions = {}): TemplateExpression {
  if (!isExpressionStart(source)) {
    return { source, terms: [{ kind: 'literal', text: source }], numeric: false, constant: true };
  }
  const parser = new ExpressionParser(source, options.allowNumeric ?? true);
  const terms = parser.parse();
  return {
    source,
    terms,
    numeric: terms.length === 1 && terms[0]!.kind === 'number',
    constant: terms.every((t) => t.kind === 'literal'),
  };
}

/** How far past its start an expression inside raw text may reach: bounds the work of a start that does not parse. */
const MAX_INLINE_EXPRESSION = 4096;

/**
 * One `$(…)`, `.(…)`, `%(…)` or `#(…)` starting at `start` inside opaque text (a raw template body), with
 * where it ends; undefined when none parses there (the text is then just text).
 */
export function parseInlineExpression(text: string, start: number): { expression: TemplateExpression; end: number } | undefined {
  const c = text.charAt(start);
  if ((c !== '$' && c !== '.' && c !== '%' && c !== '#') || text.charAt(start + 1) !== '(') return undefined;
  const window = text.slice(start, start + MAX_INLINE_EXPRESSION);
  const parser = new ExpressionParser(window, true);
  try {
    const term = parser.inlineTerm();
    const source = window.slice(0, parser.position);
    return { expression: { source, terms: [term], numeric: false, constant: false }, end: start + parser.position };
  } catch (err) {
    if (err instanceof HubError) return undefined;
    throw err;
  }
}

function expressionError(source: string, position: number, reason: string, message: string): HubError {
  const shown = source.length <= 80 ? source : `${source.slice(0, 80)}…`;
  return new HubError('invalid_request', `Invalid template expression '${shown}' at position ${position}: ${message}.`,
    { reason, expression: shown, position });
}

const NAME_CHAR = /[A-Za-z0-9_]/;

class ExpressionParser {
  private pos = 0;

  constructor(private readonly src: string, private readonly allowNumeric: boolean) {}

  get position(): number {
    return this.pos;
  }

  /** One form at the start of the text, which may go on after it. */
  inlineTerm(): ExpressionTerm {
    return this.term(false);
  }

  parse(): ExpressionTerm[] {
    if (this.src.charAt(0) !== '{') {
      const term = this.term(false);
      if (this.pos < this.src.length) {
        const hint = this.src.charAt(this.pos) === '+' || /\s/.test(this.src.charAt(this.pos))
          ? " (wrap a concatenation in braces: {a + b})" : '';
        throw this.error(`expected end of expression but found ${this.found()}${hint}`);
      }
      return [term];
    }
    // §13.2: {e1 + e2 + …}; the whole value starts with '{' and ends with '}'.
    this.pos = 1;
    const terms: ExpressionTerm[] = [];
    for (;;) {
      this.skipSpace();
      terms.push(this.term(true));
      this.skipSpace();
      const c = this.src.charAt(this.pos);
      if (c === '+') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        if (this.pos < this.src.length) throw this.error(`expected end of expression after '}' but found ${this.found()}`);
        return terms;
      }
      throw this.error(`expected '+' or '}' but found ${this.found()}`);
    }
  }

  private term(inConcatenation: boolean): ExpressionTerm {
    const start = this.pos;
    const c = this.src.charAt(start);
    if (c === "'" || c === '"') {
      // Only reachable inside {…}: a value starting with a quote is not an expression start (§13.1).
      return { kind: 'literal', text: this.literal(c) };
    }
    if (c === '$' && asciiLowerCase(this.src.slice(start, start + 5)) === '$body') {
      // §13.2 [NET]: the .NET validator refuses $body in registrations.
      throw this.error('$body is not supported in templates', 'template_body_unsupported');
    }
    if (c === '#' && inConcatenation) {
      throw this.error("'#(…)' is not allowed inside {…}", 'template_numeric_in_concatenation');
    }
    if (c === '#' && !this.allowNumeric) {
      throw this.error("'#(…)' is only allowed in JSON templates", 'template_numeric_not_allowed');
    }
    if (c !== '$' && c !== '.' && c !== '%' && c !== '#') {
      throw this.error(`expected $(…), .(…), %(…) or a quoted literal but found ${this.found()}`);
    }
    this.pos++;
    if (this.src.charAt(this.pos) !== '(') throw this.error(`expected '(' after '${c}' but found ${this.found()}`);
    this.pos++;
    this.skipSpace();
    const property = this.property();
    this.skipSpace();
    let maxLength: number | undefined;
    if (this.src.charAt(this.pos) === ',') {
      if (c === '%' || c === '#') throw this.error(`'${c}(…)' takes no length`);
      this.pos++;
      this.skipSpace();
      maxLength = this.length();
      this.skipSpace();
    } else if (c === '.' && this.src.charAt(this.pos) === ')') {
      throw this.error("'.(…)' needs a length: .(property, n)");
    }
    if (this.src.charAt(this.pos) !== ')') {
      const expected = c === '.' ? "','" : c === '$' && maxLength === undefined ? "',' or ')'" : "')'";
      throw this.error(`expected ${expected} but found ${this.found()}`);
    }
    this.pos++;
    switch (c) {
      case '$':
        return { kind: 'value', property, maxLength };
      case '.':
        return { kind: 'ellipsis', property, maxLength: maxLength! };
      case '%':
        return { kind: 'uri', property };
      default:
        return { kind: 'number', property };
    }
  }

  private property(): PropertyReference {
    const start = this.pos;
    while (NAME_CHAR.test(this.src.charAt(this.pos))) this.pos++;
    const name = this.src.slice(start, this.pos);
    const next = this.src.charAt(this.pos);
    if (name.length === 0) {
      throw this.error(`expected a property name but found ${this.found()}`, 'template_property_name_invalid');
    }
    if (next !== '' && next !== ',' && next !== ')' && next !== ':' && !/\s/.test(next)) {
      throw this.error(`${this.found()} is not allowed in a property name; use letters, digits and '_'`,
        'template_property_name_invalid');
    }
    if (name.length > MAX_PROPERTY_NAME_LENGTH) {
      this.pos = start;
      throw this.error(`property name has ${name.length} characters; at most ${MAX_PROPERTY_NAME_LENGTH} are allowed`,
        'template_property_name_too_long');
    }
    this.skipSpace();
    let defaultValue: string | undefined;
    if (this.src.charAt(this.pos) === ':') {
      if (this.src.charAt(this.pos + 1) !== '{') {
        this.pos++;
        throw this.error(`expected '{' to start a default value but found ${this.found()}`);
      }
      defaultValue = this.defaultValue();
    }
    return { name, folded: asciiLowerCase(name), defaultValue };
  }

  /** `:{text}` where `\` escapes the next character (the .NET validator's rule for `}`). */
  private defaultValue(): string {
    const open = this.pos + 1;
    this.pos += 2;
    let text = '';
    while (this.pos < this.src.length) {
      const ch = this.src.charAt(this.pos);
      if (ch === '}') {
        this.pos++;
        return text;
      }
      if (ch === '\\' && this.pos + 1 < this.src.length) this.pos++;
      text += this.src.charAt(this.pos);
      this.pos++;
    }
    throw this.error(`expected '}' to close the default value opened at position ${open}`);
  }

  private length(): number {
    const start = this.pos;
    while (/[0-9]/.test(this.src.charAt(this.pos))) this.pos++;
    const digits = this.src.slice(start, this.pos);
    if (digits.length === 0) {
      throw this.error(`expected a non-negative integer length but found ${this.found()}`, 'template_length_invalid');
    }
    const n = Number(digits);
    if (n > MAX_TRUNCATION_LENGTH) {
      this.pos = start;
      throw this.error(`length ${digits} is larger than ${MAX_TRUNCATION_LENGTH}`, 'template_length_invalid');
    }
    return n;
  }

  /** A quoted literal; the quote is escaped by doubling it (§13.2 [NET]). */
  private literal(quote: string): string {
    const open = this.pos;
    let text = '';
    this.pos++;
    for (;;) {
      const close = this.src.indexOf(quote, this.pos);
      if (close === -1) {
        this.pos = this.src.length;
        throw this.error(`expected ${quote} to close the literal opened at position ${open}`);
      }
      text += this.src.slice(this.pos, close);
      if (this.src.charAt(close + 1) === quote) {
        text += quote;
        this.pos = close + 2;
        continue;
      }
      this.pos = close + 1;
      return text;
    }
  }

  private skipSpace(): void {
    while (/\s/.test(this.src.charAt(this.pos)) && this.pos < this.src.length) this.pos++;
  }

  private found(): string {
    if (this.pos >= this.src.length) return 'end of expression';
    const ch = this.src.charAt(this.pos);
    return /[\s\p{C}]/u.test(ch) ? `character U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
  }

  private error(message: string, reason = 'template_expression_syntax'): HubError {
    return expressionError(this.src, this.pos, reason, message);
  }
}
