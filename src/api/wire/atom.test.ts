import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attribute,
  cdata,
  childElement,
  childText,
  DEFAULT_XML_LIMITS,
  escapeXml,
  parseXml,
  renderAtomEntry,
  renderAtomFeed,
  resourceHref,
  textElement,
} from './atom.ts';
import { rejects } from '../../../test/fixtures/hub-error.ts';
import { HubError } from '../../shared/errors.ts';


const nest = (depth: number) => '<e>'.repeat(depth) + '</e>'.repeat(depth);

test('parses into elements with local names, decoded text and attributes, and raw CDATA', () => {
  const root = parseXml('\uFEFF<?xml version="1.0"?><!-- c --><a:r xmlns:a="urn:x" a:k="1 &amp; 2"><b i:nil="true"/>'
    + '<c>x &lt;&gt;&amp;&quot;&apos; &#65;&#x1F600;<?pi ignored?><!-- gone --></c><d>\n  <![CDATA[<raw> &amp; ]]>\n</d><e> keep </e></a:r>');
  assert.equal(root.name, 'a:r');
  assert.equal(root.localName, 'r');
  assert.equal(attribute(root, 'k'), '1 & 2');
  assert.equal(childText(root, 'b'), undefined, 'i:nil reads as absent');
  assert.equal(childText(root, 'c'), 'x <>&"\' A\u{1F600}');
  assert.equal(childText(root, 'd'), '<raw> &amp; ', 'CDATA is not decoded; the whitespace around it is formatting');
  assert.equal(childText(root, 'e'), ' keep ', 'plain text keeps its spaces');
  assert.equal(childElement(root, 'missing'), undefined);
  assert.equal(parseXml(Buffer.from('<a>é</a>', 'utf8')).text, 'é');
});

test('a DOCTYPE or ENTITY declaration is refused before parsing and never expanded', () => {
  const laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    + '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>';
  for (const doc of [laughs, '<!DOCTYPE a><a/>', '<!doctype a><a/>', '<a><!ENTITY x "y"></a>', '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&xxe;</a>']) {
    const err = rejects(() => parseXml(doc), 'invalid_request', 'xml_doctype_refused');
    assert.doesNotMatch(err.message, /lollol|root:/);
    rejects(() => parseXml(Buffer.from(doc)), 'invalid_request', 'xml_doctype_refused');
  }
});

test('only the predefined entities and XML character references are decoded', () => {
  rejects(() => parseXml('<a>&nbsp;</a>'), 'malformed_body');
  rejects(() => parseXml('<a>&lol;</a>'), 'malformed_body');
  rejects(() => parseXml('<a>&#0;</a>'), 'malformed_body');
  rejects(() => parseXml('<a>&#xFFFE;</a>'), 'malformed_body');
  rejects(() => parseXml('<a>x & y</a>'), 'malformed_body');
});

test('documents that are not well-formed are malformed_body', () => {
  for (const doc of ['', '   ', 'hello', '<a>', '<a></b>', '<a x=1/>', '<a/><b/>', '<a/>trailing', '<a/>x<!-- c -->', '<__proto__>x</__proto__>', '<a><constructor/></a><b/>']) {
    rejects(() => parseXml(doc), 'malformed_body');
  }
});

test('the document size is bounded', () => {
  rejects(() => parseXml('<a>' + 'x'.repeat(100) + '</a>', { maxBytes: 64 }), 'invalid_request', 'xml_too_large', { limit: 64 });
  const big = '<a>' + 'x'.repeat(DEFAULT_XML_LIMITS.maxBytes) + '</a>';
  rejects(() => parseXml(big), 'invalid_request', 'xml_too_large', { limit: DEFAULT_XML_LIMITS.maxBytes });
  rejects(() => parseXml(Buffer.from(big)), 'invalid_request', 'xml_too_large');
  // Bytes, not characters: 40 two-byte characters are 80 bytes.
  rejects(() => parseXml(`<a>${'é'.repeat(40)}</a>`, { maxBytes: 64 }), 'invalid_request', 'xml_too_large');
});

