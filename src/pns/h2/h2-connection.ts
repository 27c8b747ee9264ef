/**
 * A lean HTTP/2 client connection (RFC 9113) over TLS, for the push connectors' request/response traffic.
 *
 * Why not node:http2: every node:http2 stream is a Duplex stream object with its own events crossing into
 * nghttp2 and back; at push rates (thousands of tiny requests a second over one connection) that costs
 * ~85 µs of CPU per request on this machine, more than everything else a push needs. Here a request is two
 * frames appended to a write buffer that is flushed once per tick, and a response is parsed from the
 * socket's bytes straight into a callback: one TLS record carries hundreds of requests.
 *
 * What it does: ALPN h2, SETTINGS both ways (and their ACKs), the peer's SETTINGS_MAX_CONCURRENT_STREAMS and
 * INITIAL_WINDOW_SIZE / MAX_FRAME_SIZE / HEADER_TABLE_SIZE, flow control both ways, HPACK with a dynamic
 * table, CONTINUATION, PING answers, RST_STREAM, GOAWAY (streams above the last one processed fail at once
 * with `refused`, so the caller may re-send them; streams below it finish). What it leaves out, because no
 * push service uses it: server push (disabled by SETTINGS_ENABLE_PUSH = 0), priorities, trailers (ignored).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderField } from './hpack.ts';

export type H2Headers = Record<string, string>;

export type H2Response =
  | { ok: true; status: number; headers: H2Headers; body: Buffer }
  | { ok: false; error: string; /** true when the server certainly did not process the request */ refused?: boolean };

export interface H2ConnectOptions {
  /** https://host:port */
  origin: string;
  tls?: tls.ConnectionOptions;
  /** Called when the peer's settings change the number of streams we may open. */
  onLimit?: (maxConcurrentStreams: number) => void;
  /** Called once when the connection can take no new streams (GOAWAY, error or close). */
  onRetire?: (reason: string) => void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 };
const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6 };
const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9 };
const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];
const errorName = (code: number): string => ERROR_NAMES[code] ?? `0x${code.toString(16)}`;

/** Our receive windows: large, since answers are small and we always read them at once. */
const STREAM_WINDOW = 1 << 20;
const CONNECTION_WINDOW = 1 << 30;
const DEFAULT_WINDOW = 65_535;
const EMPTY = Buffer.alloc(0);

interface Stream {
  id: number;
  cb: (r: H2Response) => void;
  status: number;
  headers: H2Headers;
  chunks: Buffer[] | undefined;
  /** Body bytes not yet sent (flow control or frame size held them back). */
  pending: Buffer | undefined;
  sendWindow: number;
  recvUnacked: number;
  gotHeaders: boolean;
  done: boolean;
}

function writeFrameHeader(b: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  b[at] = length >>> 16;
  b[at + 1] = (length >>> 8) & 0xff;
  b[at + 2] = length & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, at + 5);
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  writeFrameHeader(h, 0, length, type, flags, streamId);
  return h;
}

export class H2Connection {
  readonly authority: string;
  private readonly scheme: string;
  private readonly socket: net.Socket;
  private readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, Stream>();
  private nextId = 1;
  private out: Buffer[] = [];
  private flushScheduled = false;
  private inbuf: Buffer = EMPTY;
  /** Header block being assembled from HEADERS + CONTINUATION frames. */
  private headerBlock: { streamId: number; parts: Buffer[]; endStream: boolean } | undefined;
  private peerMaxStreams = 1;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private connectionSendWindow = DEFAULT_WINDOW;
  private connectionRecvUnacked = 0;
  /** Streams waiting for send window. */
  private blocked: Stream[] = [];
  private retired = false;
  private closedReason: string | undefined;
  private ready = false;
  private refd = true;
  private gotSettings = false;
  /** Streams are ours only (no server push), so the last peer-initiated stream is always 0. */
  private readonly lastPeerStream = 0;

