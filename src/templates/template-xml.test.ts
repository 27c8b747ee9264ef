import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLValidator } from 'fast-xml-parser';
import { HubError } from '../shared/errors.ts';
import { compileTemplate, renderTemplate } from './index.ts';
import { scanXmlValues } from './xml-body.ts';

const renderXml = (body: string, props: Record<string, string>): string => renderTemplate(compileTemplate(body, 'xml'), props);

function refused(body: string, reason: string, position: number, message?: string): HubError {
  let caught: unknown;
  try {
    compileTemplate(body, 'xml');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof HubError, `expected ${JSON.stringify(body)} to be refused`);
  assert.equal(caught.code, 'invalid_request');
  assert.equal(caught.details?.['reason'], reason, caught.message);
  assert.equal(caught.details?.['position'], position, caught.message);
  if (message !== undefined) assert.equal(caught.message, message);
  return caught;
}

const TOAST = '<?xml version="1.0" encoding="utf-8"?>\n<toast launch="$(launch)">\n  <visual>\n'
  + '    <binding template="ToastText02">\n      <text id="1">$(title)</text>\n      <text id="2">.(body, 10)</text>\n'
  + '    </binding>\n  </visual>\n</toast>';

test('a WNS toast template renders attributes and leaf texts (§13.1)', () => {
  assert.equal(renderXml(TOAST, { launch: 'app?id=1', title: 'Hello', body: 'A long message body' }),
    TOAST.replace('$(launch)', 'app?id=1').replace('$(title)', 'Hello').replace('.(body, 10)', 'A long ...'));
  assert.deepEqual(compileTemplate(TOAST, 'xml').properties, ['launch', 'title', 'body']);
});

test('values are escaped for text and for attributes', () => {
  const body = `<a x="$(v)" y='$(v)'>$(v)</a>`;
  assert.equal(renderXml(body, { v: `<b> & "q" 'a'` }),
    `<a x="&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos;" y='&lt;b&gt; &amp; &quot;q&quot; &apos;a&apos;'>&lt;b&gt; &amp; "q" 'a'</a>`);
  assert.equal(renderXml('<a>$(v)</a>', { v: ']]>' }), '<a>]]&gt;</a>');
  assert.equal(renderXml('<a b="$(v)">$(v)</a>', { v: 'l1\nl2\tt\r' }), '<a b="l1&#10;l2&#9;t&#13;">l1\nl2\tt&#13;</a>');
  assert.equal(renderXml('<a b="$(v)">$(v)</a>', { v: 'x\u0000y\u001Fz\uD800\uFFFE😀' }),
    '<a b="x\uFFFDy\uFFFDz\uFFFD\uFFFD😀">x\uFFFDy\uFFFDz\uFFFD\uFFFD😀</a>');
});

test('only an entire attribute value or leaf text is an expression', () => {
  const body = '<a t="x $(v)"><b> $(v)</b><c>Hi $(v)</c><d>$(v)<e/></d><f>$(v)<!-- c --></f></a>';
  assert.equal(renderXml(body, { v: 'V' }), body);
  assert.equal(compileTemplate(body, 'xml').slots.length, 0);
});

test('references are decoded before deciding, and CDATA leaf text counts', () => {
  assert.equal(renderXml('<a b="&#36;(v)">&#x24;(v)</a>', { v: '<' }), '<a b="&lt;">&lt;</a>');
  assert.equal(renderXml('<a><![CDATA[$(v)]]></a>', { v: '<&>' }), '<a>&lt;&amp;&gt;</a>');
  assert.equal(renderXml("<a>{'x &amp; y ' + $(v)}</a>", { v: '&' }), '<a>x &amp; y &amp;</a>');
  assert.equal(renderXml(`<a b="{'&quot;' + 'c'}"/>`, {}), '<a b="&quot;c"/>');
});

test('#() is refused in XML templates (§13.2: JSON only)', () => {
  const err = refused('<a><b>#(n)</b></a>', 'template_numeric_not_allowed', 0);
  assert.equal(err.details?.['bodyPosition'], 6);
  assert.match(err.message, /^Template body error in the element text at position 6: invalid template expression '#\(n\)' at position 0/);
  refused('<a b="{$(x) + }"/>', 'template_expression_syntax', 8);
});

test('DOCTYPE and entity declarations are refused', () => {
  refused('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'template_xml_doctype', 0,
    'Template body is not well-formed XML: at position 0: DOCTYPE declarations are not allowed (they could declare entities).');
  refused('<?xml version="1.0"?><!DOCTYPE a><a/>', 'template_xml_doctype', 21);
  refused('<a><!DOCTYPE a></a>', 'template_xml_doctype', 3);
  refused('<a><!ENTITY x "y"></a>', 'template_xml_syntax', 3);
});

