/**
 * Registration rows as both adapters read and write them: the SQLite and PostgreSQL schemas name the
 * registry's columns alike and keep the same JSON document beside them, so the codec is written once.
 * SQL stays in each adapter.
 */
import { HubError } from '../shared/errors.ts';
import type { Installation, PlatformName, PnsHandle, Registration, RegistrationInput } from '../registry/model.ts';
import { assumeTags, compileTagExpressionToSql, type TagExpression } from '../tags/index.ts';
import type { Page, RegistryFilter } from './store.ts';

export interface RegistrationRow {
  seq: number;
  id: string;
  kind: string;
  platform: string;
  handle: string;
  installation_id: string | null;
  document: string;
  etag: number;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

/**
 * The JSON of a registration beside its columns. `handle` is left out when the platform and handle columns
 * say all of it (every platform but Web Push, WNS tiles and Baidu): it was a tenth of a registry's bytes.
 * Documents written before keep theirs, and read the same.
 */
export type RegistrationDocument = Pick<RegistrationInput, 'tags' | 'pushVariables' | 'template'> & { handle?: PnsHandle };

export function toRegistration(row: RegistrationRow): Registration {
  const doc = JSON.parse(row.document) as RegistrationDocument;
  return {
    id: row.id,
    kind: row.kind as Registration['kind'],
    handle: doc.handle ?? ({ platform: row.platform, value: row.handle } as PnsHandle),
    tags: doc.tags,
    ...(doc.pushVariables ? { pushVariables: doc.pushVariables } : {}),
    ...(doc.template ? { template: doc.template } : {}),
    ...(row.installation_id === null ? {} : { installationId: row.installation_id }),
    etag: row.etag,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
  };
}

/** Whether a handle is all in the columns (platform, handle). */
const plainHandle = (h: PnsHandle): boolean => Object.keys(h).length === 2;

export function documentOf(reg: Pick<RegistrationInput, 'handle' | 'tags' | 'pushVariables' | 'template'>): string {
  const doc: RegistrationDocument = plainHandle(reg.handle) ? { tags: reg.tags } : { handle: reg.handle, tags: reg.tags };
  if (reg.pushVariables) doc.pushVariables = reg.pushVariables;
  if (reg.template) doc.template = reg.template;
  return JSON.stringify(doc);
}

/** The same set of tags, in any order or repetition. */
export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  const setA = new Set(a);
  const setB = new Set(b);
  return setA.size === setB.size && b.every((t) => setA.has(t));
}

/** How tag expressions compile against registration_tags: each probe names its primary key (hub_key, tag, seq). */
export const TAG_SCHEMA = {
  tagTable: 'registration_tags',
  registrationIdColumn: 'seq',
  outerIdColumn: 'r.seq',
  scopeColumn: 'hub_key',
  outerScopeColumn: 'r.hub_key',
} as const;

/** A page of `limit` items from `rows` read with one extra: the extra row says there is a next page. */
export function page<R extends { seq: number }, T>(rows: R[], limit: number, map: (r: R) => T, cursor: (seq: number) => string): Page<T> {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(map);
  return more ? { items, next: cursor(rows[limit - 1]!.seq) } : { items };
}

export function ownedByInstallation(id: string): HubError {
  return new HubError(
    'registration_owned_by_installation',
    `Registration ${id} belongs to an installation: change or delete it through the installation (PUT, PATCH or DELETE /installations/{installationId}).`,
  );
}

/** The handle string an installation is addressed by (a subscription's endpoint for browsers). */
export function installationHandle(inst: Installation): string {
  return typeof inst.pushChannel === 'string' ? inst.pushChannel : inst.pushChannel.endpoint;
}

/** Whether an expression names a system tag (`$InstallationId:{…}`, `$UserId:{…}`: the only tags starting with '$'). */
export function namesSystemTag(e: TagExpression): boolean {
  switch (e.kind) {
    case 'tag':
      return e.tag.startsWith('$');
    case 'not':
      return namesSystemTag(e.operand);
    default:
      return e.operands.some(namesSystemTag);
  }
}

/** A count the tag rows alone can answer: a tag expression and a platform (each tag row carries its registration's). */
export interface TagRowCount {
  expression: TagExpression;
  platform?: PlatformName;
}

/**
 * The count that the tag rows alone can answer: nothing else filters (but the platform, which tag rows
 * carry, and liveness, which the adapter checks: no registration of the hub expired and unpurged) and no
 * system tag is named (those are answered from registration columns). Undefined otherwise.
 */
export function tagOnlyCount(f: RegistryFilter): TagRowCount | undefined {
  const { tagExpression, liveAt: _liveAt, platform, ...rest } = f;
  if (!tagExpression || Object.values(rest).some((v) => v !== undefined) || namesSystemTag(tagExpression)) return undefined;
  return platform === undefined ? { expression: tagExpression } : { expression: tagExpression, platform };
}

/** One anchor's share of a count from tag rows (see tagRowCountParts). */
export interface TagRowCountPart {
  anchor: string;
  /** What each of the anchor's rows must still pass (probes of the tag index); absent: nothing. */
  condition?: TagExpression;
}

/**
 * A count from tag rows as a sum over the anchors, each registration counted once, on the first anchor it
 * carries (every match carries one: anchorTags): the part of anchor i counts its rows that carry none of
 * the anchors before it and pass the expression, simplified for what is then known (assumeTags). So
 * `sports || lang_fr` reads each tag's rows once and probes only `lang_fr`'s, for `sports` (a DISTINCT over
 * both sorted every seq and tested the whole expression on each again) (#13). Anchors the caller expects
 * to have the most rows go first: their rows need the fewest probes. Parts that match nothing are left out.
 */
export function tagRowCountParts(expression: TagExpression, anchors: readonly string[]): TagRowCountPart[] {
  const parts: TagRowCountPart[] = [];
  const known = new Map<string, boolean>();
  const before: TagExpression[] = [];
  for (const anchor of new Set(anchors)) {
    known.set(anchor, true);
    const rest = assumeTags(expression, known);
    if (rest !== false) {
      const operands = rest === true ? before : [...before, rest];
      const condition: TagExpression | undefined = operands.length === 0 ? undefined : operands.length === 1 ? operands[0]! : { kind: 'and', operands: [...operands] };
      parts.push(condition ? { anchor, condition } : { anchor });
    }
    known.set(anchor, false);
    before.push({ kind: 'not', operand: { kind: 'tag', tag: anchor } });
  }
  return parts;
}

/**
 * The count of `tagRowCountParts` as one SQL expression with `?` placeholders, the same on both adapters: a
 * sum of one count per part over the anchor's tag rows (`r`, with the platform column when the count has
 * one), each probing what is left of the expression.
 */
export function tagRowCountSql(hubKey: string, platform: string | undefined, parts: readonly TagRowCountPart[]): { expression: string; params: unknown[] } {
  const params: unknown[] = [];
  const sums = parts.map(({ anchor, condition }) => {
    // The anchor's rows stand as `r` for the probes: they have the registration's hub_key and seq.
    const where = ['r.hub_key = ?', 'r.tag = ?'];
    params.push(hubKey, anchor);
    if (platform !== undefined) {
      where.push('r.platform = ?');
      params.push(platform);
    }
    if (condition) {
      const p = compileTagExpressionToSql(condition, TAG_SCHEMA);
      where.push(p.sql);
      params.push(...p.params);
    }
    return `(SELECT count(*) FROM registration_tags r WHERE ${where.join(' AND ')})`;
  });
  return { expression: `(${sums.length === 0 ? '0' : sums.join(' + ')})`, params };
}
