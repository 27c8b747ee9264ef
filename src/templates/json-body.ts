import { HubError } from '../shared/errors.ts';

/** A string value (not an object key) of a JSON body: `[start, end)` spans the quotes; `value` is decoded. */
export interface JsonStringValue {
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

/**
 * Checks that `text` is one JSON value (RFC 8259) and returns its string values in order (§13.1: an
 * expression must be the entire value of a string property; keys are never expressions). A scanner rather
 * than JSON.parse, because the compiler needs each string's position to cut the body into fragments.
 */
export function scanJsonStringValues(text: string, maxDepth: number): JsonStringValue[] {
  const scanner = new JsonScanner(text, maxDepth);
  scanner.skipSpace();
  scanner.value();
  scanner.skipSpace();
  if (scanner.pos < text.length) throw scanner.error(`expected end of JSON but found ${scanner.found()}`);
  return scanner.strings;
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class JsonScanner {
  pos = 0;
  readonly strings: JsonStringValue[] = [];
  private depth = 0;

  constructor(private readonly text: string, private readonly maxDepth: number) {}

  value(): void {
    const c = this.text.charAt(this.pos);
    switch (c) {
      case '{':
        return this.container('}');
      case '[':
        return this.container(']');
      case '"': {
        const start = this.pos;
        const value = this.string();
        this.strings.push({ start, end: this.pos, value });
        return;
      }
      case 't':
        return this.keyword('true');
      case 'f':
        return this.keyword('false');
      case 'n':
        return this.keyword('null');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        throw this.error(`expected a JSON value but found ${this.found()}`);
    }
  }

  private container(close: '}' | ']'): void {
    this.depth++;
    if (this.depth > this.maxDepth) {
      throw new HubError('invalid_request',
        `Template body error at position ${this.pos}: JSON nested deeper than ${this.maxDepth} levels.`,
        { reason: 'template_too_deep', position: this.pos, limit: this.maxDepth });
    }
    this.pos++;
    this.skipSpace();
    if (this.text.charAt(this.pos) === close) {
      this.pos++;
      this.depth--;
      return;
    }
    for (;;) {
      if (close === '}') {
        if (this.text.charAt(this.pos) !== '"') throw this.error(`expected a property name in double quotes but found ${this.found()}`);
        this.string();
        this.skipSpace();
        if (this.text.charAt(this.pos) !== ':') throw this.error(`expected ':' but found ${this.found()}`);
        this.pos++;
        this.skipSpace();
      }
      this.value();
      this.skipSpace();
      const c = this.text.charAt(this.pos);
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        continue;
      }
      if (c === close) {
        this.pos++;
        this.depth--;
        return;
      }
      throw this.error(`expected ',' or '${close}' but found ${this.found()}`);
    }
  }

  /** Reads a string starting at its opening quote and returns its decoded value. */
  private string(): string {
    this.pos++;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) throw this.error('expected \'"\' to close the string but found end of body');
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        out += this.text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (code < 0x20) throw this.error(`control character ${this.found()} must be escaped in a JSON string`);
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(runStart, this.pos);
      const e = this.text.charAt(this.pos + 1);
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
          this.pos += 2;
          throw this.error('expected four hex digits after \\u');
        }
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        this.pos++;
        throw this.error(`invalid escape \\${e === '' ? '' : e} in a JSON string`);
      }
      runStart = this.pos;
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) throw this.error(`expected a number but found ${this.found()}`);
    this.pos += m[0].length;
    const next = this.text.charAt(this.pos);
    // "01", "1.", "1e" leave a digit, '.', 'e' behind: report it where the number went wrong.
    if (/[0-9.eE+-]/.test(next) && next !== '') throw this.error(`malformed number: unexpected ${this.found()}`);
  }

  private keyword(word: string): void {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return;
    }
    throw this.error(`expected a JSON value but found ${this.found()}`);
  }

  skipSpace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else return;
    }
  }

  found(): string {
    if (this.pos >= this.text.length) return 'end of body';
    const ch = this.text.charAt(this.pos);
    const code = ch.charCodeAt(0);
    return code < 0x20 || code === 0x7f ? `character U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
  }

  error(message: string): HubError {
    return new HubError('invalid_request', `Template body is not valid JSON: at position ${this.pos}: ${message}.`,
      { reason: 'template_json_syntax', position: this.pos });
  }
}
