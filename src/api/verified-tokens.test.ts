import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSasToken, type SasRule } from '../auth/sas.ts';
import { HubError } from '../shared/errors.ts';
import { MAX_VERIFIED_TOKENS, VERIFIED_TOKEN_MS, VerifiedTokens } from './verified-tokens.ts';

const full: SasRule = { name: 'Full', rights: ['Listen', 'Send', 'Manage'], primaryKey: 'pk', secondaryKey: 'sk' };
const nowMs = 1_800_000_000_000;
const nowSeconds = nowMs / 1000;
const code = (c: string) => (e: unknown) => e instanceof HubError && e.code === c;

function verify(tokens: VerifiedTokens, header: string, rules: readonly SasRule[], path = '/myhub/installations/x', at = nowMs) {
  return tokens.verify('myhub', header, tokens.parse('myhub', header), rules, path, at);
}

test('a verified token is trusted for the same rules, a few seconds, any path the audience covers', () => {
  const tokens = new VerifiedTokens();
  const rules = [full];
  const header = createSasToken('https://localhost/', 'Full', 'pk', nowSeconds + 3600);
  assert.equal(verify(tokens, header, rules).name, 'Full');
  // The same header again: the cached answer (a changed key list would not be consulted).
  assert.equal(verify(tokens, header, rules, '/myhub/installations/y').name, 'Full');
});

test('a rotated key is not trusted from the cache: new rules mean a new verification', () => {
  const tokens = new VerifiedTokens();
  const header = createSasToken('https://localhost/', 'Full', 'pk', nowSeconds + 3600);
  verify(tokens, header, [full]);
  assert.throws(() => verify(tokens, header, [{ ...full, primaryKey: 'rotated' }]), code('sas_invalid_signature'));
});

test('after a few seconds a token is verified again', () => {
  const tokens = new VerifiedTokens();
  const rules = [{ ...full }];
  const header = createSasToken('https://localhost/', 'Full', 'pk', nowSeconds + 3600);
  verify(tokens, header, rules);
  rules[0]!.primaryKey = 'changed in place';
  assert.equal(verify(tokens, header, rules, '/myhub/installations/x', nowMs + 1000).name, 'Full');
  assert.throws(() => verify(tokens, header, rules, '/myhub/installations/x', nowMs + VERIFIED_TOKEN_MS), code('sas_invalid_signature'));
});

test('expiry and audience are checked on every request, cached or not', () => {
  const tokens = new VerifiedTokens();
  const rules = [full];
  const header = createSasToken('https://localhost/myhub', 'Full', 'pk', nowSeconds + 1);
  verify(tokens, header, rules);
  assert.throws(() => verify(tokens, header, rules, '/otherhub/installations/x'), code('sas_scope_mismatch'));
  assert.throws(() => verify(tokens, header, rules, '/myhub/installations/x', nowMs + 2000), code('sas_expired'));
});

test('a malformed header is refused by parse, and never cached', () => {
  const tokens = new VerifiedTokens();
  assert.throws(() => tokens.parse('myhub', 'Bearer x'), code('sas_malformed'));
  assert.throws(() => tokens.parse('myhub', undefined), code('sas_missing'));
});

test('bounded: 100,000 distinct verified tokens keep at most MAX_VERIFIED_TOKENS, and a token in steady use stays cached', () => {
  const tokens = new VerifiedTokens();
  const rules = [{ ...full }];
  const steady = createSasToken('https://localhost/', 'Full', 'pk', nowSeconds + 3600);
  verify(tokens, steady, rules);
  for (let i = 0; i < 100_000; i++) {
    // A client that signs every request with a new expiry: each token is a new cache key.
    verify(tokens, createSasToken('https://localhost/', 'Full', 'pk', nowSeconds + 3601 + i), rules);
    if (i % 1000 === 0) verify(tokens, steady, rules);
    assert.ok(tokens.size <= MAX_VERIFIED_TOKENS);
  }
  // The flood did not push out the token used all along: changing the key in place is not noticed.
  rules[0]!.primaryKey = 'changed in place';
  assert.equal(verify(tokens, steady, rules).name, 'Full');
});
