/**
 * Characters XML 1.0 cannot carry at all, raw or as references (the `Char` production): C0 controls other
 * than tab, CR and LF; U+FFFE and U+FFFF; unpaired surrogates. One of them makes a strict reader (.NET's
 * XmlReader) refuse a whole document, so inputs that end up in XML refuse them and XML output replaces them.
 */
export const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `U+0001`: how a message names a character. */
export function codePointName(ch: string): string {
  return `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