test('only the five predefined entities and numeric character references', () => {
  assert.equal(renderXml('<a b="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;">&#x1F600;</a>', {}), '<a b="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;">&#x1F600;</a>');
  refused('<a>&nbsp;</a>', 'template_xml_entity', 3);
  refused('<a b="&foo;"/>', 'template_xml_entity', 6);
  refused('<a>&amp</a>', 'template_xml_entity', 3);
  refused('<a>AT&T</a>', 'template_xml_entity', 5);
  refused('<a>&#0;</a>', 'template_xml_entity', 3);
  refused('<a>&#xD800;</a>', 'template_xml_entity', 3);
  refused('<a>&#x110000;</a>', 'template_xml_entity', 3);
});

test('malformed XML is refused with the position', () => {
  refused('<a></b>', 'template_xml_syntax', 5, "Template body is not well-formed XML: at position 5: expected '</a>' but found '</b'.");
  refused('<a>', 'template_xml_syntax', 3, "Template body is not well-formed XML: at position 3: expected '</a>' to close the element at position 0 but found end of body.");
  refused('<a/><b/>', 'template_xml_syntax', 4);
  refused('x<a/>', 'template_xml_syntax', 0);
  refused('<a/>x', 'template_xml_syntax', 4);
  refused('', 'template_xml_syntax', 0, 'Template body is not well-formed XML: at position 0: expected the root element but found end of body.');
  refused('<a b=c/>', 'template_xml_syntax', 5);
  refused('<a b="1" b="2"/>', 'template_xml_syntax', 9);
  refused('<a b="1"c="2"/>', 'template_xml_syntax', 8);
  refused('<a b="x<y"/>', 'template_xml_syntax', 7);
  refused('<a b="x/>', 'template_xml_syntax', 9);
  refused('<a>]]></a>', 'template_xml_syntax', 3);
  refused('<a><!-- x -- y --></a>', 'template_xml_syntax', 10);
  refused('<a><!-- x </a>', 'template_xml_syntax', 3);
  refused(' <?xml version="1.0"?><a/>', 'template_xml_syntax', 1);
  refused('<?xml encoding="utf-8"?><a/>', 'template_xml_syntax', 0);
  refused('<a>\u0001</a>', 'template_xml_syntax', 3, 'Template body is not well-formed XML: at position 3: character U+0001 is not allowed in XML.');
  refused('<a><![CDATA[x</a>', 'template_xml_syntax', 3);
  refused('<1a/>', 'template_xml_syntax', 0);
  refused('<a></a >x', 'template_xml_syntax', 8);
});

test('well-formed edge cases are accepted and copied verbatim', () => {
  for (const body of ['\uFEFF<?xml version="1.0"?><a/>', '<!-- c --><?pi x?><a ><b\n c = "1"/></a ><!-- after -->\n',
    '<toast><?xml-stylesheet href="x"?></toast>', '<ns:a xmlns:ns="urn:x"/>', '<a>\r\n</a>', '<é data-x="1"/>']) {
    assert.equal(renderXml(body, {}), body, body);
  }
});

test('nesting depth is bounded', () => {
  const deep = (n: number): string => `${'<a>'.repeat(n)}${'</a>'.repeat(n)}`;
  assert.doesNotThrow(() => compileTemplate(deep(64), 'xml'));
  refused(deep(65), 'template_too_deep', 192);
});

// Property test: whatever a sender puts in a property, the rendered XML is well-formed and a parser reads the
// value back (with characters XML cannot carry replaced by U+FFFD).
test('property: hostile values always render well-formed XML that reads back', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const pool = ['a', ' ', '<', '>', '&', '"', "'", '\n', '\r', '\t', '\u0000', '\u0008', ']]>', '&amp;', '\uD800', '\uDC00', '😀', 'é', '\uFFFF', '$(x)'];
  const compiled = compileTemplate(`<t a="$(v)" b='{$(v) + "!"}'><x>$(v)</x><y>.(v, 8)</y></t>`, 'xml');
  for (let i = 0; i < 300; i++) {
    const v = Array.from({ length: Math.floor(rand() * 8) }, () => pool[Math.floor(rand() * pool.length)]!).join('');
    const out = renderTemplate(compiled, { v });
    assert.equal(XMLValidator.validate(out), true, JSON.stringify(out));
    const clean = v.replace(/[\u0000-\u0008\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
    const values = scanXmlValues(out, 64).map((x) => x.value);
    assert.deepEqual(values.slice(0, 3), [clean, `${clean}!`, clean], JSON.stringify(v));
  }
});
