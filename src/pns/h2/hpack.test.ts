import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderField } from './hpack.ts';

test('RFC 7541 C.4.1: a Huffman-coded request decodes', () => {
  const block = Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex');
  assert.deepEqual(new HpackDecoder().decode(block), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
});

test('encoder and decoder agree across requests: repeated fields come from the dynamic table, evictions included', () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const sizes: number[] = [];
  for (let i = 0; i < 300; i++) {
    const fields: HeaderField[] = [
      [':method', 'POST'],
      [':path', `/3/device/${i.toString(16).padStart(64, '0')}`],
      ['authorization', 'bearer eyJhbGciOiJFUzI1NiJ9.payload.signature'],
      ['apns-topic', 'com.example.app'],
      ['apns-push-type', i % 2 ? 'alert' : 'background'],
      // A value per 10 requests, 400 bytes each: the 4096-byte table keeps evicting.
      [`x-rotating-${i % 13}`, String(i % 10).repeat(400)],
    ];
    const block = enc.encode(fields);
    sizes.push(block.length);
    assert.deepEqual(dec.decode(block), fields, `request ${i}`);
  }
  // The path (literal) dominates once topic and push type are indexed.
  assert.ok(sizes[2]! < sizes[0]!, 'the third block is smaller than the first');
});

test('a smaller peer table size is announced in the next block and honoured', () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096);
  dec.decode(enc.encode([['apns-topic', 'a'.repeat(100)]]));
  enc.setMaxTableSize(0);
  const fields: HeaderField[] = [['apns-topic', 'a'.repeat(100)], ['apns-push-type', 'alert']];
  const block = enc.encode(fields);
  assert.equal(block[0], 0x20, 'starts with a size update to 0');
  assert.deepEqual(dec.decode(block), fields);
  assert.deepEqual(dec.decode(enc.encode(fields)), fields);
});

test('malformed blocks throw HpackError: index 0, an index past the tables, truncation, bad Huffman padding', () => {
  const cases: [string, string][] = [
    ['80', 'index 0'],
    ['ff00', 'past the tables'],
    ['0f', 'truncated integer'],
    ['0085', 'truncated string'],
    // A literal name of one Huffman byte 0x00: '0' (00000) then padding 000, which is not the EOS prefix.
    ['00810001', 'bad padding'],
    ['3fe21f', 'table size update above the limit'],
  ];
  for (const [hex, what] of cases) {
    assert.throws(() => new HpackDecoder().decode(Buffer.from(hex, 'hex')), HpackError, what);
  }
});
