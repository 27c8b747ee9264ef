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

// Static table lookup by name (§2.3.1, indices 1..61).
const staticName = new Map<string, number>();
STATIC.forEach((e, i) => {
  if (!staticName.has(e.name)) staticName.set(e.name, i + 1);
});

// The Huffman code as a binary tree in typed arrays: child[2n] / child[2n+1]; a leaf holds -(symbol + 1).
const MAX_NODES = 512;
const child = new Int32Array(MAX_NODES * 2);
let nodeCount = 1;
HUFFMAN.forEach(([len, code], sym) => {
  let n = 0;
  for (let b = len - 1; b >= 0; b--) {
    const slot = n * 2 + ((code >>> b) & 1);
    if (b === 0) child[slot] = -(sym + 1);
    else {
      if (child[slot] === 0) child[slot] = nodeCount++;
      n = child[slot]!;
    }
  }
});
const EOS = 256;

/**
 * The tree walked four bits at a time (nghttp2 does the same): for each inner node and nibble, the node
 * reached and the symbol emitted on the way (at most one: the shortest code is 5 bits), or FAIL when the
 * nibble runs into EOS or off the code. Codes ending exactly on the nibble's last bit land on the root.
 */
const FAIL = 0xffff;
const NO_SYMBOL = -1;
const nibbleNext = new Uint16Array(nodeCount * 16);
const nibbleSym = new Int16Array(nodeCount * 16);
/** Bits since the last symbol, and whether all were ones: the padding check at the end (§5.2). */
const nodeDepth = new Uint8Array(nodeCount);
const nodeOnes = new Uint8Array(nodeCount);
(() => {
  const walk = (n: number, depth: number, ones: boolean): void => {
    nodeDepth[n] = depth;
    nodeOnes[n] = ones ? 1 : 0;
    for (let bit = 0; bit < 2; bit++) {
      const c = child[n * 2 + bit]!;
      if (c > 0) walk(c, depth + 1, ones && bit === 1);
    }
  };
  walk(0, 0, true);
  for (let n = 0; n < nodeCount; n++) {
    for (let v = 0; v < 16; v++) {
      let node = n;
      let sym = NO_SYMBOL;
      let fail = false;
      for (let b = 3; b >= 0; b--) {
        const c = child[node * 2 + ((v >>> b) & 1)]!;
        if (c < 0) {
          const s = -c - 1;
          if (s === EOS || sym !== NO_SYMBOL) fail = true;
          sym = s;
          node = 0;
        } else if (c === 0) fail = true;
        else node = c;
      }
      nibbleNext[n * 16 + v] = fail ? FAIL : node;
      nibbleSym[n * 16 + v] = sym;
    }
  }
})();

const scratch = Buffer.allocUnsafe(64 * 1024);

/** §5.2: Huffman-decoded string; the padding must be fewer than 8 bits, all ones (the EOS prefix). */
function huffmanDecode(buf: Buffer, start: number, end: number): string {
  // Every symbol takes at least 5 bits, so the output is at most 8/5 of the input.
  const out = (end - start) * 2 <= scratch.length ? scratch : Buffer.allocUnsafe((end - start) * 2);
  let len = 0;
  let node = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    let k = node * 16 + (byte >>> 4);
    node = nibbleNext[k]!;
    if (node === FAIL) throw new HpackError('invalid Huffman code');
    let sym = nibbleSym[k]!;
    if (sym !== NO_SYMBOL) out[len++] = sym;
    k = node * 16 + (byte & 15);
    node = nibbleNext[k]!;
    if (node === FAIL) throw new HpackError('invalid Huffman code');
    sym = nibbleSym[k]!;
    if (sym !== NO_SYMBOL) out[len++] = sym;
  }
  if (nodeDepth[node]! > 7 || nodeOnes[node] !== 1) throw new HpackError('invalid Huffman padding');
  // Header values are octets; latin1 keeps them byte for byte.
  return out.toString('latin1', 0, len);
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

/**
 * A dynamic table (§2.3.2). Entries are kept oldest first, so adding is a push and eviction drops from the
 * front (in bulk, when the dropped part is large enough to be worth a copy); index 1 is the newest.
 */
class DynamicTable {
  private items: HeaderField[] = [];
  private sizes: number[] = [];
  /** Index in `items` of the oldest live entry. */
  private first = 0;
  size = 0;
  constructor(public maxSize: number) {}

