import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedRequests, header } from '../../test/fixtures/captured.ts';
import { createHmac } from 'node:crypto';
import { HubError } from '../shared/errors.ts';
import { createSasToken, parseSasToken, requireRight, signSas, verifySasToken, type SasRule } from './sas.ts';

const full: SasRule = {
  name: 'DefaultFullSharedAccessSignature',
  rights: ['Listen', 'Send', 'Manage'],
  primaryKey: 'primary-key-0123456789abcdef0123456789abcdef=',
  secondaryKey: 'secondary-key-0123456789abcdef0123456789abcd=',
};
const listen: SasRule = { ...full, name: 'DefaultListenSharedAccessSignature', rights: ['Listen'], primaryKey: 'lk1', secondaryKey: 'lk2' };
const now = 1_800_000_000;
const code = (c: string) => (e: unknown) => e instanceof HubError && e.code === c;

function check(header: string, path = '/myhub/installations/x', rules = [full, listen]) {
  return verifySasToken({ token: parseSasToken(header), rules, requestPath: path, nowSeconds: now });
}

test('a token made as the JS client makes it verifies with the primary and the secondary key', () => {
  assert.equal(check(createSasToken('https://localhost:8443/', full.name, full.primaryKey, now + 3600)).name, full.name);
  assert.equal(check(createSasToken('https://localhost:8443/', full.name, full.secondaryKey, now + 3600)).name, full.name);
});

test('the signature is HMAC-SHA256 keyed by the UTF-8 key string over the encoded sr (wire spec §2.1)', () => {
  const sr = encodeURIComponent('https://localhost:8443/');
  assert.equal(sr, 'https%3A%2F%2Flocalhost%3A8443%2F');
  const expected = createHmac('sha256', Buffer.from(full.primaryKey, 'utf8')).update(`${sr}\n${now}`).digest('base64');
  assert.equal(signSas(full.primaryKey, sr, String(now)), expected);
});

test('every Authorization header the JS SDK sent in the capture parses as the spec describes', () => {
  const requests = capturedRequests();
  assert.ok(requests.length > 50);
  for (const req of requests) {
    const token = parseSasToken(header(req, 'Authorization'));
    assert.equal(token.sr, 'https%3A%2F%2Flocalhost%3A8443%2F', 'upper-case hex, namespace root');
    assert.equal(token.skn, 'DefaultFullSharedAccessSignature');
    assert.equal(Buffer.from(token.sig, 'base64').length, 32);
  }
});

test('a .NET-style token (lower-case hex, port-less http request URL, other order) verifies', () => {
  const sr = 'http%3a%2f%2flocalhost%2fmyhub%2fmessages%2f';
  const se = String(now + 60);
  const sig = encodeURIComponent(signSas(full.primaryKey, sr, se));
  const header = `SharedAccessSignature sig=${sig}&se=${se}&skn=${full.name}&sr=${sr}`;
  assert.equal(check(header, '/myhub/messages').name, full.name);
  assert.equal(check(header, '/MyHub/messages/').name, full.name, 'path match is case-insensitive');
  assert.throws(() => check(header, '/otherhub/messages'), code('sas_scope_mismatch'));
});

test('forged, expired, unknown and malformed tokens are refused with distinct codes', () => {
  assert.throws(() => check(createSasToken('https://localhost/', full.name, 'wrong-key', now + 10)), code('sas_invalid_signature'));
  assert.throws(() => check(createSasToken('https://localhost/', full.name, full.primaryKey, now - 1)), code('sas_expired'));
  assert.throws(() => check(createSasToken('https://localhost/', 'NoSuchRule', full.primaryKey, now + 10)), code('sas_unknown_rule'));
  // A token signed for one rule's key but naming another rule.
  assert.throws(() => check(createSasToken('https://localhost/', listen.name, full.primaryKey, now + 10)), code('sas_invalid_signature'));
  // Tampering with the expiry breaks the signature.
  const good = createSasToken('https://localhost/', full.name, full.primaryKey, now + 10);
  assert.throws(() => check(good.replace(`se=${now + 10}`, `se=${now + 99999}`)), code('sas_invalid_signature'));

  for (const bad of [
    'Bearer abc',
    'SharedAccessSignature ',
    'SharedAccessSignature sr=a&sig=b&se=1',
    'SharedAccessSignature sr=a&sig=b&se=soon&skn=c',
    'SharedAccessSignature sr=a&sig=%E0%A4%A&se=1&skn=c',
    'SharedAccessSignature sr=a&sr=a&sig=b&se=1&skn=c',
    'SharedAccessSignature garbage',
  ]) {
    assert.throws(() => parseSasToken(bad), code('sas_malformed'), bad);
  }
  assert.throws(() => parseSasToken(undefined), code('sas_missing'));
});

