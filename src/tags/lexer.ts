import { HubError } from '../shared/errors.ts';
import { checkTag, describeChar, isPlainTagChar, matchSystemTagPrefix, shorten } from './tag.ts';

/** Tokens of the tag-expression grammar (§12.2). `position` is the 0-based column of the first character. */
export type Token =
  | { readonly kind: 'tag'; readonly tag: string; readonly position: number; readonly text: string }
  | { readonly kind: 'and' | 'or' | 'not' | 'lparen' | 'rparen'; readonly position: number; readonly text: string }
  | { readonly kind: 'end'; readonly position: number; readonly text: '' };

// §12.2: whitespace around operators and parentheses is allowed. Line breaks are accepted too: the header
// value cannot carry them, but the same parser serves the admin API and the CLI.
function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

export function syntaxError(position: number, message: string, extra: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', `Tag expression error at position ${position}: ${message}.`,
    { reason: 'tag_expression_syntax', position, ...extra });
}

/** How a token is named in "expected … but found …" messages. */
export function describeToken(token: Token): string {
  return token.kind === 'end' ? 'end of expression' : token.kind === 'tag' ? `tag '${shorten(token.text)}'` : `'${token.text}'`;
}

/** Splits a tag expression into tokens; the caller has already bounded its length. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (isWhitespace(ch)) {
      i++;
      continue;
    }
    const start = i;
    switch (ch) {
      case '(':
        tokens.push({ kind: 'lparen', position: start, text: '(' });
        i++;
        continue;
      case ')':
        tokens.push({ kind: 'rparen', position: start, text: ')' });
        i++;
        continue;
      case '!':
        tokens.push({ kind: 'not', position: start, text: '!' });
        i++;
        continue;
      case '&':
      case '|': {
        const op = ch + ch;
        if (text.charAt(i + 1) !== ch) {
          throw syntaxError(start, `expected '${op}' but found '${ch}'`, { expected: op, found: ch });
        }
        tokens.push({ kind: ch === '&' ? 'and' : 'or', position: start, text: op });
        i += 2;
        continue;
      }
      case '$':
        i = readSystemTag(text, start, tokens);
        continue;
      default:
        if (!isPlainTagChar(ch)) {
          throw syntaxError(start, `expected a tag, an operator or a parenthesis but found ${describeChar(ch)}`,
            { found: ch });
        }
        i = readPlainTag(text, start, tokens);
    }
  }
  tokens.push({ kind: 'end', position: text.length, text: '' });
  return tokens;
}

function readPlainTag(text: string, start: number, tokens: Token[]): number {
  let i = start;
  while (i < text.length && isPlainTagChar(text.charAt(i))) i++;
  const raw = text.slice(start, i);
  const checked = checkTag(raw);
  if ('problem' in checked) {
    throw syntaxError(start + checked.problem.position, `tag '${shorten(raw)}' is invalid: ${checked.problem.message}`,
      { tagReason: checked.problem.reason });
  }
  tokens.push({ kind: 'tag', tag: checked.tag, position: start, text: raw });
  return i;
}

// §12.2: "$InstallationId:{" 1*(any char except "}") "}" — the value may hold spaces and operators.
function readSystemTag(text: string, start: number, tokens: Token[]): number {
  const prefix = matchSystemTagPrefix(text, start);
  if (prefix === undefined) {
    throw syntaxError(start, `expected a system tag ('$InstallationId:{…}' or '$UserId:{…}') but found '${shorten(text.slice(start, start + 20), 20)}'`,
      { found: '$' });
  }
  const close = text.indexOf('}', start + prefix.length);
  if (close === -1) {
    throw syntaxError(text.length, `expected '}' to close the system tag that starts at position ${start} but found end of expression`,
      { expected: '}', found: 'end' });
  }
  const raw = text.slice(start, close + 1);
  const checked = checkTag(raw);
  if ('problem' in checked) {
    throw syntaxError(start + checked.problem.position, `tag '${shorten(raw)}' is invalid: ${checked.problem.message}`,
      { tagReason: checked.problem.reason });
  }
  tokens.push({ kind: 'tag', tag: checked.tag, position: start, text: raw });
  return close + 1;
}
