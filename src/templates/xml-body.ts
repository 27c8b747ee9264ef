import { HubError } from '../shared/errors.ts';

/**
 * A place in an XML body where an expression may stand (§13.1): an attribute value or the text of a leaf
 * element. `[start, end)` spans the raw source between the quotes or between `>` and `</`; `value` is the
 * decoded, normalised value an XML parser would report.
 */
export interface XmlValue {
  readonly kind: 'attribute' | 'text';
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

// XML 1.0 (fifth edition) §2.3 names and §2.2 characters.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D'
  + '\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME = new RegExp(`[${NAME_START}][${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*`, 'uy');
const INVALID_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const XML_DECLARATION = /<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1/y;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/**
 * Checks that `text` is a well-formed XML document and returns its attribute values and leaf texts in
 * document order. Safety first (design: parsers at the edge refuse DOCTYPEs and entities): no DOCTYPE, so no
 * entity declarations; only the five predefined entities and numeric character references. Namespace
 * prefixes are not checked: Herald forwards the body, it does not interpret it.
 *
 * An element counts as a leaf when its content is character data, references and CDATA only; a comment or
 * processing instruction inside makes the text a literal, since no single value could replace it.
 */
export function scanXmlValues(text: string, maxDepth: number): XmlValue[] {
  return new XmlScanner(text, maxDepth).document();
}

interface OpenElement {
  readonly name: string;
  readonly position: number;
  readonly contentStart: number;
  leaf: boolean;
  text: string;
}

class XmlScanner {
  private pos = 0;
  private readonly values: XmlValue[] = [];

  constructor(private readonly text: string, private readonly maxDepth: number) {}

  document(): XmlValue[] {
    const bad = INVALID_CHAR.exec(this.text);
    if (bad !== null) {
      this.pos = bad.index;
      throw this.error(`${this.found()} is not allowed in XML`);
    }
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (this.at('<?xml') && /[\s?]/.test(this.text.charAt(this.pos + 5))) this.declaration();
    this.misc();
    if (!(this.at('<') && this.nameAt(this.pos + 1) !== undefined)) {
      throw this.error(`expected the root element but found ${this.found()}`);
    }
    this.elements();
    this.misc();
    if (this.pos < this.text.length) throw this.error(`expected end of body after the root element but found ${this.found()}`);
    return this.values;
  }

  /** Elements with an explicit stack, so a deep body costs no call-stack depth. */
  private elements(): void {
    const stack: OpenElement[] = [];
    const open = (): void => {
      const position = this.pos;
      if (stack.length >= this.maxDepth) {
        throw new HubError('invalid_request',
          `Template body error at position ${position}: XML nested deeper than ${this.maxDepth} levels.`,
          { reason: 'template_too_deep', position, limit: this.maxDepth });
      }
      const { name, selfClosing } = this.startTag();
      if (!selfClosing) stack.push({ name, position, contentStart: this.pos, leaf: true, text: '' });
    };
    open();
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (this.pos >= this.text.length) {
        throw this.error(`expected '</${top.name}>' to close the element at position ${top.position} but found end of body`);
      }
      if (this.text.charAt(this.pos) !== '<') {
        const data = this.charData();
        if (top.leaf) top.text += data;
      } else if (this.at('</')) {
        const end = this.pos;
        this.endTag(top.name);
        if (top.leaf) this.values.push({ kind: 'text', start: top.contentStart, end, value: top.text });
        stack.pop();
      } else if (this.at('<![CDATA[')) {
        const data = this.cdata();
        if (top.leaf) top.text += data;
      } else if (this.at('<!--') || this.at('<?')) {
        this.misc();
        top.leaf = false;
      } else if (this.at('<!DOCTYPE')) {
        throw this.doctype();
      } else if (this.at('<!')) {
        throw this.error("expected a comment '<!--' or a CDATA section '<![CDATA[' after '<!'");
      } else {
        top.leaf = false;
        open();
      }
    }
  }

  private startTag(): { name: string; selfClosing: boolean } {
    this.pos++;
    const name = this.name('an element name');
    const seen = new Set<string>();
    for (;;) {
      const spaced = this.skipSpace();
      if (this.at('/>')) {
        this.pos += 2;
        return { name, selfClosing: true };
      }
      if (this.at('>')) {
        this.pos++;
        return { name, selfClosing: false };
      }
      if (!spaced) throw this.error(`expected whitespace, '>' or '/>' but found ${this.found()}`);
      const attributeAt = this.pos;
      const attribute = this.name("an attribute name, '>' or '/>'");
      if (seen.has(attribute)) {
        this.pos = attributeAt;
        throw this.error(`attribute '${attribute}' appears twice on element '${name}'`);
      }
      seen.add(attribute);
      this.skipSpace();
      if (!this.at('=')) throw this.error(`expected '=' after attribute '${attribute}' but found ${this.found()}`);
      this.pos++;
      this.skipSpace();
      const quote = this.text.charAt(this.pos);
      if (quote !== '"' && quote !== "'") throw this.error(`expected a quoted attribute value but found ${this.found()}`);
      this.pos++;
      const start = this.pos;
      const value = this.attributeValue(quote);
      this.values.push({ kind: 'attribute', start, end: this.pos - 1, value });
    }
  }

