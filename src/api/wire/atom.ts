/**
 * The XML plumbing shared by the Atom wire formats of the Azure-compatible API (wire spec §3.4, §6.1,
 * §6.5, §6.10, §11): a hardened parse into a small element tree, escaping, CDATA, and the entry and feed
 * envelopes the official client reads.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HubError } from '../../shared/errors.ts';
import { codePointName, NOT_XML_CHAR } from '../../shared/xml-chars.ts';

export const ATOM_NS = 'http://www.w3.org/2005/Atom';
/** Only `a:etag` uses it; the JS client never reads it (§6.5). */
export const METADATA_NS = 'http://schemas.microsoft.com/ado/2007/08/dataservices/metadata';
export const SERVICEBUS_NS = 'http://schemas.microsoft.com/netservices/2010/10/servicebus/connect';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** The api-version Herald writes into the links it renders (§3.1 accepts any on input). */
export const API_VERSION = '2020-06';

export interface XmlLimits {
  /** UTF-8 bytes of the whole document. */
  maxBytes: number;
  /** Element nesting; an Atom registration entry needs 6 (entry/content/Desc/WnsHeaders/WnsHeader/Header). */
  maxDepth: number;
}

// The HTTP layer already caps bodies (64 KiB by default); this bound also covers XML read from elsewhere
// (import files, §11.1) and keeps parse cost predictable.
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({ maxBytes: 1024 * 1024, maxDepth: 32 });

/** An element with its children; text is decoded, namespace prefixes are kept in `name`. */
export interface XmlElement {
  readonly name: string;
  /** The name without its prefix: the wire is matched leniently on local names (§6.1). */
  readonly localName: string;
  /** Attribute values by qualified name, decoded. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /**
   * The element's own text and CDATA in document order. Whitespace-only text next to CDATA is
   * formatting (pretty-printed XML, §6.1) and is dropped when the element has a CDATA section.
   */
  readonly text: string;
}

function invalid(reason: string, message: string, details: Record<string, unknown> = {}): HubError {
  return new HubError('invalid_request', message, { reason, ...details });
}

function malformed(message: string): HubError {
  return new HubError('malformed_body', `The body is not well-formed XML: ${message}`);
}

const ELEMENT_META = new Set([':@', '#text', '#cdata']);
type FxpNode = Record<string, unknown>;

function fxpParser(maxDepth: number): XMLParser {
  return new XMLParser({
    preserveOrder: true, // keeps text and CDATA apart and in order, so only text is entity-decoded
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    // Entities are decoded here (the five predefined and character references only), never by the parser.
    processEntities: false,
    cdataPropName: '#cdata',
    commentPropName: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: maxDepth,
  });
}

/**
 * Parses a whole document and returns its root element. Refuses before parsing: documents over the size
 * bound, and any DOCTYPE or ENTITY declaration (never expanded: no entity expansion attacks, no XXE).
 * Not well-formed → `malformed_body`; everything else → `invalid_request` with `details.reason`.
 */
export function parseXml(body: string | Buffer, limits: Partial<XmlLimits> = {}): XmlElement {
  const l: XmlLimits = { ...DEFAULT_XML_LIMITS, ...limits };
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > l.maxBytes) {
    throw invalid('xml_too_large', `The XML document has ${size} bytes; at most ${l.maxBytes} are accepted.`, { limit: l.maxBytes });
  }
  let text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw invalid('xml_doctype_refused', 'XML with a DOCTYPE or ENTITY declaration is not accepted.');
  }
  if (text.trim() === '') throw malformed('the document is empty.');
  // XML 1.0 has no place for these, raw or as references; the validator below does not look for them.
  const bad = NOT_XML_CHAR.exec(text);
  if (bad !== null) {
    throw malformed(`the character ${codePointName(bad[0])} at offset ${bad.index} is not allowed in XML.`);
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformed(`${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col}).`);
  let nodes: FxpNode[];
  try {
    nodes = fxpParser(l.maxDepth).parse(text) as FxpNode[];
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/nested/i.test(message)) throw tooDeep(l.maxDepth);
    throw malformed(`${message}.`);
  }
  const roots = nodes.filter(isElementNode);
  // The validator accepts several top-level elements and text after the root; a document has one root only.
  if (roots.length !== 1 || nodes.some((n) => '#text' in n && String(n['#text']).trim() !== '') || !endsWithMarkup(text)) {
    throw malformed('a document must have exactly one root element.');
  }
  return toElement(roots[0]!, 1, l.maxDepth);
}

