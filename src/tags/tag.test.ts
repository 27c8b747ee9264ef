import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { canonicalTag, MAX_TAGS_PER_REGISTRATION, validateTag, validateTags } from './tag.ts';

function rejects(fn: () => unknown, reason: string, extra: Record<string, unknown> = {}, message?: RegExp): HubError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HubError, `expected a HubError, got ${String(caught)}`);
  assert.equal(caught.code, 'invalid_request');
  assert.equal(caught.details?.['reason'], reason, caught.message);
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(caught.details?.[k], v, `details.${k}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

test('plain tags made of alphanumerics and _ @ # . : - are valid (§12.1)', () => {
  for (const tag of ['a', 'likes_hockey', 'user@example.com', '#news', 'a.b:c-d', 'A9', 'x'.repeat(120)]) {
    assert.equal(validateTag(tag), tag);
  }
});

test('a tag longer than 120 characters is refused', () => {
  rejects(() => validateTag('x'.repeat(121)), 'tag_too_long', { position: 120 }, /at most 120 characters/);
});

test('an empty tag is refused', () => {
  rejects(() => validateTag(''), 'tag_empty');
});

test('a tag with a forbidden character names the character and its position', () => {
  const err = rejects(() => validateTag('foo bar'), 'tag_invalid_char', { position: 3 });
  assert.match(err.message, /U\+0020/);
  rejects(() => validateTag('a,b'), 'tag_invalid_char', { position: 1 }, /character ','/);
  rejects(() => validateTag('café'), 'tag_invalid_char', { position: 3 });
  rejects(() => validateTag('a&&b'), 'tag_invalid_char', { position: 1 });
  rejects(() => validateTag('$other'), 'tag_invalid_char', { position: 0 });
});

test('a non-string tag is refused', () => {
  rejects(() => validateTag(42), 'tag_not_string');
  rejects(() => validateTags(['a', null]), 'tag_not_string', { index: 1 }, /Tag at index 1/);
});

test('system tags accept any character except } inside the braces (§12.1, §12.2)', () => {
  assert.equal(validateTag('$InstallationId:{inst 1}'), '$InstallationId:{inst 1}');
  assert.equal(validateTag('$UserId:{a&&b||!c (x)}'), '$UserId:{a&&b||!c (x)}');
});

test('the system-tag prefix is matched case-insensitively and canonicalised', () => {
  assert.equal(validateTag('$installationid:{Abc}'), '$InstallationId:{Abc}');
  assert.equal(validateTag('$USERID:{Bob}'), '$UserId:{Bob}');
});

test('malformed system tags are refused', () => {
  rejects(() => validateTag('$UserId:{}'), 'tag_system_malformed', { position: 9 });
  rejects(() => validateTag('$UserId:{bob'), 'tag_system_malformed', { position: 12 });
  rejects(() => validateTag('$UserId:{bob}x'), 'tag_system_malformed', { position: 13 });
  rejects(() => validateTag('$UserId:{a}b}'), 'tag_system_malformed', { position: 11 });
  rejects(() => validateTag('$UserId:bob'), 'tag_invalid_char', { position: 0 });
});

test('a system tag value may have 120 characters, not more', () => {
  assert.equal(validateTag(`$UserId:{${'u'.repeat(120)}}`).length, 9 + 120 + 1);
  rejects(() => validateTag(`$UserId:{${'u'.repeat(121)}}`), 'tag_too_long');
});

test('system tags can be refused where clients must not set them', () => {
  rejects(() => validateTags(['ok', '$UserId:{x}'], { allowSystemTags: false }), 'tag_system_not_allowed', { index: 1 });
  assert.deepEqual(validateTags(['$UserId:{x}']), ['$UserId:{x}']);
});

test('validateTags names the offending tag and its index', () => {
  const err = rejects(() => validateTags(['a', 'b', 'bad tag']), 'tag_invalid_char', { index: 2, tag: 'bad tag', position: 3 });
  assert.match(err.message, /^Tag at index 2 'bad tag' is invalid at position 3/);
});

test('a very long bad tag is shortened in the message and details', () => {
  const err = rejects(() => validateTags(['y'.repeat(5000) + ' ']), 'tag_invalid_char');
  assert.ok(err.message.length < 300);
  assert.equal(String(err.details?.['tag']).length, 65);
});

test('at most 60 distinct tags (§12.1); duplicates are dropped, keeping order', () => {
  const sixty = Array.from({ length: MAX_TAGS_PER_REGISTRATION }, (_, i) => `t${i}`);
  assert.deepEqual(validateTags(sixty), sixty);
  assert.deepEqual(validateTags([...sixty, 't0', 't59']), sixty);
  rejects(() => validateTags([...sixty, 'one-more']), 'too_many_tags', { limit: 60, index: 60 });
  assert.deepEqual(validateTags(['b', 'a', 'b', '$userid:{x}', '$UserId:{x}']), ['b', 'a', '$UserId:{x}']);
});

test('the tag limit can be set per hub', () => {
  rejects(() => validateTags(['a', 'b', 'c'], { maxTags: 2 }), 'too_many_tags', { limit: 2, index: 2 });
});

test('tags must be a list', () => {
  rejects(() => validateTags('a,b'), 'tags_not_list');
  assert.deepEqual(validateTags([]), []);
});

test('a single tag error carries no index', () => {
  assert.deepEqual(rejects(() => validateTag('a b'), 'tag_invalid_char').details,
    { reason: 'tag_invalid_char', tag: 'a b', position: 1 });
});

test('canonicalTag spells a system-tag prefix canonically and leaves every other tag alone (#10 item 6)', () => {
  assert.equal(canonicalTag('$installationid:{Inst-1}'), '$InstallationId:{Inst-1}');
  assert.equal(canonicalTag('$USERID:{Ann}'), '$UserId:{Ann}');
  assert.equal(canonicalTag('$InstallationId:{x}'), '$InstallationId:{x}');
  assert.equal(canonicalTag('Likes_Hockey'), 'Likes_Hockey', 'plain tags are case-sensitive');
  assert.equal(canonicalTag('$installationid'), '$installationid', 'not a system tag without its brace');
});
