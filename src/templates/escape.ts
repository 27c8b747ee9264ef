/**
 * Encoders for rendered values. Values come from senders and devices, so each encoder must keep the
 * document well-formed whatever the input.
 */

/** A JSON string literal with quotes. JSON.stringify escapes quotes, backslashes, controls and lone surrogates. */
export function jsonString(value: string): string {
  return JSON.stringify(value);
}

// XML 1.0 §2.2 cannot carry these at all, not even as character references.
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const TEXT_SPECIAL = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<>"'\t\n\r]/g;
const NEEDS_WORK_TEXT = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const NEEDS_WORK_ATTRIBUTE = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/**
 * Element text. `>` is escaped too, so a value can never close a CDATA-like `]]>`; `\r` becomes `&#13;` because
 * a parser would otherwise turn it into `\n`. Characters XML cannot represent become U+FFFD (a decision: dropping
 * them silently would hide the problem from the recipient).
 */
export function xmlText(value: string): string {
  if (!NEEDS_WORK_TEXT.test(value)) return value;
  return value.replace(XML_FORBIDDEN, '\uFFFD').replace(TEXT_SPECIAL, (c) => ENTITY[c]!);
}

/** Attribute values: also both quotes, and tab/newline as references so attribute normalisation keeps them. */
export function xmlAttribute(value: string): string {
  if (!NEEDS_WORK_ATTRIBUTE.test(value)) return value;
  return value.replace(XML_FORBIDDEN, '\uFFFD').replace(ATTRIBUTE_SPECIAL, (c) => ENTITY[c]!);
}