/**
 * Whether nothing but comments, PIs and whitespace follow the last tag (text after the root is not XML).
 * A linear scan: the regular expression it replaces (`<!--[\s\S]*?-->|<\?[\s\S]*?\?>`, global) searched to
 * the end from every unterminated `<!--` or `<?`, which CDATA may hold by the thousand (quadratic time).
 */
export function endsWithMarkup(text: string): boolean {
  let last = -1; // the code of the last character outside comments and PIs that is not white space
  let comments = true; // false once no `-->` is left: no later comment can end either
  let pis = true;
  for (let i = 0; i < text.length; ) {
    const lt = text.indexOf('<', i);
    const stop = lt < 0 ? text.length : lt;
    for (let k = stop - 1; k >= i; k--) {
      if (!/\s/.test(text.charAt(k))) {
        last = text.charCodeAt(k);
        break;
      }
    }
    if (lt < 0) break;
    let end = -1;
    if (comments && text.startsWith('<!--', lt)) {
      const close = text.indexOf('-->', lt + 4);
      if (close < 0) comments = false;
      else end = close + 3;
    }
    if (end < 0 && pis && text.startsWith('<?', lt)) {
      const close = text.indexOf('?>', lt + 2);
      if (close < 0) pis = false;
      else end = close + 2;
    }
    if (end < 0) {
      last = 0x3c; // '<'
      i = lt + 1;
    } else {
      i = end;
    }
  }
  return last === 0x3e; // '>'
}

function tooDeep(maxDepth: number): HubError {
  return invalid('xml_too_deep', `The XML document nests elements deeper than ${maxDepth} levels.`, { limit: maxDepth });
}

function isElementNode(node: FxpNode): boolean {
  return Object.keys(node).some((k) => !ELEMENT_META.has(k));
}

function toElement(node: FxpNode, depth: number, maxDepth: number): XmlElement {
  if (depth > maxDepth) throw tooDeep(maxDepth);
  const name = Object.keys(node).find((k) => !ELEMENT_META.has(k))!;
  const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries((node[':@'] ?? {}) as Record<string, unknown>)) attributes[k] = decodeEntities(String(v));
  const children: XmlElement[] = [];
  const pieces: { cdata: boolean; value: string }[] = [];
  for (const child of node[name] as FxpNode[]) {
    if ('#text' in child) pieces.push({ cdata: false, value: decodeEntities(String(child['#text'])) });
    else if ('#cdata' in child) {
      const inner = child['#cdata'] as FxpNode[];
      pieces.push({ cdata: true, value: inner.map((t) => String(t['#text'] ?? '')).join('') });
    } else if (isElementNode(child)) children.push(toElement(child, depth + 1, maxDepth));
  }
  const hasCdata = pieces.some((p) => p.cdata);
  const text = pieces.filter((p) => !hasCdata || p.cdata || p.value.trim() !== '').map((p) => p.value).join('');
  return { name, localName: localName(name), attributes, children, text };
}

export function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML 1.0 `Char` production: a character reference to anything else is not well-formed. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&<]{0,16});|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw malformed(`a bare '&' must be written &amp;.`);
    const named = PREDEFINED[ref];
    if (named !== undefined) return named;
    const numeric = /^#x([0-9A-Fa-f]{1,6})$/.exec(ref) ?? /^#([0-9]{1,7})$/.exec(ref);
    if (numeric) {
      const cp = parseInt(numeric[1]!, ref.startsWith('#x') ? 16 : 10);
      if (isXmlChar(cp)) return String.fromCodePoint(cp);
      throw malformed(`the character reference ${match} is not an XML character.`);
    }
    throw malformed(`the entity ${match} is not declared (only the predefined XML entities are).`);
  });
}

/** The first child element with this local name. */
export function childElement(el: XmlElement, local: string): XmlElement | undefined {
  return el.children.find((c) => c.localName === local);
}

export function childElements(el: XmlElement, local: string): XmlElement[] {
  return el.children.filter((c) => c.localName === local);
}

/** An attribute by local name, whatever its prefix. */
export function attribute(el: XmlElement, local: string): string | undefined {
  for (const [k, v] of Object.entries(el.attributes)) if (localName(k) === local) return v;
  return undefined;
}

/** `i:nil="true"` marks a null value in .NET DataContract XML (§6.1); it reads as absent. */
export function isNil(el: XmlElement): boolean {
  return attribute(el, 'nil')?.trim() === 'true';
}

