/**
 * APNs expiry literals (wire spec §6.4, §7.1, §13.1): an Apple template's `Expiry` and the legacy send
 * header `ServiceBusNotification-Apns-Expiry` are dates, written the ways the clients write them, or `0`.
 * They become `apns-expiration`, seconds since the epoch. Strict: text that names no date is refused at the
 * edge rather than failing every send later.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';

// ISO 8601 / W3C DTF, the JS client's toISOString and .NET's round-trip form (7 fraction digits). No offset: UTC.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$/;
// JS Date.toString(), which the JS client writes by mistake (§6.4): `Tue Jan 01 2030 00:00:00 GMT+0000 (…)`.
const JS_STRING = new RegExp(`^${DAY} ${MONTH} (\\d{2}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT([+-]\\d{4})(?: \\([^()]*\\))?$`, 'i');
// RFC 1123 (Date.toUTCString(), HTTP dates): `Tue, 01 Jan 2030 00:00:00 GMT`.
const RFC_1123 = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) (?:GMT|UTC)$`, 'i');
// .NET DateTime.ToString(CultureInfo.InvariantCulture): `01/31/2030 13:00:00` (month first), taken as UTC.
const INVARIANT = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})$/;

/** Milliseconds of a calendar date and time in UTC, or undefined when no such moment exists (2030-02-30, 25:00). */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return new Date(t).getUTCDate() === d ? t : undefined;
}

/** `+hh:mm`, `-hhmm`: minutes east of UTC. */
function offsetMinutes(zone: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) return undefined;
  return (m[1] === '+' ? 1 : -1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** Milliseconds since the epoch of a date literal in one of the accepted forms, or undefined. */
export function parseExpiryDate(text: string): number | undefined {
  const v = text.trim();
  let m = ISO.exec(v);
  if (m) {
    const [y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone = 'Z'] = m.slice(1);
    const t = utc(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0.${frac}`) * 1000));
    const off = zone.toUpperCase() === 'Z' ? 0 : offsetMinutes(zone);
    return t === undefined || off === undefined ? undefined : t - off * 60_000;
  }
  m = JS_STRING.exec(v);
  if (m) {
    const [mon, d, y, h, mi, s, zone] = m.slice(1) as [string, string, string, string, string, string, string];
    const t = utc(Number(y), MONTHS.indexOf(mon.toLowerCase()) + 1, Number(d), Number(h), Number(mi), Number(s), 0);
    const off = offsetMinutes(zone);
    return t === undefined || off === undefined ? undefined : t - off * 60_000;
  }
  m = RFC_1123.exec(v);
  if (m) {
    const [d, mon, y, h, mi, s] = m.slice(1) as [string, string, string, string, string, string];
    return utc(Number(y), MONTHS.indexOf(mon.toLowerCase()) + 1, Number(d), Number(h), Number(mi), Number(s), 0);
  }
  m = INVARIANT.exec(v);
  if (m) {
    const [mo, d, y, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    return utc(y, mo, d, h, mi, s, 0);
  }
  return undefined;
}

/**
 * `apns-expiration` for an expiry literal: `0` stays 0 ("deliver once or never"), a whole number is already
 * seconds since the epoch (what apns-expiration itself takes), a date becomes its seconds. Undefined when the
 * text is none of these.
 */
export function apnsExpirationSeconds(text: string): number | undefined {
  const v = text.trim();
  if (/^\d{1,12}$/.test(v)) return Number(v);
  const ms = parseExpiryDate(v);
  return ms === undefined || ms < 0 ? undefined : Math.floor(ms / 1000);
}

/** What the messages say an expiry may be. */
export const EXPIRY_FORMS = 'a date (2030-01-01T00:00:00Z, or as JavaScript, .NET or HTTP write dates), seconds since 1970, 0, or an expression';