  get length(): number {
    return this.items.length - this.first;
  }

  /** §2.3.3: 1 is the newest entry. */
  get(index: number): HeaderField | undefined {
    const i = this.items.length - index;
    return i >= this.first && index >= 1 ? this.items[i] : undefined;
  }

  add(name: string, value: string): void {
    const s = entrySize(name, value);
    this.items.push([name, value]);
    this.sizes.push(s);
    this.size += s;
    this.evict();
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.first < this.items.length) {
      this.size -= this.sizes[this.first]!;
      this.first++;
    }
    if (this.first > 64 && this.first * 2 > this.items.length) {
      this.items = this.items.slice(this.first);
      this.sizes = this.sizes.slice(this.first);
      this.first = 0;
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
    const e = this.table.get(index - STATIC.length);
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

/** §5.1: an integer with an N-bit prefix, written at `at`; returns the offset after it. */
function writeInt(out: Buffer, at: number, first: number, prefixBits: number, value: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at++] = first | value;
    return at;
  }
  out[at++] = first | max;
  value -= max;
  while (value >= 128) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** §5.2: a raw (not Huffman-coded) string literal. */
function writeString(out: Buffer, at: number, s: string): number {
  at = writeInt(out, at, 0, 7, s.length);
  return at + out.write(s, at, 'latin1');
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

const staticExactByName = new Map<string, Map<string, number>>();
STATIC.forEach((e, i) => {
  const values = staticExactByName.get(e.name) ?? new Map<string, number>();
  if (!values.has(e.value)) values.set(e.value, i + 1);
  staticExactByName.set(e.name, values);
});

const encodeScratch = Buffer.allocUnsafe(64 * 1024);

export class HpackEncoder {
  private readonly table = new DynamicTable(4096);
  /** Insertion number of each name → value in the dynamic table; index = 61 + (inserted - number) + 1. */
  private readonly positions = new Map<string, Map<string, number>>();
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
    const oldest = this.inserted - this.table.length;
    for (const values of this.positions.values()) {
      for (const [value, n] of values) if (n <= oldest) values.delete(value);
    }
  }

  /** The header block, in a buffer that stays valid only until the next call (copy it out). */
  encodeShared(fields: readonly HeaderField[]): Buffer {
    let bound = 8;
    for (const [n, v] of fields) bound += n.length + v.length + 12;
    const out = bound <= encodeScratch.length ? encodeScratch : Buffer.allocUnsafe(bound);
    let at = 0;
    if (this.pendingSizeUpdate !== undefined) {
      at = writeInt(out, at, 0x20, 5, this.pendingSizeUpdate);
      this.pendingSizeUpdate = undefined;
    }
    for (const [name, value] of fields) {
      const exact = staticExactByName.get(name)?.get(value);
      if (exact !== undefined) {
        at = writeInt(out, at, 0x80, 7, exact);
        continue;
      }
      const known = this.positions.get(name);
      const n = known?.get(value);
      if (n !== undefined) {
        at = writeInt(out, at, 0x80, 7, STATIC.length + (this.inserted - n) + 1);
        continue;
      }
      const nameIndex = staticName.get(name) ?? 0;
      if (!NEVER_INDEX.has(name) && !SENSITIVE.has(name) && value.length <= MAX_INDEXED_VALUE && entrySize(name, value) <= this.table.maxSize) {
        at = writeInt(out, at, 0x40, 6, nameIndex);
        if (nameIndex === 0) at = writeString(out, at, name);
        at = writeString(out, at, value);
        const before = this.table.length;
        this.table.add(name, value);
        this.inserted++;
        (known ?? this.positions.set(name, new Map()).get(name)!).set(value, this.inserted);
        if (this.table.length <= before) this.forgetEvicted();
      } else {
        at = writeInt(out, at, SENSITIVE.has(name) ? 0x10 : 0x00, 4, nameIndex);
        if (nameIndex === 0) at = writeString(out, at, name);
        at = writeString(out, at, value);
      }
    }
    return out.subarray(0, at);
  }

  /** The header block in a buffer of its own. */
  encode(fields: readonly HeaderField[]): Buffer {
    return Buffer.from(this.encodeShared(fields));
  }
}
