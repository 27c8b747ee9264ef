import { asciiLowerCase, type PropertyReference } from './expression.ts';

/**
 * Send-time properties (§13.2: a flat JSON object of strings) or a device's pushVariables, indexed once so
 * that each device's render does two map lookups per reference instead of scanning keys.
 * The dispatcher should prepare a send's properties once and render every device with the prepared form.
 */
export class TemplateProperties {
  private readonly exact = new Map<string, string>();
  private readonly folded = new Map<string, string>();

  constructor(values: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>) {
    const entries = values instanceof Map ? values.entries() : Object.entries(values);
    for (const [key, value] of entries as Iterable<[string, unknown]>) {
      // A non-string (null from a sloppy client) counts as missing rather than rendering "null".
      if (typeof value !== 'string') continue;
      this.exact.set(key, value);
      const folded = asciiLowerCase(key);
      // Names are case-insensitive (§13.2); when two keys differ only in case the first one wins, and an
      // exact-case match always beats both.
      if (!this.folded.has(folded)) this.folded.set(folded, value);
    }
  }

  get(ref: PropertyReference): string | undefined {
    return this.exact.get(ref.name) ?? this.folded.get(ref.folded);
  }
}

export type PropertySource = TemplateProperties | Readonly<Record<string, string>>;

export function prepareProperties(values: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>): TemplateProperties {
  return new TemplateProperties(values);
}

/** Lookup in either form; a plain record is scanned only when the exact-case key is absent. */
export function lookupProperty(source: PropertySource, ref: PropertyReference): string | undefined {
  if (source instanceof TemplateProperties) return source.get(ref);
  if (Object.hasOwn(source, ref.name)) {
    const value: unknown = source[ref.name];
    if (typeof value === 'string') return value;
  }
  for (const key of Object.keys(source)) {
    const value: unknown = source[key];
    if (typeof value === 'string' && asciiLowerCase(key) === ref.folded) return value;
  }
  return undefined;
}
