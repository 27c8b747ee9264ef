/**
 * The template expression language (§13): compile a template body once, render it per device by
 * substitution, and validate single expressions such as header values. Pure; no I/O.
 */
import { parseTemplateExpression, type TemplateExpression } from './expression.ts';

export {
  compileTemplate,
  DEFAULT_TEMPLATE_LIMITS,
  renderTemplate,
  renderTemplateExpression,
  type CompiledTemplate,
  type SlotEncoding,
  type TemplateFormat,
  type TemplateLimits,
  type TemplateSlot,
} from './template.ts';
export {
  isExpressionStart,
  MAX_PROPERTY_NAME_LENGTH,
  type ExpressionTerm,
  type PropertyReference,
  type TemplateExpression,
} from './expression.ts';
export { prepareProperties, TemplateProperties, type PropertySource } from './properties.ts';
export { isTemplateNumber } from './evaluate.ts';

/**
 * Validates a value that may be an expression outside a body: WnsHeaders, ApnsHeaders, installation template
 * headers, Apple Expiry/Priority (§13.1). Literals are returned as a one-term literal expression; checking that a
 * literal parses as a priority or date is the caller's job. `#(p)` is accepted, as the .NET validator does, and
 * renders as plain text.
 */
export function validateTemplateExpression(value: string): TemplateExpression {
  return parseTemplateExpression(value, { allowNumeric: true });
}