/** A child's text, or undefined when it is missing or nil. */
export function childText(el: XmlElement, local: string): string | undefined {
  const child = childElement(el, local);
  return child === undefined || isNil(child) ? undefined : child.text;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

// Output replaces what inputs refuse (a row stored before they did), so one bad character cannot break a feed.
const NOT_XML_CHARS = new RegExp(NOT_XML_CHAR.source, 'g');

/**
 * Escapes text for element content and attribute values. Only the named entities: the client's parser
 * (fast-xml-parser with htmlEntities off) does not decode character references such as `&#65;`.
 */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHARS, '\ufffd').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A CDATA section; a `]]>` inside would end it early, so the section is split between `]]` and `>`. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replace(NOT_XML_CHARS, '\ufffd').replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/** `<Name>escaped</Name>`, or nothing when the value is absent: the wire never carries empty elements (§3.4). */
export function textElement(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : `<${name}>${escapeXml(value)}</${name}>`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Where rendered links point: `{origin}/{hub}/...`. `now` dates a feed that has no entries. */
export interface AtomLocation {
  /** Scheme, host and port, e.g. `https://localhost:8443`; a trailing slash is ignored. */
  origin: string;
  hub: string;
  now?: number;
}

/** `{origin}/{hub}/{collection}[/{id}]?api-version=2020-06`, with hub and id percent-encoded as path segments. */
export function resourceHref(at: AtomLocation, collection: string, id?: string): string {
  const base = `${at.origin.replace(/\/+$/, '')}/${encodeURIComponent(at.hub)}/${collection}`;
  return `${id === undefined ? base : `${base}/${encodeURIComponent(id)}`}?api-version=${API_VERSION}`;
}

export interface AtomEntryParts {
  /** The entry's id and self link. */
  href: string;
  title: string;
  published: number;
  updated: number;
  /** Rendered as `a:etag="W/&quot;n&quot;"` (§6.5). */
  etag?: number;
  /** The XML of the one element inside `<content type="application/xml">`. */
  content: string;
}

/**
 * One Atom entry, on one line: the client takes the first key of `content` as the description, so no
 * whitespace may sit beside it. `inFeed` leaves out the default namespace the feed already declares.
 */
export function renderAtomEntry(parts: AtomEntryParts, inFeed = false): string {
  const attrs = [
    parts.etag === undefined ? '' : ` a:etag="${escapeXml(`W/"${parts.etag}"`)}"`,
    inFeed ? '' : ` xmlns="${ATOM_NS}"`,
    parts.etag === undefined ? '' : ` xmlns:a="${METADATA_NS}"`,
  ].join('');
  const href = escapeXml(parts.href);
  return `<entry${attrs}><id>${href}</id><title type="text">${escapeXml(parts.title)}</title>`
    + `<published>${isoTime(parts.published)}</published><updated>${isoTime(parts.updated)}</updated>`
    + `<link rel="self" href="${href}"/><content type="application/xml">${parts.content}</content></entry>`;
}

export interface AtomFeedParts {
  title: string;
  href: string;
  updated: number;
  entries: readonly AtomEntryParts[];
}

/** An Atom feed with the Atom namespace as the default (a prefixed root crashes the client, §3.4). */
export function renderAtomFeed(parts: AtomFeedParts): string {
  const href = escapeXml(parts.href);
  return `<feed xmlns="${ATOM_NS}"><title type="text">${escapeXml(parts.title)}</title><id>${href}</id>`
    + `<updated>${isoTime(parts.updated)}</updated><link rel="self" href="${href}"/>`
    + `${parts.entries.map((e) => renderAtomEntry(e, true)).join('')}</feed>`;
}

/** A feed is as recent as its latest entry; an empty one takes `at.now`. */
export function feedUpdated(entries: readonly { updatedAt: number }[], at: AtomLocation): number {
  if (entries.length === 0) return at.now ?? Date.now();
  return entries.reduce((latest, e) => Math.max(latest, e.updatedAt), 0);
}

/**
 * The elements inside an entry's `<content>` (none when it has no content). The root must be an Atom
 * `entry`, under any prefix: `<updated>`, `<id>` and `<title>` of a request are ignored (§6.1).
 */
export function entryContentElements(root: XmlElement): readonly XmlElement[] {
  if (root.localName !== 'entry') {
    throw invalid('not_an_atom_entry', `The body must be an Atom <entry>, not <${root.name}>.`, { element: root.name });
  }
  return childElement(root, 'content')?.children ?? [];
}
