/**
 * HPACK (RFC 7541) for Herald's own HTTP/2 client: an encoder that indexes the header fields that repeat
 * from request to request (authorization, apns-topic, content-type, ...) in the dynamic table, so a push
 * costs a few bytes of header block, and a decoder with the dynamic table and Huffman decoding, since
 * servers (nghttp2, Apple, Google) Huffman-code and index their answers.
 *
 * The static table and the Huffman code are RFC 7541's Appendices A and B, taken from hpack.js (data only;
 * its stream-based coder is not used).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const HUFFMAN = (require('hpack.js/lib/hpack/huffman.js') as { encode: [number, number][] }).encode;
const STATIC = (require('hpack.js/lib/hpack/static-table.js') as { table: { name: string; value: string }[] }).table;

export type HeaderField = [name: string, value: string];

export class HpackError extends Error {}

/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const entrySize = (name: string, value: string): number => Buffer.byteLength(name) + Buffer.byteLength(value) + 32;

// Static table lookups (§2.3.1, indices 1..61).
const staticExact = new Map<string, number>();
const staticName = new Map<string, number>();
STATIC.forEach((e, i) => {
  const key = `${e.name}\0${e.value}`;
  if (!staticExact.has(key)) staticExact.set(key, i + 1);
  if (!staticName.has(e.name)) staticName.set(e.name, i + 1);
});

// The Huffman code as a binary tree in typed arrays: child[2n] / child[2n+1]; a leaf holds -(symbol + 1).
const MAX_NODES = 512;
const child = new Int32Array(MAX_NODES * 2);
(() => {
  let nodes = 1;
  HUFFMAN.forEach(([len, code], sym) => {
    let n = 0;
    for (let b = len - 1; b >= 0; b--) {
      const slot = n * 2 + ((code >>> b) & 1);
      if (b === 0) child[slot] = -(sym + 1);
      else {
        if (child[slot] === 0) child[slot] = nodes++;
        n = child[slot]!;
      }
    }
  });
})();
const EOS = 256;

/** §5.2: Huffman-decoded string; the padding must be fewer than 8 bits, all ones (the EOS prefix). */
function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = '';
  let node = 0;
  let depth = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      const next = child[node * 2 + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new HpackError('EOS symbol inside a Huffman string');
        out += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else node = next;
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError('invalid Huffman padding');
  // Header values are octets; latin1 keeps them byte for byte, like Node's own parser.
  return out;
}

class Reader {
  at: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  /** §5.1: an integer with an N-bit prefix. */
  int(prefixBits: number): number {
    if (this.at >= this.end) throw new HpackError('truncated integer');
    const max = (1 << prefixBits) - 1;
    let value = this.buf[this.at++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw new HpackError('truncated integer');
      const b = this.buf[this.at++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError('integer too large');
    }
    return value;
  }

  /** §5.2: a string literal, Huffman-coded or raw. */
  string(): string {
    if (this.at >= this.end) throw new HpackError('truncated string');
    const huffman = (this.buf[this.at]! & 0x80) !== 0;
    const len = this.int(7);
    const start = this.at;
    if (start + len > this.end) throw new HpackError('truncated string');
    this.at += len;
    return huffman ? huffmanDecode(this.buf, start, start + len) : this.buf.toString('latin1', start, start + len);
  }
}

/** A dynamic table (§2.3.2): newest first; evicts the oldest entries to stay within its size. */
class DynamicTable {
  entries: HeaderField[] = [];
  size = 0;
  constructor(public maxSize: number) {}

  add(name: string, value: string): void {
    const s = entrySize(name, value);
    this.entries.unshift([name, value]);
    this.size += s;
    this.evict();
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.entries.length > 0) {
      const [n, v] = this.entries.pop()!;
      this.size -= entrySize(n, v);
    }
  }
}

export class HpackDecoder {
  private readonly table: DynamicTable;

