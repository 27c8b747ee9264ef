/**
 * The portal's sessions: a person logs in with the admin key and gets a session cookie (HttpOnly,
 * SameSite=Strict) and a CSRF token the page sends in a header on every write.
 *
 * A session is a signed value, not a row: `v1.{expiresAt}.{nonce}.{mac}` with an HMAC keyed by the admin
 * key, so every node of a cluster (same admin key) accepts it, and changing the admin key ends every
 * session. The CSRF token is another HMAC of the session value, so only a page that read it from the
 * log-in answer (same origin) can send it. Log-out forgets the session on this node (a cookie stolen
 * before log-out stays valid on other nodes until it expires; the lifetime is short for that reason).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';

export const SESSION_COOKIE = 'herald_portal';
/** A working day: long enough not to interrupt, short enough that a forgotten tab does not stay in. */
export const SESSION_TTL_MS = 8 * 3_600_000;
export const CSRF_HEADER = 'x-herald-csrf';

export type SessionCheck = { ok: true; token: string } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class PortalSessions {
  private readonly key: Buffer;
  /** Sessions logged out on this node, until they would have expired anyway. */
  private readonly ended = new Map<string, number>();

  constructor(adminKey: string, private readonly clock: Clock) {
    this.key = createHmac('sha256', adminKey).update('herald portal sessions v1').digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  /** A new session value for the cookie. */
  issue(): { token: string; expiresAt: number } {
    const expiresAt = this.clock.now() + SESSION_TTL_MS;
    const body = `v1.${expiresAt}.${randomBytes(18).toString('base64url')}`;
    return { token: `${body}.${this.mac(body)}`, expiresAt };
  }

  check(token: string | undefined): SessionCheck {
    if (!token) return { ok: false, reason: 'missing' };
    const m = /^(v1\.(\d{1,15})\.[A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m || !equal(this.mac(m[1]!), m[3]!)) return { ok: false, reason: 'invalid' };
    if (Number(m[2]) <= this.clock.now() || this.ended.has(token)) return { ok: false, reason: 'expired' };
    return { ok: true, token };
  }

  /** The CSRF token of a session: the page gets it at log-in and sends it in `X-Herald-CSRF`. */
  csrfToken(session: string): string {
    return this.mac(`csrf\n${session}`);
  }

  csrfValid(session: string, given: string | undefined): boolean {
    return given !== undefined && equal(this.csrfToken(session), given);
  }

  end(token: string): void {
    const m = /^v1\.(\d{1,15})\./.exec(token);
    if (!m) return;
    const now = this.clock.now();
    for (const [t, until] of this.ended) if (until <= now) this.ended.delete(t);
    this.ended.set(token, Number(m[1]));
  }
}

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
