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

export function parseChannelFilter(filter: string): ChannelFilter {
  const bad = (why: string) =>
    new HubError('invalid_request', `Unsupported $filter '${filter.slice(0, 200)}': ${why}. Use "<HandleField> eq '<value>'".`, { reason: 'unsupported_filter' });
  if (filter.length > 8192) throw bad('too long');
  const result: ChannelFilter = { handles: [], details: {} };
  let handleSeen = false;
  for (const clause of filter.split(/ and /i)) {
    // JS sends Baidu as `BaiduChannelId eq ch'`: tolerate the missing opening quote.
    const m = /^\s*([A-Za-z0-9]+)\s+eq\s+'?(.*?)'?\s*$/i.exec(clause);
    if (!m) throw bad(`'${clause.slice(0, 100)}' is not "Field eq 'value'"`);
    const field = m[1]!.toLowerCase();
    const literal = m[2]!.replace(/''/g, "'");
    if (field in HANDLE_FIELDS) {
      if (handleSeen) throw bad('more than one handle field');
      handleSeen = true;
      result.handles = candidates(literal);
      const platforms = HANDLE_FIELDS[field];
      if (platforms) result.platforms = platforms;
    } else if ((DETAIL_FIELDS as readonly string[]).includes(field)) {
      result.details[field as DetailField] = candidates(literal);
    } else {
      throw bad(`unknown field ${m[1]}`);
    }
  }
  if (!handleSeen) throw bad('no handle field');
  return result;
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
