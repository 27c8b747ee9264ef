/**
 * The transport every emulator shares: one listener that speaks HTTP/2 and HTTP/1.1, over TLS (ALPN picks
 * the protocol) or in clear text (the HTTP/2 connection preface picks it). Handlers see a whole request
 * (body already read) and return a whole reply, so vendor rules stay free of stream plumbing.
 *
 * Both protocols on one port because the real services differ (APNs h2 only, WNS HTTP/1.1, FCM and Web Push
 * both; pns-protocols.md §0) while the control plane under `/_emulator/` must be reachable by any client.
 *
 * HTTP/2 streams are served with node:http2's core `stream` API, not its (req, res) compatibility layer,
 * which costs about 40% more CPU per stream. A 'request' listener on an http2 server would turn that layer
 * on for every stream, so each connection is handed to a plain http2 or http server by protocol instead.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface TlsOptions {
  cert: string;
  key: string;
}

export interface ServerOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  /** Initial HTTP/2 SETTINGS sent to every client. */
  settings?: http2.Settings;
  /** Ask TLS clients for a certificate signed by this CA (APNs certificate auth, §2.5). */
  clientCa?: string;
  /** Largest request body read into memory; larger bodies get 413 without reaching the handler. */
  maxBodyBytes?: number;
  onSession?: (session: http2.ServerHttp2Session) => void;
}

/** One request, read in full. */
export interface Exchange {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names; repeated headers joined by the Node parser. */
  headers: http.IncomingHttpHeaders;
  /** Name/value pairs as received, so repeated headers can be seen (APNs DuplicateHeaders). */
  rawHeaders: string[];
  body: Buffer;
  httpVersion: '1.1' | '2';
  /** The HTTP/2 session, for per-connection state; undefined on HTTP/1.1. */
  session: http2.ServerHttp2Session | undefined;
  /** The connection (TLS or TCP), for per-connection state on HTTP/1.1 and for the peer certificate. */
  socket: net.Socket | tls.TLSSocket;
  secure: boolean;
}

export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

/** `drop` closes the connection without an answer (fault injection: dropped connections). */
export type Handler = (exchange: Exchange) => Promise<Reply | 'drop'>;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const H2_PREFACE = 'PRI * HTTP/2.0';
const EMPTY = Buffer.alloc(0);
const TOO_LARGE: Reply = { status: 413, headers: { 'content-type': 'text/plain' }, body: 'request body too large' };

/**
 * A request target that WHATWG URL parsing would return unchanged as the pathname: only characters it
 * keeps as they are, and no `.`/`..` segment to resolve. Anything else takes the slow, exact path.
 */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

function formatUrl(secure: boolean, host: string, port: number): string {
  const shown = net.isIPv6(host) ? `[${host}]` : host;
  return `${secure ? 'https' : 'http'}://${shown}:${port}`;
}

/** The exchange handed to handlers; the query string is parsed only when a handler asks for it. */
class ReceivedExchange implements Exchange {
  readonly path: string;
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly method: string,
    /** The request target as received (path and query). */
    private readonly target: string,
    readonly headers: http.IncomingHttpHeaders,
    readonly rawHeaders: string[],
    readonly body: Buffer,
    readonly httpVersion: '1.1' | '2',
    readonly session: http2.ServerHttp2Session | undefined,
    readonly socket: net.Socket | tls.TLSSocket,
    readonly secure: boolean,
  ) {
    this.path = pathOf(target);
  }

  get query(): URLSearchParams {
    this.parsedQuery ??= new URL(this.target, 'http://emulator').searchParams;
    return this.parsedQuery;
  }
}

/** The pathname `new URL(target, base)` would give, without building a URL for the common plain case. */
function pathOf(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return path;
  return new URL(target, 'http://emulator').pathname;
}

function http1Body(req: http.IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > max ? 'too-large' : Buffer.concat(chunks)));
    req.on('aborted', () => reject(new Error('client aborted the request')));
    req.on('error', reject);
  });
}

function serverError(err: unknown): Reply {
  return { status: 500, headers: { 'content-type': 'text/plain' }, body: `emulator error: ${String(err)}` };
}

function payloadOf(reply: Reply): Buffer {
  if (reply.body === undefined) return EMPTY;
  return typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
}

function ignore(): void {
  // A client that resets a stream or vanishes must not crash the emulator.
}

