/** parseXml's check that nothing but markup follows the root, on hostile documents (issue 10 item 20, a sibling). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../../shared/errors.ts';
import { endsWithMarkup, parseXml } from './atom.ts';

test('text after the root is refused; comments, PIs and white space after it are not', () => {
  assert.equal(endsWithMarkup('<a/>'), true);
  assert.equal(endsWithMarkup('<a/> <!-- c --> <?pi x?>\n'), true);
  assert.equal(endsWithMarkup('<a/>x'), false);
  assert.equal(endsWithMarkup('<a/><!-- c -->x'), false);
  assert.equal(endsWithMarkup('<a/><!-- open'), false);
  assert.equal(endsWithMarkup('<a/><? open'), false);
  assert.equal(endsWithMarkup('<a/><!-->'), true, '`<!-->` is an unterminated comment; its `>` ends the text');
  assert.equal(endsWithMarkup('<a>1</a><?x <!-- ?>'), true);
  assert.equal(endsWithMarkup(''), false);
});

test('CDATA full of unterminated comment and PI openers is parsed in one pass', () => {
  for (const opener of ['<!--', '<?', '<!--<?']) {
    const doc = `<a><![CDATA[${opener.repeat(200_000 / opener.length)}]]></a>`;
    assert.equal(endsWithMarkup(doc), true);
    assert.equal(parseXml(doc, { maxBytes: 1 << 20 }).localName, 'a');
    assert.throws(() => parseXml(`${doc}x`, { maxBytes: 1 << 20 }), (err: unknown) => err instanceof HubError && err.code === 'malformed_body');
  }
});