test('the nesting depth is bounded', () => {
  assert.equal(parseXml(nest(DEFAULT_XML_LIMITS.maxDepth)).localName, 'e');
  rejects(() => parseXml(nest(DEFAULT_XML_LIMITS.maxDepth + 1)), 'invalid_request', 'xml_too_deep', { limit: DEFAULT_XML_LIMITS.maxDepth });
  rejects(() => parseXml(nest(20_000)), 'invalid_request', 'xml_too_deep');
  assert.equal(parseXml(nest(3), { maxDepth: 3 }).localName, 'e');
  rejects(() => parseXml(nest(4), { maxDepth: 3 }), 'invalid_request', 'xml_too_deep', { limit: 3 });
});

test('escaping uses the named entities only, and CDATA splits around "]]>"', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  assert.equal(cdata('plain'), '<![CDATA[plain]]>');
  assert.equal(cdata(''), '<![CDATA[]]>');
  assert.equal(cdata('a]]>b]]>'), '<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>');
  for (const text of ['a]]>b', ']]>', ']]]]>', 'x]]>]]>y', '<![CDATA[nested]]>']) {
    assert.equal(parseXml(`<t>${cdata(text)}</t>`).text, text);
  }
  assert.equal(parseXml(`<t a="${escapeXml('"\'<&>')}">${escapeXml('"\'<&>')}</t>`).text, '"\'<&>');
  assert.equal(textElement('Tags', ''), '');
  assert.equal(textElement('Tags', undefined), '');
  assert.equal(textElement('Tags', 'a&b'), '<Tags>a&amp;b</Tags>');
});

test('entries and feeds: Atom as the default namespace, a:etag only with an etag, feed entries inherit it', () => {
  const parts = { href: 'https://h/hub/jobs/1?api-version=2020-06', title: '1', published: 0, updated: 1000, content: '<X/>' };
  assert.equal(renderAtomEntry(parts),
    '<entry xmlns="http://www.w3.org/2005/Atom"><id>https://h/hub/jobs/1?api-version=2020-06</id><title type="text">1</title>'
    + '<published>1970-01-01T00:00:00.000Z</published><updated>1970-01-01T00:00:01.000Z</updated>'
    + '<link rel="self" href="https://h/hub/jobs/1?api-version=2020-06"/><content type="application/xml"><X/></content></entry>');
  assert.match(renderAtomEntry({ ...parts, etag: 2 }, true),
    /^<entry a:etag="W\/&quot;2&quot;" xmlns:a="http:\/\/schemas.microsoft.com\/ado\/2007\/08\/dataservices\/metadata"><id>/);
  const feed = renderAtomFeed({ title: 'T', href: 'https://h/hub/x?a=1&b=2', updated: 0, entries: [parts, parts] });
  assert.match(feed, /^<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"><title type="text">T<\/title><id>https:\/\/h\/hub\/x\?a=1&amp;b=2<\/id>/);
  assert.equal(feed.match(/<entry>/g)?.length, 2);
  const tree = parseXml(feed);
  assert.equal(tree.children.filter((c) => c.localName === 'entry').length, 2);
});

test('links are absolute, with hub and id as encoded path segments', () => {
  assert.equal(resourceHref({ origin: 'https://localhost:8443/', hub: 'myhub' }, 'registrations', '1-2-3'),
    'https://localhost:8443/myhub/registrations/1-2-3?api-version=2020-06');
  assert.equal(resourceHref({ origin: 'http://h:1', hub: 'my hub' }, 'jobs', 'a%b'), 'http://h:1/my%20hub/jobs/a%25b?api-version=2020-06');
  assert.equal(resourceHref({ origin: 'http://h:1', hub: 'h' }, 'jobs'), 'http://h:1/h/jobs?api-version=2020-06');
});

test('a document holding a character XML cannot carry is malformed; output replaces such characters (#10 item 7)', () => {
  for (const ch of ['\u0001', '\u001f', '\ufffe']) {
    assert.throws(() => parseXml(`<a>x${ch}y</a>`), (e: unknown) => e instanceof HubError && e.code === 'malformed_body' && /U\+00|U\+FFFE/.test(e.message));
    assert.throws(() => parseXml(`<a><![CDATA[x${ch}y]]></a>`), (e: unknown) => e instanceof HubError && e.code === 'malformed_body');
  }
  assert.equal(parseXml('<a>tab\there</a>').text, 'tab\there');
  assert.equal(escapeXml('a\u0001b<'), 'a\ufffdb&lt;');
  assert.equal(cdata('a\u0002b'), '<![CDATA[a\ufffdb]]>');
  assert.equal(parseXml(`<a>${escapeXml('x\u0003y')}</a>`).text, 'x\ufffdy', 'what is written reads back');
});