  private attributeValue(quote: string): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) throw this.error(`expected ${quote} to close the attribute value but found end of body`);
      const ch = this.text.charAt(this.pos);
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch === '<') throw this.error("'<' is not allowed in an attribute value; write &lt;");
      if (ch === '&') {
        out += this.reference();
        continue;
      }
      // XML §3.3.3: literal whitespace in an attribute value reads as a space; \r\n is one line end.
      if (ch === '\r' && this.text.charAt(this.pos + 1) === '\n') this.pos++;
      out += ch === '\t' || ch === '\n' || ch === '\r' ? ' ' : ch;
      this.pos++;
    }
  }

  private charData(): string {
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text.charAt(this.pos);
      if (ch === '<') break;
      if (ch === '&') {
        out += this.reference();
        continue;
      }
      if (ch === ']' && this.at(']]>')) throw this.error("']]>' is not allowed in text; write ]]&gt;");
      // XML §2.11: \r\n and lone \r read as \n.
      if (ch === '\r') {
        if (this.text.charAt(this.pos + 1) === '\n') this.pos++;
        out += '\n';
      } else {
        out += ch;
      }
      this.pos++;
    }
    return out;
  }

  private reference(): string {
    const start = this.pos;
    const semicolon = this.text.indexOf(';', start);
    const body = semicolon === -1 || semicolon - start > 12 ? undefined : this.text.slice(start + 1, semicolon);
    let decoded: string | undefined;
    if (body !== undefined && /^#x[0-9A-Fa-f]+$|^#[0-9]+$/.test(body)) {
      const code = body.charAt(1) === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      const char = code <= 0x10ffff ? String.fromCodePoint(code) : '';
      if (char === '' || INVALID_CHAR.test(char)) {
        throw this.error(`character reference &${body}; does not name a character allowed in XML`, 'template_xml_entity');
      }
      decoded = char;
    } else if (body !== undefined && Object.hasOwn(PREDEFINED, body)) {
      decoded = PREDEFINED[body];
    }
    if (decoded === undefined) {
      const shown = body ?? this.text.slice(start + 1, start + 13).split(/[\s<&;]/)[0];
      throw this.error(`'&${shown}' is not allowed: only &lt; &gt; &amp; &apos; &quot; and numeric character references are`,
        'template_xml_entity');
    }
    this.pos = semicolon + 1;
    return decoded;
  }

  private endTag(expected: string): void {
    this.pos += 2;
    const nameAt = this.pos;
    const name = this.nameAt(nameAt);
    if (name !== expected) throw this.error(`expected '</${expected}>' but found '</${name ?? ''}'`);
    this.pos += name.length;
    this.skipSpace();
    if (!this.at('>')) throw this.error(`expected '>' but found ${this.found()}`);
    this.pos++;
  }

  private cdata(): string {
    const end = this.text.indexOf(']]>', this.pos + 9);
    if (end === -1) throw this.error("expected ']]>' to close the CDATA section but found end of body");
    const data = this.text.slice(this.pos + 9, end).replace(/\r\n?/g, '\n');
    this.pos = end + 3;
    return data;
  }

  /** Whitespace, comments and processing instructions between markup. */
  private misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.at('<!--')) {
        const end = this.text.indexOf('--', this.pos + 4);
        if (end === -1) throw this.error("expected '-->' to close the comment but found end of body");
        if (this.text.charAt(end + 2) !== '>') {
          this.pos = end;
          throw this.error("'--' is not allowed inside a comment");
        }
        this.pos = end + 3;
      } else if (this.at('<?')) {
        const targetAt = this.pos + 2;
        const target = this.nameAt(targetAt);
        if (target === undefined) throw this.error('expected a processing-instruction target after <?');
        if (target.toLowerCase() === 'xml') throw this.error('the XML declaration is allowed only at the very start');
        const end = this.text.indexOf('?>', targetAt);
        if (end === -1) throw this.error("expected '?>' to close the processing instruction but found end of body");
        this.pos = end + 2;
      } else if (this.at('<!DOCTYPE')) {
        throw this.doctype();
      } else {
        return;
      }
    }
  }

  private declaration(): void {
    XML_DECLARATION.lastIndex = this.pos;
    if (!XML_DECLARATION.test(this.text)) throw this.error('malformed XML declaration; expected <?xml version="1.x" …?>');
    const end = this.text.indexOf('?>', this.pos);
    if (end === -1) throw this.error("expected '?>' to close the XML declaration but found end of body");
    this.pos = end + 2;
  }

  private doctype(): HubError {
    return this.error('DOCTYPE declarations are not allowed (they could declare entities)', 'template_xml_doctype');
  }

  private name(what: string): string {
    const name = this.nameAt(this.pos);
    if (name === undefined) throw this.error(`expected ${what} but found ${this.found()}`);
    this.pos += name.length;
    return name;
  }

  private nameAt(position: number): string | undefined {
    NAME.lastIndex = position;
    return NAME.exec(this.text)?.[0];
  }

  private at(literal: string): boolean {
    return this.text.startsWith(literal, this.pos);
  }

  private skipSpace(): boolean {
    const start = this.pos;
    while (/[ \t\r\n]/.test(this.text.charAt(this.pos)) && this.pos < this.text.length) this.pos++;
    return this.pos > start;
  }

  private found(): string {
    if (this.pos >= this.text.length) return 'end of body';
    const code = this.text.codePointAt(this.pos) ?? 0;
    return code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff
      ? `character U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${String.fromCodePoint(code)}'`;
  }

  private error(message: string, reason = 'template_xml_syntax'): HubError {
    return new HubError('invalid_request', `Template body is not well-formed XML: at position ${this.pos}: ${message}.`,
      { reason, position: this.pos });
  }
}
