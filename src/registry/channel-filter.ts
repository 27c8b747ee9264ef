/**
 * The `$filter` of listRegistrationsByChannel (wire spec §6.13): `Field eq 'literal' [and ...]`, with
 * the JS client's quirks (percent-encoded values inside the quotes, Baidu's missing opening quote)
 * and .NET's generic `ChannelUri eq '<handle>'` that matches a handle of any platform.
 */
import { HubError } from '../shared/errors.ts';
import type { PlatformName, Registration } from './model.ts';

/** Fields that name the main handle, and the platforms each may match (undefined: any). */
const HANDLE_FIELDS: Readonly<Record<string, readonly PlatformName[] | undefined>> = {
  channeluri: undefined,
  devicetoken: ['apns'],
  gcmregistrationid: ['gcm'],
  fcmv1registrationid: ['fcmv1'],
  admregistrationid: ['adm'],
  xiaomiregistrationid: ['xiaomi'],
  endpoint: ['browser'],
  baiduchannelid: ['baidu'],
};

/** Fields that narrow a match by a handle's other parts. */
const DETAIL_FIELDS = ['p256dh', 'auth', 'baiduuserid'] as const;
type DetailField = (typeof DETAIL_FIELDS)[number];

export interface ChannelFilter {
  /** Any of these strings as the handle (the literal, its decoded form, an upper-cased APNs token). */
  handles: string[];
  platforms?: readonly PlatformName[];
  details: Partial<Record<DetailField, string[]>>;
}

function candidates(literal: string): string[] {
  const out = new Set([literal]);
  try {
    out.add(decodeURIComponent(literal));
  } catch {
    // not encoded: the literal alone
  }
  for (const v of [...out]) if (/^[0-9a-fA-F]+$/.test(v)) out.add(v.toUpperCase());
  return [...out];
}

/** Longest `$filter` accepted: a 2048-character handle percent-encoded (x3) plus the browser key fields. */
export const MAX_FILTER_LENGTH = 8192;

/** JavaScript's `\s` (the set the previous regular expression trimmed), tested one character at a time. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a)
    || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

function isFieldChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** Counts the characters the scanner looks at (tests: the work stays linear in the filter's length). */
export interface ScanMeter {
  steps: number;
}

/**
 * Parses the filter with a hand-written scanner: every character is looked at a bounded number of times,
 * so a hostile filter (long runs of spaces, quotes) costs time linear in its length. A regular expression
 * with a lazy group before optional quotes and trailing spaces backtracked quadratically here.
 */
export function parseChannelFilter(filter: string, meter?: ScanMeter): ChannelFilter {
  const bad = (why: string, reason = 'unsupported_filter') =>
    new HubError('invalid_request', `Unsupported $filter '${filter.slice(0, 200)}': ${why}. Use "<HandleField> eq '<value>'".`, { reason });
  if (filter.length > MAX_FILTER_LENGTH) throw bad(`longer than ${MAX_FILTER_LENGTH} characters`, 'filter_too_long');
  const scan = new Scanner(filter);
  const result: ChannelFilter = { handles: [], details: {} };
  let handleSeen = false;
  try {
    let start = 0;
    for (;;) {
      // A clause ends at the next ` and ` (§6.13 splits there, quotes or not) or at the end.
      const end = scan.nextAnd(start);
      const { field, literal } = scan.clause(start, end, bad);
      const key = field.toLowerCase();
      if (key in HANDLE_FIELDS) {
        if (handleSeen) throw bad('more than one handle field');
        handleSeen = true;
        result.handles = candidates(literal);
        const platforms = HANDLE_FIELDS[key];
        if (platforms) result.platforms = platforms;
      } else if ((DETAIL_FIELDS as readonly string[]).includes(key)) {
        result.details[key as DetailField] = candidates(literal);
      } else {
        throw bad(`unknown field ${field}`);
      }
      if (end === filter.length) break;
      start = end + AND.length;
    }
  } finally {
    if (meter) meter.steps += scan.steps;
  }
  if (!handleSeen) throw bad('no handle field');
  return result;
}

/** The clause separator of §6.13: one space each side, any case. */
const AND = ' and ';

/** Positions in the filter; `steps` counts the characters looked at. */
class Scanner {
  steps = 0;

  constructor(private readonly text: string) {}

  private code(i: number): number {
    this.steps++;
    return this.text.charCodeAt(i);
  }

  /** Where the next ` and ` starts at or after `from`, or the end of the text. */
  nextAnd(from: number): number {
    const t = this.text;
    for (let i = from; i + AND.length <= t.length; i++) {
      let k = 0;
      while (k < AND.length && (this.code(i + k) | (k === 0 || k === 4 ? 0 : 0x20)) === AND.charCodeAt(k)) k++;
      if (k === AND.length) return i;
    }
    return t.length;
  }

  /**
   * One clause, `text[start, end)`: `\s* Field \s+ eq \s+ '? literal '? \s*`. The literal is what is left
   * between the optional quotes once trailing spaces are dropped; JS sends Baidu as `BaiduChannelId eq ch'`,
   * so the opening quote may be missing. `''` inside stands for one quote.
   */
  clause(start: number, end: number, bad: (why: string) => HubError): { field: string; literal: string } {
    const t = this.text;
    const notAClause = () => bad(`'${t.slice(start, Math.min(end, start + 100))}' is not "Field eq 'value'"`);
    let i = this.skip(start, end, isSpace);
    const fieldStart = i;
    i = this.skip(i, end, isFieldChar);
    if (i === fieldStart) throw notAClause();
    const field = t.slice(fieldStart, i);
    const afterField = i;
    i = this.skip(i, end, isSpace);
    if (i === afterField || end - i < 2 || (this.code(i) | 0x20) !== 0x65 || (this.code(i + 1) | 0x20) !== 0x71) throw notAClause(); // eq
    const afterEq = i + 2;
    i = this.skip(afterEq, end, isSpace);
    if (i === afterEq) throw notAClause();
    let last = end;
    while (last > i && isSpace(this.code(last - 1))) last--;
    if (i < last && this.code(i) === 0x27) i++;
    if (i < last && this.code(last - 1) === 0x27) last--;
    this.steps += last - i; // the literal is copied and its '' replaced once
    return { field, literal: t.slice(i, last).replaceAll("''", "'") };
  }

  private skip(from: number, end: number, accept: (code: number) => boolean): number {
    let i = from;
    while (i < end && accept(this.code(i))) i++;
    return i;
  }
}

/** The checks a store query cannot do: platform and the handle's other parts. */
export function matchesChannelFilter(reg: Registration, f: ChannelFilter): boolean {
  const h = reg.handle;
  if (f.platforms && !f.platforms.includes(h.platform)) return false;
  if (f.details.p256dh && !(h.platform === 'browser' && f.details.p256dh.includes(h.p256dh))) return false;
  if (f.details.auth && !(h.platform === 'browser' && f.details.auth.includes(h.auth))) return false;
  if (f.details.baiduuserid && !(h.platform === 'baidu' && f.details.baiduuserid.includes(h.baiduUserId))) return false;
  return true;
}
