import { HubError } from '../shared/errors.ts';

/** §12.1 / §14: a tag is at most 120 characters. */
export const MAX_TAG_LENGTH = 120;
/** §12.1 / §14: a registration or installation carries at most 60 tags. */
export const MAX_TAGS_PER_REGISTRATION = 60;

/**
 * The system tags an installation materialises (§5.2, §12.1). Clients write the prefix in varying case
 * (`$InstallationID:{…}` appears in Microsoft's own web SDK readme), so the prefix is matched
 * case-insensitively and rewritten to this canonical spelling; the value inside the braces is kept as is.
 * UNCONFIRMED whether Azure folds the prefix; folding can only make more sends reach their target.
 */
export const SYSTEM_TAG_PREFIXES = ['$InstallationId:{', '$UserId:{'] as const;

// §12.1: alphanumerics and `_ @ # . : -`. "Alphanumeric" is read as ASCII, like the .NET property-name rule.
const PLAIN_TAG_CHAR = /^[A-Za-z0-9_@#.:-]$/;

export function isPlainTagChar(ch: string): boolean {
  return PLAIN_TAG_CHAR.test(ch);
}

/** The canonical prefix when `text` starts with a system-tag prefix at `start` (case-insensitive). */
export function matchSystemTagPrefix(text: string, start = 0): string | undefined {
  for (const prefix of SYSTEM_TAG_PREFIXES) {
    if (text.length - start >= prefix.length
      && text.slice(start, start + prefix.length).toLowerCase() === prefix.toLowerCase()) {
      return prefix;
    }
  }
  return undefined;
}

/**
 * A tag as stored: a system-tag prefix in any case (`$installationid:{X}`) is spelled canonically, as
 * validateTag and tag expressions do; anything else is returned as given.
 */
export function canonicalTag(tag: string): string {
  const prefix = matchSystemTagPrefix(tag);
  return prefix === undefined ? tag : prefix + tag.slice(prefix.length);
}

export interface TagProblem {
  readonly reason: 'tag_empty' | 'tag_too_long' | 'tag_invalid_char' | 'tag_system_malformed';
  readonly message: string;
  /** 0-based offset inside the tag where the problem was found. */
  readonly position: number;
}

/**
 * Checks one tag without throwing, so the tag-expression lexer and the registry share one rule.
 * Returns the canonical tag or a problem.
 *
 * The 120-character bound (§12.1) applies to a plain tag as a whole and to the value inside the braces of a
 * system tag: the value is an installation id or user id, and the bound on those belongs to the registry,
 * not to the prefix Herald adds. (UNCONFIRMED: the docs do not say how system tags are counted.)
 */
export function checkTag(tag: string): { tag: string } | { problem: TagProblem } {
  if (tag.length === 0) {
    return { problem: { reason: 'tag_empty', message: 'a tag must not be empty', position: 0 } };
  }
  const prefix = matchSystemTagPrefix(tag);
  if (prefix !== undefined) {
    const close = tag.indexOf('}', prefix.length);
    if (close === -1) {
      return problem('tag_system_malformed', `a system tag must end with '}'`, tag.length);
    }
    if (close === prefix.length) {
      return problem('tag_system_malformed', 'a system tag needs a value between the braces', close);
    }
    if (close !== tag.length - 1) {
      return problem('tag_system_malformed', `nothing may follow the '}' of a system tag`, close + 1);
    }
    if (close - prefix.length > MAX_TAG_LENGTH) {
      return problem('tag_too_long', `a system tag value may have at most ${MAX_TAG_LENGTH} characters`,
        prefix.length + MAX_TAG_LENGTH);
    }
    return { tag: prefix + tag.slice(prefix.length) };
  }
  for (let i = 0; i < tag.length; i++) {
    const ch = tag.charAt(i);
    if (!PLAIN_TAG_CHAR.test(ch)) {
      return problem('tag_invalid_char',
        `${describeChar(ch)} is not allowed; tags may contain only letters, digits and _ @ # . : -`, i);
    }
  }
  if (tag.length > MAX_TAG_LENGTH) {
    return problem('tag_too_long', `a tag may have at most ${MAX_TAG_LENGTH} characters`, MAX_TAG_LENGTH);
  }
  return { tag };
}

function problem(reason: TagProblem['reason'], message: string, position: number): { problem: TagProblem } {
  return { problem: { reason, message, position } };
}

export interface ValidateTagsOptions {
  /** Whether `$InstallationId:{…}` / `$UserId:{…}` are accepted. Default true; the registry may refuse them
   * from clients because Herald derives them from the installation. */
  readonly allowSystemTags?: boolean;
  /** Default {@link MAX_TAGS_PER_REGISTRATION}. */
  readonly maxTags?: number;
}

/** Validates one tag and returns its canonical form (system-tag prefix spelled canonically). */
export function validateTag(tag: unknown, index?: number, options: ValidateTagsOptions = {}): string {
  const where = index === undefined ? 'Tag' : `Tag at index ${index}`;
  const at = index === undefined ? {} : { index };
  if (typeof tag !== 'string') {
    throw new HubError('invalid_request', `${where} must be a string.`, { reason: 'tag_not_string', ...at });
  }
  const result = checkTag(tag);
  if ('problem' in result) {
    const p = result.problem;
    throw new HubError('invalid_request', `${where} ${quoteForMessage(tag)} is invalid at position ${p.position}: ${p.message}.`,
      { reason: p.reason, tag: shorten(tag), ...at, position: p.position });
  }
  if (options.allowSystemTags === false && matchSystemTagPrefix(result.tag) !== undefined) {
    throw new HubError('invalid_request', `${where} ${quoteForMessage(tag)} is a system tag, which Herald sets itself.`,
      { reason: 'tag_system_not_allowed', tag: shorten(tag), ...at, position: 0 });
  }
  return result.tag;
}

/**
 * Validates a registration's or installation's tags (§12.1). Tags form a set, so duplicates (after
 * canonicalisation) are dropped, keeping first-seen order; the 60-tag bound counts distinct tags.
 */
export function validateTags(tags: unknown, options: ValidateTagsOptions = {}): string[] {
  if (!Array.isArray(tags)) {
    throw new HubError('invalid_request', 'Tags must be a list of strings.', { reason: 'tags_not_list' });
  }
  const maxTags = options.maxTags ?? MAX_TAGS_PER_REGISTRATION;
  const seen = new Set<string>();
  for (let i = 0; i < tags.length; i++) {
    seen.add(validateTag(tags[i], i, options));
    if (seen.size > maxTags) {
      throw new HubError('invalid_request',
        `Too many tags: at most ${maxTags} distinct tags are allowed; the tag at index ${i} goes over the limit.`,
        { reason: 'too_many_tags', limit: maxTags, index: i });
    }
  }
  return [...seen];
}

export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || ch === ' ') return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `character '${ch}'`;
}

/** Tags can be arbitrarily long on bad input; keep messages and details bounded. */
export function shorten(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function quoteForMessage(text: string): string {
  return `'${shorten(text)}'`;
}