export async function startServer(opts: ServerOptions, handler: Handler): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const secure = opts.tls !== undefined;

  async function answer(exchange: Exchange): Promise<Reply | 'drop'> {
    try {
      return await handler(exchange);
    } catch (err) {
      return serverError(err);
    }
  }

  async function serveStream(stream: http2.ServerHttp2Stream, exchange: Exchange, session: http2.ServerHttp2Session): Promise<void> {
    const reply = await answer(exchange);
    if (reply === 'drop') {
      // Let a GOAWAY written just before (APNs, §2.10.5) reach the client first.
      setImmediate(() => session.destroy());
      return;
    }
    respondH2(stream, reply);
  }

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    stream.on('error', ignore);
    const session = stream.session as http2.ServerHttp2Session;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    stream.on('end', () => {
      if (size > maxBody) return respondH2(stream, TOO_LARGE);
      const body = size === 0 ? EMPTY : Buffer.concat(chunks, size);
      const method = headers[':method'] ?? 'GET';
      const target = headers[':path'] ?? '/';
      const exchange = new ReceivedExchange(method, target, headers, rawHeaders, body, '2', session, session.socket as net.Socket, secure);
      void serveStream(stream, exchange, session);
    });
  };

  const onHttp1Request = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void (async () => {
      const body = await http1Body(req, maxBody);
      const reply =
        body === 'too-large'
          ? TOO_LARGE
          : await answer(new ReceivedExchange(req.method ?? 'GET', req.url ?? '/', req.headers, req.rawHeaders, body, '1.1', undefined, req.socket, secure));
      if (reply === 'drop') {
        setImmediate(() => req.socket.destroy());
        return;
      }
      const payload = payloadOf(reply);
      res.writeHead(reply.status, { ...reply.headers, 'content-length': payload.length });
      res.end(payload);
    })().catch(() => {
      // The client went away mid-request, or answering failed: there may be nobody left to tell.
      try {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      } catch {
        /* the socket is gone */
      }
    });
  };

  const h2 = http2.createServer({ settings: opts.settings });
  h2.on('stream', onStream);
  h2.on('session', registerSession);
  const h1 = http.createServer(onHttp1Request);

  function track(socket: net.Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  }

  let listener: net.Server;
  if (opts.tls) {
    // HTTP/1.1 over TLS keeps idle connections open as node:http2's allowHTTP1 did (no keep-alive timeout).
    h1.keepAliveTimeout = 0;
    const server = tls.createServer({
      cert: opts.tls.cert,
      key: opts.tls.key,
      ALPNProtocols: ['h2', 'http/1.1'],
      ...(opts.clientCa ? { requestCert: true, rejectUnauthorized: false, ca: opts.clientCa } : {}),
    });
    // Track raw connections, so close() also ends those still in the TLS handshake.
    server.on('connection', track);
    // ALPN picked the protocol; a client that offered none gets HTTP/1.1, as node:http2's allowHTTP1 did.
    server.on('secureConnection', (socket: tls.TLSSocket) => (socket.alpnProtocol === 'h2' ? h2 : h1).emit('connection', socket));
    server.on('tlsClientError', ignore);
    listener = server;
  } else {
    // Clear text: peek at the first bytes; an HTTP/2 client opens with the connection preface (RFC 9113 §3.4).
    listener = net.createServer((socket) => {
      track(socket);
      socket.once('readable', () => {
        const chunk = socket.read() as Buffer | null;
        if (chunk === null) return;
        // Put the bytes back: the HTTP/2 session reads what is buffered before taking over the socket.
        socket.unshift(chunk);
        const head = chunk.subarray(0, H2_PREFACE.length).toString('latin1');
        (H2_PREFACE.startsWith(head) ? h2 : h1).emit('connection', socket);
      });
    });
  }

  function registerSession(session: http2.ServerHttp2Session): void {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', ignore);
    opts.onSession?.(session);
  }
  listener.on('error', ignore);

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port ?? 0, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const port = (listener.address() as net.AddressInfo).port;

  return {
    url: formatUrl(secure, host, port),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Answers an HTTP/2 stream; a stream the client already reset is left alone. */
function respondH2(stream: http2.ServerHttp2Stream, reply: Reply): void {
  if (stream.destroyed || stream.closed) return;
  try {
    const payload = payloadOf(reply);
    const headers: http2.OutgoingHttpHeaders = { ':status': reply.status };
    if (reply.headers) for (const name in reply.headers) headers[name] = reply.headers[name];
    headers['content-length'] = payload.length;
    if (payload.length === 0) stream.respond(headers, { endStream: true });
    else {
      stream.respond(headers);
      stream.end(payload);
    }
  } catch {
    // An invalid header, or the stream went away: there may be nobody left to tell.
    try {
      if (!stream.headersSent) stream.respond({ ':status': 500 }, { endStream: true });
      else stream.close();
    } catch {
      /* the stream is gone */
    }
  }
}