test('rights: Listen cannot Send or Manage; Manage implies Listen and Send', () => {
  assert.throws(() => requireRight(listen, 'Send'), (e: unknown) => e instanceof HubError && e.code === 'missing_claim' && e.message === 'Send claim is required for this operation.');
  assert.throws(() => requireRight(listen, 'Manage'), code('missing_claim'));
  requireRight(listen, 'Listen');
  requireRight({ ...full, rights: ['Manage'] }, 'Send');
  requireRight({ ...full, rights: ['Manage'] }, 'Listen');
  assert.throws(() => requireRight({ ...full, rights: ['Send'] }, 'Listen'), code('missing_claim'));
});

/** A token as azure-sb 0.11 makes it: sr = lower(encodeURIComponent(lower(request URL with its query))), unencoded path. */
function azureSbToken(uri: string, key = full.primaryKey): string {
  const sr = encodeURIComponent(uri.toLowerCase()).toLowerCase();
  const se = String(now + 300);
  return `SharedAccessSignature sig=${encodeURIComponent(signSas(key, sr, se))}&se=${se}&skn=${full.name}&sr=${sr}`;
}

test('the audience is compared in one normal form: unencoded, upper- or lower-case escapes, trailing slash (#10 item 3)', () => {
  // azure-sb signs the unencoded path; its request line carries %7B...%7D.
  const sb = azureSbToken('https://127.0.0.1:443/myhub/tags/$InstallationId:{inst 1}/registrations?api-version=2013-04');
  for (const path of [
    '/myhub/tags/$InstallationId:%7Binst%201%7D/registrations',
    '/myhub/tags/$installationid:%7binst%201%7d/registrations',
    '/myhub/tags/$InstallationId:%7Binst%201%7D/registrations/',
  ]) {
    assert.equal(check(sb, path).name, full.name, path);
  }
  // A .NET token whose request URL still holds escapes, encoded once more (%257B); a scope without its trailing slash.
  const dotnetSr = encodeURIComponent('http://localhost/myhub/tags/$installationid:%7bx%7d/registrations/').toLowerCase();
  const se = String(now + 60);
  const dotnet = `SharedAccessSignature sr=${dotnetSr}&sig=${encodeURIComponent(signSas(full.primaryKey, dotnetSr, se))}&se=${se}&skn=${full.name}`;
  assert.equal(check(dotnet, '/myhub/tags/$InstallationId:%7Bx%7D/registrations').name, full.name);
  assert.equal(check(azureSbToken('https://h/myhub'), '/myhub/messages/').name, full.name, 'a hub scope without trailing slash covers the hub');

  // Still a prefix of whole segments: an encoded '/' stays inside its segment, a partial segment covers nothing.
  assert.throws(() => check(azureSbToken('https://h/myhub/registrations/a'), '/myhub/registrations/a%2Fb'), code('sas_scope_mismatch'));
  assert.throws(() => check(azureSbToken('https://h/myhub/reg'), '/myhub/registrations'), code('sas_scope_mismatch'));
  assert.throws(() => check(sb, '/myhub/tags/$InstallationId:%7Binst%202%7D/registrations'), code('sas_scope_mismatch'));
  assert.throws(() => check(azureSbToken('https://h/myhub/messages'), '/myhub'), code('sas_scope_mismatch'), 'a longer scope does not cover a shorter path');
});

test('sig is decoded strictly: junk after valid base64, other lengths and stray characters are malformed (#10 item 8)', () => {
  const good = createSasToken('https://localhost/', full.name, full.primaryKey, now + 10);
  const sig = decodeURIComponent(/sig=([^&]+)/.exec(good)![1]!);
  assert.equal(check(good).name, full.name);
  for (const junk of [`${sig}junk`, `${sig}%3D`, `${sig}AAAA`, sig.slice(0, -1), `!${sig}`, sig.replace('=', ''), `${sig.slice(0, 20)}*${sig.slice(21)}`]) {
    const header = good.replace(/sig=[^&]+/, `sig=${encodeURIComponent(junk)}`);
    assert.throws(() => parseSasToken(header), code('sas_malformed'), junk);
  }
  // A non-canonical last character (unused low bits set) decodes to the same bytes; it is refused too.
  const sibling = String.fromCharCode(sig.charCodeAt(42) + 1); // the 43rd character of a 32-byte value has two zero bits
  assert.throws(() => parseSasToken(good.replace(/sig=[^&]+/, `sig=${encodeURIComponent(sig.slice(0, 42) + sibling + '=')}`)), code('sas_malformed'));
  // A '+' sent without percent-encoding (form decoding reads it as a space) still verifies.
  const withPlus = Array.from({ length: 200 }, (_, i) => createSasToken('https://localhost/', full.name, full.primaryKey, now + 10 + i))
    .find((t) => decodeURIComponent(/sig=([^&]+)/.exec(t)![1]!).includes('+'))!;
  const raw = withPlus.replace(/sig=([^&]+)/, (_m, s: string) => `sig=${decodeURIComponent(s)}`);
  assert.match(raw, /sig=[^&]*\+/);
  assert.equal(check(raw).name, full.name);
});
