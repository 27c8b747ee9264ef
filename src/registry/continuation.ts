/**
 * Continuation tokens for registry listings (wire spec §6.11): opaque to clients, signed so that a
 * tampered token is refused (400) rather than read, bound to the hub and the query it continues, and
 * written in the URL-safe alphabet so that the JS client's extra encoding and .NET's raw append both
 * give back the same string. What a token carries is the store's opaque cursor (store/cursor.ts): the
 * token seals it, the store alone reads it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HubError } from '../shared/errors.ts';

export class ContinuationTokens {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    // A key of its own, derived from the secret key: tokens never reveal anything about it.
    this.key = createHmac('sha256', secret).update('herald continuation tokens v1').digest();
  }

  /** `scope` names what is listed (hub, operation, filter); a token only continues the same listing. */
  issue(scope: string, after: string): string {
    const body = Buffer.from(JSON.stringify({ a: after, s: digest(scope) })).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The cursor to resume after; HubError invalid_continuation_token if forged or for another listing. */
  read(scope: string, token: string): string {
    const bad = () => new HubError('invalid_continuation_token', 'The continuation token is not valid for this listing; start again without it.');
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || token.length > 512) throw bad();
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw bad();
    let payload: { a?: unknown; s?: unknown };
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad();
    }
    if (payload.s !== digest(scope)) throw bad();
    // A number: a token handed out before cursors were opaque (its store position, which the store still reads).
    if (typeof payload.a === 'number' && Number.isSafeInteger(payload.a) && payload.a >= 0) return String(payload.a);
    if (typeof payload.a !== 'string' || payload.a.length === 0) throw bad();
    return payload.a;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url').slice(0, 22);
  }
}

function digest(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 12);
}
