import type { ExpressionTerm, PropertyReference, TemplateExpression } from './expression.ts';

export type PropertyLookup = (ref: PropertyReference) => string | undefined;

/** §13.2: the value `#(p)` must match to become a bare JSON number (no sign, so always valid JSON). */
const JSON_NUMBER = /^(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

export function isTemplateNumber(value: string): boolean {
  return JSON_NUMBER.test(value);
}

/** Computes the text of a value; JSON/XML encoding is the caller's. */
export function evaluateExpression(expression: TemplateExpression, lookup: PropertyLookup): string {
  const terms = expression.terms;
  if (terms.length === 1) return evaluateTerm(terms[0]!, lookup);
  let out = '';
  for (const term of terms) out += evaluateTerm(term, lookup);
  return out;
}

function evaluateTerm(term: ExpressionTerm, lookup: PropertyLookup): string {
  if (term.kind === 'literal') return term.text;
  // §13.2: a missing property gives "" (or the `:{default}`, UNCONFIRMED server support).
  const value = lookup(term.property) ?? term.property.defaultValue ?? '';
  switch (term.kind) {
    case 'value':
      return term.maxLength === undefined ? value : truncate(value, term.maxLength);
    case 'ellipsis':
      return truncateWithEllipsis(value, term.maxLength);
    case 'uri':
      return encodeUriValue(value);
    case 'number':
      return value;
  }
}

/**
 * At most `n` UTF-16 code units, the unit .NET's Substring counts, so lengths agree with Azure. A cut between
 * the halves of a surrogate pair backs off one unit, so an emoji is never split into an unencodable half.
 */
export function truncate(value: string, n: number): string {
  if (value.length <= n) return value;
  let end = n;
  if (end > 0 && isHighSurrogate(value.charCodeAt(end - 1)) && isLowSurrogate(value.charCodeAt(end))) end--;
  return value.slice(0, end);
}

/**
 * §13.2 `.(p, n)`: the result including the `...` suffix is at most n, and the suffix appears only when
 * something was cut. UNCONFIRMED for n < 3, where no text fits: the result is the first n dots.
 */
export function truncateWithEllipsis(value: string, n: number): string {
  if (value.length <= n) return value;
  if (n <= 3) return '...'.slice(0, n);
  return `${truncate(value, n - 3)}...`;
}

/**
 * §13.2 `%(p)`: RFC 3986 percent-encoding of UTF-8, leaving only unreserved characters (as .NET's
 * Uri.EscapeDataString does; encodeURIComponent alone keeps `! ' ( ) *`). Lone surrogates, which
 * encodeURIComponent refuses, become U+FFFD first.
 */
export function encodeUriValue(value: string): string {
  return encodeURIComponent(toWellFormed(value)).replace(/[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** String.prototype.toWellFormed is ES2024; Node 20 has it but the project's lib is ES2023. */
export function toWellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
