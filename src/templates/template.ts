import { HubError } from '../shared/errors.ts';
import { jsonString, xmlAttribute, xmlText } from './escape.ts';
import { evaluateExpression, isTemplateNumber, type PropertyLookup } from './evaluate.ts';
import { isExpressionStart, parseInlineExpression, parseTemplateExpression, type TemplateExpression } from './expression.ts';
import { scanJsonStringValues } from './json-body.ts';
import { lookupProperty, type PropertySource } from './properties.ts';
import { scanXmlValues } from './xml-body.ts';

/**
 * §13.1: XML for WNS/MPNS, JSON for every other platform; `raw` for a WNS raw template (X-WNS-Type: wns/raw),
 * whose body is opaque text with expressions inside, whatever it looks like.
 */
export type TemplateFormat = 'json' | 'xml' | 'raw';

export interface TemplateLimits {
  /** Characters in the body. A registration arrives in a request of at most 64 KB (§14), so a larger body
   * cannot be legitimate. */
  readonly maxLength: number;
  /** Nesting of JSON objects/arrays or XML elements. */
  readonly maxDepth: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = Object.freeze({ maxLength: 65_536, maxDepth: 64 });

/**
 * How a slot's text is written into the body:
 * - json-string: a quoted JSON string (the slot spans the original quotes);
 * - json-number: `#(p)`, bare when the value matches the §13.2 number pattern, else a quoted string;
 * - xml-text / xml-attribute: escaped for element text or an attribute value (the slot is inside the markup);
 * - text: as it is (raw bodies have no syntax to escape for).
 */
export type SlotEncoding = 'json-string' | 'json-number' | 'xml-text' | 'xml-attribute' | 'text';

export interface TemplateSlot {
  readonly expression: TemplateExpression;
  readonly encoding: SlotEncoding;
  /** Where the value starts in the body, for diagnostics. */
  readonly position: number;
}

/**
 * A body compiled once and rendered per device by substitution only (design: no JSON.parse per device).
 * `fragments` are the verbatim source around the slots, so formatting is preserved and rendering is string
 * concatenation; `fragments.length === slots.length + 1`. Frozen, so one compiled template can be cached by body
 * and shared.
 */
export interface CompiledTemplate {
  readonly format: TemplateFormat;
  readonly fragments: readonly string[];
  readonly slots: readonly TemplateSlot[];
  /** Property names referenced, in first-seen order and spelling. */
  readonly properties: readonly string[];
}

interface Place {
  readonly start: number;
  readonly end: number;
  readonly value: string;
  readonly encoding: 'json' | 'xml-text' | 'xml-attribute';
}

export function compileTemplate(body: unknown, format: TemplateFormat, limits: Partial<TemplateLimits> = {}): CompiledTemplate {
  const l: TemplateLimits = { ...DEFAULT_TEMPLATE_LIMITS, ...limits };
  if (typeof body !== 'string') {
    throw new HubError('invalid_request', 'Template body must be a string.', { reason: 'template_not_string' });
  }
  if (format !== 'json' && format !== 'xml' && format !== 'raw') {
    throw new HubError('invalid_request', `Template format must be 'json', 'xml' or 'raw'.`, { reason: 'template_format_unknown' });
  }
  if (body.length > l.maxLength) {
    throw new HubError('invalid_request', `Template body has ${body.length} characters; at most ${l.maxLength} are allowed.`,
      { reason: 'template_too_large', length: body.length, limit: l.maxLength });
  }
  if (format === 'raw') return compileRaw(body);
  const places: Place[] = format === 'json'
    ? scanJsonStringValues(body, l.maxDepth).map((v) => ({ ...v, encoding: 'json' as const }))
    : scanXmlValues(body, l.maxDepth).map((v) => ({ ...v, encoding: v.kind === 'text' ? 'xml-text' as const : 'xml-attribute' as const }));

  const fragments: string[] = [];
  const slots: TemplateSlot[] = [];
  const properties = new Map<string, string>();
  let pending = '';
  let cursor = 0;
  for (const place of places) {
    if (!isExpressionStart(place.value)) continue;
    const expression = parseInBody(place, format);
    const encoding: SlotEncoding = place.encoding === 'json'
      ? (expression.numeric ? 'json-number' : 'json-string')
      : place.encoding;
    pending += body.slice(cursor, place.start);
    cursor = place.end;
    if (expression.constant) {
      // `{'a' + 'b'}` needs no properties: render it now and keep it in the fragment.
      pending += encode(encoding, evaluateExpression(expression, () => undefined));
      continue;
    }
    for (const term of expression.terms) {
      if (term.kind !== 'literal' && !properties.has(term.property.folded)) properties.set(term.property.folded, term.property.name);
    }
    fragments.push(pending);
    pending = '';
    slots.push(Object.freeze({ expression, encoding, position: place.start }));
  }
  fragments.push(pending + body.slice(cursor));
  return Object.freeze({
    format,
    fragments: Object.freeze(fragments),
    slots: Object.freeze(slots),
    properties: Object.freeze([...properties.values()]),
  });
}

/**
 * A raw body: when the whole body is one expression (`{'Hi ' + $(name)}`) it is that expression; otherwise each
 * `$(…)`, `.(…)`, `%(…)` and `#(…)` that parses is replaced by its value as it is, and everything else, `{"m":…}`
 * included, is text. UNCONFIRMED how Azure renders raw bodies; this keeps both readings of a raw body working.
 */
function compileRaw(body: string): CompiledTemplate {
  const whole = wholeExpression(body);
  const found = whole !== undefined ? [{ expression: whole, start: 0, end: body.length }] : inlineExpressions(body);
  const fragments: string[] = [];
  const slots: TemplateSlot[] = [];
  const properties = new Map<string, string>();
  let pending = '';
  let cursor = 0;
  for (const { expression, start, end } of found) {
    pending += body.slice(cursor, start);
    cursor = end;
    if (expression.constant) {
      pending += evaluateExpression(expression, () => undefined);
      continue;
    }
    for (const term of expression.terms) {
      if (term.kind !== 'literal' && !properties.has(term.property.folded)) properties.set(term.property.folded, term.property.name);
    }
    fragments.push(pending);
    pending = '';
    slots.push(Object.freeze({ expression, encoding: 'text' as const, position: start }));
  }
  fragments.push(pending + body.slice(cursor));
  return Object.freeze({ format: 'raw', fragments: Object.freeze(fragments), slots: Object.freeze(slots), properties: Object.freeze([...properties.values()]) });
}

function wholeExpression(body: string): TemplateExpression | undefined {
  if (body.charAt(0) !== '{') return undefined;
  try {
    return parseTemplateExpression(body);
  } catch (err) {
    if (err instanceof HubError) return undefined;
    throw err;
  }
}

function inlineExpressions(body: string): Array<{ expression: TemplateExpression; start: number; end: number }> {
  const out: Array<{ expression: TemplateExpression; start: number; end: number }> = [];
  const starts = /[$.%#]\(/g;
  for (let m = starts.exec(body); m !== null; m = starts.exec(body)) {
    const found = parseInlineExpression(body, m.index);
    if (found === undefined) continue;
    out.push({ expression: found.expression, start: m.index, end: found.end });
    starts.lastIndex = found.end;
  }
  return out;
}

function parseInBody(place: Place, format: TemplateFormat): TemplateExpression {
  try {
    // §13.2: #(p) is for JSON templates only.
    return parseTemplateExpression(place.value, { allowNumeric: format === 'json' });
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    const where = place.encoding === 'xml-attribute' ? 'attribute value' : place.encoding === 'xml-text' ? 'element text' : 'string value';
    throw new HubError('invalid_request',
      `Template body error in the ${where} at position ${place.start}: ${err.message.charAt(0).toLowerCase()}${err.message.slice(1)}`,
      { ...err.details, bodyPosition: place.start });
  }
}

/**
 * Renders a compiled template for one device.
 *
 * Lookup order: the send's properties first, then the device's pushVariables. §13.2 leaves the precedence
 * UNCONFIRMED and suggests send property > pushVariables; we follow it because the sender of a notification
 * acts later and more specifically than the device that registered. Names are case-insensitive and an
 * exact-case match wins within each source; a send property in any case beats a pushVariable.
 *
 * Pass {@link TemplateProperties} (prepareProperties) when rendering many devices for one send.
 */
export function renderTemplate(template: CompiledTemplate, sendProperties: PropertySource,
  pushVariables?: PropertySource): string {
  const lookup = propertyLookup(sendProperties, pushVariables);
  const { fragments, slots } = template;
  let out = fragments[0]!;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    out += encode(slot.encoding, evaluateExpression(slot.expression, lookup)) + fragments[i + 1]!;
  }
  return out;
}

/** The text of one expression outside a body (header values, §13.1); encoding it is the caller's job. */
export function renderTemplateExpression(expression: TemplateExpression, sendProperties: PropertySource,
  pushVariables?: PropertySource): string {
  return evaluateExpression(expression, propertyLookup(sendProperties, pushVariables));
}

function propertyLookup(sendProperties: PropertySource, pushVariables: PropertySource | undefined): PropertyLookup {
  if (pushVariables === undefined) return (ref) => lookupProperty(sendProperties, ref);
  return (ref) => lookupProperty(sendProperties, ref) ?? lookupProperty(pushVariables, ref);
}

function encode(encoding: SlotEncoding, text: string): string {
  switch (encoding) {
    case 'json-string':
      return jsonString(text);
    case 'json-number':
      return isTemplateNumber(text) ? text : jsonString(text);
    case 'xml-text':
      return xmlText(text);
    case 'xml-attribute':
      return xmlAttribute(text);
    case 'text':
      return text;
  }
}
