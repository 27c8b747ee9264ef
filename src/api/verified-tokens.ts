/**
 * SAS tokens whose signature was verified, kept for a few seconds. A client signs one token and sends it
 * with every request until it nears expiry (the JS and .NET clients cache theirs), so recomputing two
 * HMACs per request (primary and secondary key) was most of what authentication cost on the Azure
 * surface. An entry is used only while the hub's authorization rules are the very same ones it was
 * verified against (HubService.authContext hands out a new list when a key is rotated or a rule deleted,
 * and at least every few seconds), and expiry and audience are checked on every request as before.
 */
import { BoundedMap } from '../shared/bounded-map.ts';
import { checkAudience, parseSasToken, verifySasToken, type SasRule, type SasToken } from '../auth/sas.ts';

interface Entry {
  token: SasToken;
  rules: readonly SasRule[];
  rule: SasRule;
  /** Milliseconds since the epoch. */
  until: number;
}

/** How long a verified signature is trusted without computing it again. */
export const VERIFIED_TOKEN_MS = 5_000;
/**
 * Tokens kept (headers are at most 4 KiB: 40 MiB at worst). The least recently used goes first, so a
 * flood of one-off tokens does not push out the ones clients send on every request.
 */
export const MAX_VERIFIED_TOKENS = 10_000;

export class VerifiedTokens {
  private readonly entries = new BoundedMap<Entry>({ maxEntries: MAX_VERIFIED_TOKENS });
  /** Entries kept (for tests of the bound). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The token of an Authorization header, parsed (refused if malformed) before anything is looked up;
   * `verify` then checks it against the hub's rules.
   */
  parse(hubKey: string, header: string | undefined): SasToken {
    return (header !== undefined && this.entries.get(`${hubKey}\n${header}`)?.token) || parseSasToken(header);
  }

  /** The rule that signed `token` (the parsed `header`), with the errors of verifySasToken. */
  verify(hubKey: string, header: string, token: SasToken, rules: readonly SasRule[], requestPath: string, nowMs: number): SasRule {
    const key = `${hubKey}\n${header}`;
    const nowSeconds = Math.floor(nowMs / 1000);
    const known = this.entries.get(key);
    if (known && known.rules === rules && known.until > nowMs && Number(token.se) >= nowSeconds) {
      checkAudience(token, requestPath);
      return known.rule;
    }
    const rule = verifySasToken({ token, rules, requestPath, nowSeconds });
    this.entries.set(key, { token, rules, rule, until: nowMs + VERIFIED_TOKEN_MS });
    return rule;
  }
}