  constructor(private readonly opts: H2ConnectOptions) {
    const url = new URL(opts.origin);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 443);

    this.authority = url.host;
    this.scheme = url.protocol === 'http:' ? 'http' : 'https';
    if (url.protocol === 'http:') {
      // Clear text with prior knowledge (RFC 9113 §3.3): local emulators started without TLS.
      this.socket = net.connect({ host, port: Number(url.port || 80) });
      this.socket.on('connect', () => {
        this.ready = true;
        this.flush();
      });
    } else {
      const socket = tls.connect({ ...opts.tls, host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['h2'] });
      socket.on('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') return this.fail(`the server did not negotiate h2 (ALPN: ${socket.alpnProtocol || 'none'})`);
        this.ready = true;
        this.flush();
      });
      this.socket = socket;
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err.message));
    this.socket.on('close', () => this.fail(this.closedReason ?? 'connection closed'));
    // Our preface and settings go first; requests queue behind them until the handshake ends.
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(SETTING.ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTING.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(STREAM_WINDOW, 8);
    settings.writeUInt16BE(SETTING.MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(64 * 1024, 14);
    const windowUpdate = Buffer.allocUnsafe(4);
    windowUpdate.writeUInt32BE(CONNECTION_WINDOW - DEFAULT_WINDOW, 0);
    this.out.push(PREFACE, frameHeader(18, FRAME.SETTINGS, 0, 0), settings, frameHeader(4, FRAME.WINDOW_UPDATE, 0, 0), windowUpdate);
  }

  /** Streams open now. */
  get active(): number {
    return this.streams.size;
  }

  /** Streams the peer lets us have open at once (1 until its SETTINGS arrive). */
  get limit(): number {
    return this.peerMaxStreams;
  }

  get usable(): boolean {
    return !this.retired;
  }

  /** A retired connection takes no new request; `active` ones still finish. */
  /**
   * Opens a stream: `headers` are the request's own fields (lower-case names, no pseudo-headers).
   * Returns the stream id (for `cancel`), or 0 when the request was refused at once.
   */
  request(method: string, path: string, headers: readonly HeaderField[], body: Buffer, cb: (r: H2Response) => void): number {
    if (this.retired) {
      cb({ ok: false, error: this.closedReason ?? 'connection retired', refused: true });
      return 0;
    }
    if (this.nextId > 0x7fffffff) {
      this.retire('stream ids exhausted');
      cb({ ok: false, error: 'stream ids exhausted', refused: true });
      return 0;
    }
    const id = this.nextId;
    this.nextId += 2;
    const fields: HeaderField[] = [[':method', method], [':scheme', this.scheme], [':authority', this.authority], [':path', path], ...headers];
    if (body.length > 0) fields.push(['content-length', String(body.length)]);
    const stream: Stream = {
      id,
      cb,
      status: 0,
      headers: {},
      chunks: undefined,
      pending: undefined,
      sendWindow: this.peerInitialWindow,
      recvUnacked: 0,
      gotHeaders: false,
      done: false,
    };
    this.streams.set(id, stream);
    if (!this.refd) {
      this.socket.ref();
      this.refd = true;
    }
    const block = this.encoder.encodeShared(fields);
    const n = body.length;
    const max = this.peerMaxFrame;
    if (block.length <= max && n <= max && n <= stream.sendWindow && n <= this.connectionSendWindow) {
      // The usual push: HEADERS and the whole body in one DATA frame, written as one buffer.
      const frame = Buffer.allocUnsafe(9 + block.length + (n > 0 ? 9 + n : 0));
      writeFrameHeader(frame, 0, block.length, FRAME.HEADERS, FLAG.END_HEADERS | (n === 0 ? FLAG.END_STREAM : 0), id);
      block.copy(frame, 9);
      if (n > 0) {
        writeFrameHeader(frame, 9 + block.length, n, FRAME.DATA, FLAG.END_STREAM, id);
        body.copy(frame, 18 + block.length);
        stream.sendWindow -= n;
        this.connectionSendWindow -= n;
      }
      this.out.push(frame);
    } else {
      this.writeHeaders(id, Buffer.from(block), n === 0);
      if (n > 0) {
        stream.pending = body;
        this.sendData(stream);
      }
    }
    this.scheduleFlush();
    return id;
  }

  /** Gives up on a stream (timeout): RST_STREAM CANCEL, and its callback gets `error`. */
  cancel(id: number, error: string): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.rst(id, ERROR.CANCEL);
    this.finish(s, { ok: false, error });
  }

  /** GOAWAY (last stream 0, NO_ERROR), then close once in-flight streams are done. */
  private close(): void {
    if (!this.retired) {
      this.out.push(frameHeader(8, FRAME.GOAWAY, 0, 0), Buffer.alloc(8));
      this.flush();
      this.retire('connection closed by the client');
    }
    if (this.streams.size === 0) this.socket.end();
  }

  /** GOAWAY and close; in-flight streams get `waitMs` to finish, then the socket is destroyed. */
  closeGracefully(waitMs: number): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), waitMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.close();
    });
  }

  private writeHeaders(id: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    if (block.length <= max) {
      this.out.push(frameHeader(block.length, FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), id), block);
      return;
    }
    // RFC 9113 §6.10: the rest of a long header block follows in CONTINUATION frames, nothing in between.
    this.out.push(frameHeader(max, FRAME.HEADERS, endStream ? FLAG.END_STREAM : 0, id), block.subarray(0, max));
    for (let at = max; at < block.length; at += max) {
      const part = block.subarray(at, Math.min(block.length, at + max));
      this.out.push(frameHeader(part.length, FRAME.CONTINUATION, at + max >= block.length ? FLAG.END_HEADERS : 0, id), part);
    }
  }

  /** Sends as much of the stream's body as both send windows allow; the rest waits for WINDOW_UPDATE. */
  private sendData(s: Stream): void {
    while (s.pending && s.pending.length > 0) {
      const n = Math.min(s.pending.length, s.sendWindow, this.connectionSendWindow, this.peerMaxFrame);
      if (n <= 0) {
        if (!this.blocked.includes(s)) this.blocked.push(s);
        return;
      }
      const part = s.pending.subarray(0, n);
      const last = n === s.pending.length;
      this.out.push(frameHeader(n, FRAME.DATA, last ? FLAG.END_STREAM : 0, s.id), part);
      s.sendWindow -= n;
      this.connectionSendWindow -= n;
      s.pending = last ? undefined : s.pending.subarray(n);
    }
  }

  private unblock(): void {
    if (this.blocked.length === 0) return;
    const waiting = this.blocked;
    this.blocked = [];
    for (const s of waiting) if (!s.done) this.sendData(s);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.ready || this.out.length === 0 || this.socket.destroyed) return;
    const data = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    this.socket.write(data);
  }

  private rst(id: number, code: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code, 0);
    this.out.push(frameHeader(4, FRAME.RST_STREAM, 0, id), p);
    this.scheduleFlush();
  }

  private finish(s: Stream, r: H2Response): void {
    if (s.done) return;
    s.done = true;
    this.streams.delete(s.id);
    if (this.streams.size === 0) {
      if (this.retired) this.socket.end();
      else if (this.refd) {
        // An idle connection must not keep the process alive on its own (tests, CLI).
        this.socket.unref();
        this.refd = false;
      }
    }
    s.cb(r);
  }

  private retire(reason: string): void {
    if (this.retired) return;
    this.retired = true;
    this.closedReason ??= reason;
    this.opts.onRetire?.(reason);
  }

  /** The connection is gone: every open stream fails. */
  private fail(reason: string): void {
    this.closedReason ??= reason;
    this.retire(reason);
    for (const s of [...this.streams.values()]) this.finish(s, { ok: false, error: `stream closed without an answer: ${this.closedReason}` });
    this.socket.destroy();
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with the code, then close. */
  private connectionError(code: number, message: string): void {
    const payload = Buffer.allocUnsafe(8);
    payload.writeUInt32BE(this.lastPeerStream, 0);
    payload.writeUInt32BE(code, 4);
    this.out.push(frameHeader(8, FRAME.GOAWAY, 0, 0), payload);
    this.flush();
    this.fail(`protocol error: ${message} (${errorName(code)})`);
  }

  private onData(chunk: Buffer): void {
    let buf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    let at = 0;
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (length > 16_384) return this.connectionError(ERROR.FRAME_SIZE_ERROR, `a ${length}-byte frame (we allow 16384)`);
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3]!;
      const flags = buf[at + 4]!;
      const streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = buf.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      this.onFrame(type, flags, streamId, payload);
      if (this.socket.destroyed) return;
    }
    buf = buf.subarray(at);
    // Keep an unfinished frame; copy it so the big chunk it came from can be collected.
    this.inbuf = buf.length === 0 ? EMPTY : Buffer.from(buf);
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.headerBlock && type !== FRAME.CONTINUATION) return this.connectionError(ERROR.PROTOCOL_ERROR, 'a header block was interrupted');
    switch (type) {
      case FRAME.DATA:
        return this.onDataFrame(flags, streamId, payload);
      case FRAME.HEADERS: {
        let p = payload;
        if (flags & FLAG.PADDED) p = p.subarray(1, p.length - p[0]!);
        if (flags & FLAG.PRIORITY) p = p.subarray(5);
        this.headerBlock = { streamId, parts: [p], endStream: (flags & FLAG.END_STREAM) !== 0 };
        if (flags & FLAG.END_HEADERS) this.onHeaderBlock();
        return;
      }
      case FRAME.CONTINUATION:
        if (!this.headerBlock || this.headerBlock.streamId !== streamId) return this.connectionError(ERROR.PROTOCOL_ERROR, 'an unexpected CONTINUATION');
        this.headerBlock.parts.push(payload);
        if (flags & FLAG.END_HEADERS) this.onHeaderBlock();
        return;
      case FRAME.RST_STREAM: {
        const s = this.streams.get(streamId);
        if (!s) return;
        const code = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
        if (code === ERROR.NO_ERROR && s.status !== 0 && s.done === false && s.gotHeaders) {
          // §8.1: a server may answer early and reset with NO_ERROR; the answer stands.
          return this.finish(s, { ok: true, status: s.status, headers: s.headers, body: s.chunks ? Buffer.concat(s.chunks) : EMPTY });
        }
        return this.finish(s, { ok: false, error: `stream closed without an answer (code ${code}, ${errorName(code)})`, refused: code === ERROR.REFUSED_STREAM });
      }
      case FRAME.SETTINGS:
        if (flags & FLAG.ACK) return;
        return this.onSettings(payload);
      case FRAME.PING:
        if (!(flags & FLAG.ACK)) {
          this.out.push(frameHeader(8, FRAME.PING, FLAG.ACK, 0), Buffer.from(payload));
          this.scheduleFlush();
        }
        return;
      case FRAME.GOAWAY:
        return this.onGoaway(payload);
      case FRAME.WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) this.connectionSendWindow += inc;
        else {
          const s = this.streams.get(streamId);
          if (s) s.sendWindow += inc;
        }
        return this.unblock();
      }
      case FRAME.PUSH_PROMISE:
        return this.connectionError(ERROR.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      default:
        // PRIORITY and unknown frame types are ignored (§5.5).
        return;
    }
  }

  private onSettings(p: Buffer): void {
    let limitChanged = !this.gotSettings;
    if (!this.gotSettings) {
      // §6.5.2: absent means unlimited; 1000 is a sensible cap for one connection.
      this.peerMaxStreams = 1000;
      this.gotSettings = true;
    }
    for (let i = 0; i + 6 <= p.length; i += 6) {
      const id = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (id === SETTING.MAX_CONCURRENT_STREAMS) {
        this.peerMaxStreams = Math.min(value, 10_000);
        limitChanged = true;
      } else if (id === SETTING.INITIAL_WINDOW_SIZE) {
        // §6.9.2: the change applies to every open stream's window.
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        this.peerMaxFrame = value;
      } else if (id === SETTING.HEADER_TABLE_SIZE) {
        this.encoder.setMaxTableSize(value);
      }
    }
    this.out.push(frameHeader(0, FRAME.SETTINGS, FLAG.ACK, 0));
    this.scheduleFlush();
    if (limitChanged) this.opts.onLimit?.(this.peerMaxStreams);
    this.unblock();
  }

  private onGoaway(p: Buffer): void {
    const lastStreamId = p.readUInt32BE(0) & 0x7fffffff;
    const code = p.readUInt32BE(4);
    const debug = p.subarray(8).toString('utf8');
    const reason = `GOAWAY ${errorName(code)}${debug ? ` ${debug}` : ''}`;
    this.closedReason ??= reason;
    this.retire(reason);
    // §6.8: streams above lastStreamId were not processed and may be re-sent elsewhere.
    for (const s of [...this.streams.values()]) {
      if (s.id > lastStreamId) this.finish(s, { ok: false, error: `stream refused by ${reason}`, refused: true });
    }
    if (this.streams.size === 0) this.socket.end();
  }

  private onHeaderBlock(): void {
    const hb = this.headerBlock!;
    this.headerBlock = undefined;
    let fields: HeaderField[];
    try {
      fields = this.decoder.decode(hb.parts.length === 1 ? hb.parts[0]! : Buffer.concat(hb.parts));
    } catch (err) {
      // §4.3: a decoding error is a connection error: the table state is lost.
      return this.connectionError(ERROR.COMPRESSION_ERROR, err instanceof HpackError ? err.message : String(err));
    }
    const s = this.streams.get(hb.streamId);
    if (!s) return;
    if (!s.gotHeaders) {
      const headers: H2Headers = {};
      for (const [n, v] of fields) headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
      const status = Number(headers[':status']);
      // 1xx answers are interim (§8.1); the final one follows.
      if (status >= 100 && status < 200) return;
      s.status = status;
      s.headers = headers;
      s.gotHeaders = true;
    }
    // A second header block is trailers; ignored.
    if (hb.endStream) this.endStream(s);
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    let data = payload;
    if (flags & FLAG.PADDED) data = payload.subarray(1, payload.length - payload[0]!);
    // Flow control counts the whole frame, padding included (§6.9.1).
    this.connectionRecvUnacked += payload.length;
    if (this.connectionRecvUnacked >= CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.connectionRecvUnacked);
      this.connectionRecvUnacked = 0;
    }
    const s = this.streams.get(streamId);
    if (!s) return;
    if (data.length > 0) (s.chunks ??= []).push(Buffer.from(data));
    s.recvUnacked += payload.length;
    if (flags & FLAG.END_STREAM) return this.endStream(s);
    if (s.recvUnacked >= STREAM_WINDOW / 2) {
      this.windowUpdate(s.id, s.recvUnacked);
      s.recvUnacked = 0;
    }
  }

  private windowUpdate(streamId: number, inc: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(inc, 0);
    this.out.push(frameHeader(4, FRAME.WINDOW_UPDATE, 0, streamId), p);
    this.scheduleFlush();
  }

  private endStream(s: Stream): void {
    if (!s.gotHeaders) return this.finish(s, { ok: false, error: 'stream ended without a response' });
    // The request body may still be waiting for window: the server answered early, nothing more to send.
    if (s.pending) {
      s.pending = undefined;
      this.rst(s.id, ERROR.NO_ERROR);
    }
    this.finish(s, { ok: true, status: s.status, headers: s.headers, body: s.chunks ? (s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks)) : EMPTY });
  }
}