  /** `maxTableSize`: the SETTINGS_HEADER_TABLE_SIZE this side advertised (default 4096). */
  constructor(
    private readonly maxTableSize = 4096,
    private readonly maxHeaderListSize = 64 * 1024,
  ) {
    this.table = new DynamicTable(maxTableSize);
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC.length) {
      const e = STATIC[index - 1]!;
      return [e.name, e.value];
    }
    const e = this.table.entries[index - STATIC.length - 1];
    if (!e) throw new HpackError(`index ${index} is outside the tables`);
    return e;
  }

  /** Decodes one whole header block (HEADERS plus its CONTINUATIONs). */
  decode(block: Buffer): HeaderField[] {
    const r = new Reader(block, 0, block.length);
    const out: HeaderField[] = [];
    let listSize = 0;
    while (r.at < r.end) {
      const b = block[r.at]!;
      let field: HeaderField;
      if (b & 0x80) {
        // §6.1 indexed field.
        field = this.lookup(r.int(7));
      } else if ((b & 0xe0) === 0x20) {
        // §6.3 dynamic table size update.
        const size = r.int(5);
        if (size > this.maxTableSize) throw new HpackError('table size update above the advertised limit');
        this.table.resize(size);
        continue;
      } else {
        // §6.2.1 incremental indexing (01), §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
        const incremental = (b & 0xc0) === 0x40;
        const index = r.int(incremental ? 6 : 4);
        const name = index === 0 ? r.string() : this.lookup(index)[0];
        const value = r.string();
        field = [name, value];
        if (incremental) this.table.add(name, value);
      }
      listSize += field[0].length + field[1].length + 32;
      if (listSize > this.maxHeaderListSize) throw new HpackError('header list too large');
      out.push(field);
    }
    return out;
  }
}

function writeInt(out: number[], first: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function writeString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  writeInt(out, 0, 7, bytes.length);
  for (const x of bytes) out.push(x);
}

/**
 * Fields never put in the dynamic table: they change with every request, so indexing them would only
 * evict the ones that repeat (Apple asks exactly this for :path, apns-id, apns-expiration and
 * apns-collapse-id, pns-protocols.md §2.2).
 */
const NEVER_INDEX = new Set([':path', 'content-length', 'apns-id', 'apns-expiration', 'apns-collapse-id', 'topic']);
/**
 * Credentials go as never-indexed literals (§7.1.3: no intermediary may index them either); Apple also
 * asks for authorization without indexing so tokens do not churn its small table.
 */
const SENSITIVE = new Set(['authorization']);
const MAX_INDEXED_VALUE = 1024;

export class HpackEncoder {
  private readonly table = new DynamicTable(4096);
  /** Insertion number of each (name, value) in the dynamic table; index = 61 + (inserted - number). */
  private readonly positions = new Map<string, number>();
  private inserted = 0;
  private pendingSizeUpdate: number | undefined;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: our table never grows past it (§4.2). */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, 4096);
    if (next === this.table.maxSize) return;
    this.table.resize(next);
    this.pendingSizeUpdate = next;
    this.forgetEvicted();
  }

  private forgetEvicted(): void {
    const oldest = this.inserted - this.table.entries.length;
    for (const [key, n] of this.positions) if (n <= oldest) this.positions.delete(key);
  }

  encode(fields: HeaderField[]): Buffer {
    const out: number[] = [];
    if (this.pendingSizeUpdate !== undefined) {
      writeInt(out, 0x20, 5, this.pendingSizeUpdate);
      this.pendingSizeUpdate = undefined;
    }
    for (const [name, value] of fields) {
      const key = `${name}\0${value}`;
      const exact = staticExact.get(key);
      if (exact !== undefined) {
        writeInt(out, 0x80, 7, exact);
        continue;
      }
      const n = this.positions.get(key);
      if (n !== undefined) {
        writeInt(out, 0x80, 7, STATIC.length + (this.inserted - n) + 1);
        continue;
      }
      const nameIndex = staticName.get(name) ?? 0;
      const size = entrySize(name, value);
      if (!NEVER_INDEX.has(name) && !SENSITIVE.has(name) && value.length <= MAX_INDEXED_VALUE && size <= this.table.maxSize) {
        writeInt(out, 0x40, 6, nameIndex);
        if (nameIndex === 0) writeString(out, name);
        writeString(out, value);
        this.table.add(name, value);
        this.positions.set(key, ++this.inserted);
        this.forgetEvicted();
      } else {
        writeInt(out, SENSITIVE.has(name) ? 0x10 : 0x00, 4, nameIndex);
        if (nameIndex === 0) writeString(out, name);
        writeString(out, value);
      }
    }
    return Buffer.from(out);
  }
}
