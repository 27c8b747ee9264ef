/**
 * Opaque cursors (house style: "Positions stay in the adapter"). A listing page ends with a cursor, a
 * registration reference carries a hint, and both are strings that only the adapter which made them reads:
 * above the store they are passed along, sealed into continuation tokens and stored in job payloads, never
 * parsed and never used for arithmetic.
 *
 * An adapter encodes its own position tuple (non-negative safe integers) behind a prefix that names the
 * adapter, the listing and the format version, and ends it with a check of all that: `s1r.2n9c.0k7` is
 * SQLite's (s) version 1 registration-listing (r) cursor at seq 2n9c (base 36), check 0k7. Decoding checks
 * every part, so a garbled cursor (the check fails but for one in 46,656), one from another listing and
 * one from another adapter are refused (HubError `invalid_continuation_token`, 400), never read as some
 * other position. The form is compact on purpose: a delivery batch carries one hint per target.
 */
import { HubError } from '../shared/errors.ts';

export interface CursorCodec {
  encode(...position: number[]): string;
  /** The position; HubError `invalid_continuation_token` for anything this codec did not make. */
  decode(cursor: string): number[];
  /** The position, or undefined for anything this codec did not make (hints: a bad one costs a lookup). */
  tryDecode(cursor: unknown): number[] | undefined;
}

export interface CursorOptions {
  /**
   * Also read a bare decimal, or a JSON number: the position as Herald wrote it before cursors were opaque
   * (plan jobs queued and continuation tokens handed out before an upgrade). Only for one-number positions.
   */
  legacyDecimal?: boolean;
}

const PREFIX = /^[a-z][0-9][a-z]$/;
const PART = /^[0-9a-z]{1,11}$/;
const CHECK = /^[0-9a-z]{3}$/;

/**
 * Three base-36 digits of the FNV-1a hash of the cursor's body: catches a changed, lost or added character.
 * Not a secret (continuation tokens are sealed on top); exported for tests.
 */
export function cursorCheck(body: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body.charCodeAt(i), 0x01000193) >>> 0;
  return (h % 46_656).toString(36).padStart(3, '0');
}
const LEGACY = /^[0-9]{1,16}$/;

/** `prefix`: adapter letter, format version digit, listing letter (e.g. 's1r'); `arity`: numbers per position. */
export function cursorCodec(prefix: string, arity: number, options: CursorOptions = {}): CursorCodec {
  if (!PREFIX.test(prefix) || arity < 1) throw new Error(`bad cursor codec ${prefix}/${arity}`);
  const legacy = options.legacyDecimal === true && arity === 1;
  const tryDecode = (cursor: unknown): number[] | undefined => {
    if (legacy && typeof cursor === 'number') return Number.isSafeInteger(cursor) && cursor >= 0 ? [cursor] : undefined;
    if (typeof cursor !== 'string' || cursor.length > 20 + arity * 12) return undefined;
    if (legacy && LEGACY.test(cursor)) {
      const n = Number(cursor);
      return Number.isSafeInteger(n) ? [n] : undefined;
    }
    const parts = cursor.split('.');
    if (parts.length !== arity + 2 || parts[0] !== prefix) return undefined;
    const sum = parts.pop()!;
    if (!CHECK.test(sum) || cursorCheck(parts.join('.')) !== sum) return undefined;
    const out: number[] = [];
    for (const part of parts.slice(1)) {
      if (!PART.test(part)) return undefined;
      const n = parseInt(part, 36);
      // Canonical form only (no leading zeros): one position, one cursor.
      if (!Number.isSafeInteger(n) || n.toString(36) !== part) return undefined;
      out.push(n);
    }
    return out;
  };
  return {
    encode: (...position) => {
      if (position.length !== arity || !position.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new Error(`bad position for cursor ${prefix}: ${position.join(',')}`);
      const body = [prefix, ...position.map((n) => n.toString(36))].join('.');
      return `${body}.${cursorCheck(body)}`;
    },
    decode: (cursor) => {
      const position = tryDecode(cursor);
      if (!position) throw new HubError('invalid_continuation_token', 'The continuation token is not valid for this listing; start again without it.');
      return position;
    },
    tryDecode,
  };
}
