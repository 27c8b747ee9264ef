/**
 * Tags and tag expressions (§12): validation of registration tags, parsing of the
 * `ServiceBusNotification-Tags` expression, in-memory evaluation and compilation to SQL. Pure; no I/O.
 */
export type { TagExpression } from './ast.ts';
export { formatTagExpression } from './ast.ts';
export {
  DEFAULT_TAG_EXPRESSION_LIMITS,
  parseTagExpression,
  type ParsedTagExpression,
  type TagExpressionLimits,
} from './parser.ts';
export { evaluate } from './evaluate.ts';
export { anchorTags, assumeTags } from './anchors.ts';
export {
  compileTagExpressionToSql,
  DEFAULT_SQL_TAG_SCHEMA,
  toPostgresPlaceholders,
  type SqlPredicate,
  type SqlTagOptions,
  type SqlTagSchema,
} from './compile-sql.ts';
export {
  canonicalTag,
  MAX_TAG_LENGTH,
  MAX_TAGS_PER_REGISTRATION,
  SYSTEM_TAG_PREFIXES,
  validateTag,
  validateTags,
  type ValidateTagsOptions,
} from './tag.ts';
