/** The WNS payload's XML root (toast, tile, badge or raw), also on hostile bodies (issue 10 item 20, a sibling). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xmlRoot } from './wns-payload.ts';

const root = (text: string) => xmlRoot(Buffer.from(text));

test('the root element is found after a BOM, white space, the XML declaration and comments', () => {
  assert.equal(root('<toast><visual/></toast>'), 'toast');
  assert.equal(root('\uFEFF  <?xml version="1.0" encoding="utf-8"?>\n<!-- a --> <!--b--><tile/>'), 'tile');
  assert.equal(root('<badge value="1"/>'), 'badge');
  assert.equal(root('<my.root_1-x\t/>'), 'my.root_1-x');
  for (const raw of ['', 'hello', '{"a":1}', '<', '<1a/>', '<?xml version="1.0">', '<!-- open', '<toast', 'x<toast/>', '<!-- a -->x<!-- b --><toast/>']) {
    assert.equal(root(raw), undefined, raw);
  }
});

test('a body of many comments (up to the 1024 characters looked at) is answered, not backtracked over', () => {
  // `(?:<!--[\s\S]*?-->\s*)*` tried 2^145 ways to split these before failing.
  assert.equal(root('<!---->'.repeat(146)), undefined);
  assert.equal(root(`${'<!---->'.repeat(146)}!`), undefined);
  assert.equal(root(`${'<!---->'.repeat(140)}<toast/>`), 'toast');
  assert.equal(root(`${'<!-- -->'.repeat(200)}<toast/>`), undefined, 'the root lies beyond the first 1024 characters');
  assert.equal(root(`<?xml${' '.repeat(2000)}`), undefined);
});
