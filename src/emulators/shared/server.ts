/**
 * The transport every emulator shares: one listener that speaks HTTP/2 and HTTP/1.1, over TLS (ALPN picks
 * the protocol) or in clear text (the HTTP/2 connection preface picks it). Handlers see a whole request
 * (body already read) and return a whole reply, so vendor rules stay free of stream plumbing.
 *
 * Both protocols on one port because the real services differ (APNs h2 only, WNS HTTP/1.1, FCM and Web Push
 * both; pns-protocols.md §0) while the control plane under `/_emulator/` must be reachable by any client.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type * as tls from 'node:tls';

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

function formatUrl(secure: boolean, host: string, port: number): string {
  const shown = net.isIPv6(host) ? `[${host}]` : host;
  return `${secure ? 'https' : 'http'}://${shown}:${port}`;
}

function readBody(req: http.IncomingMessage | http2.Http2ServerRequest, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('aborted', () => reject(new Error('client aborted the request')));
    req.on('error', reject);
  });
}

export async function startServer(opts: ServerOptions, handler: Handler): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const secure = opts.tls !== undefined;

  const onRequest = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ): void => {
    void (async () => {
      const isH2 = 'stream' in req;
      const session = isH2 ? ((req as http2.Http2ServerRequest).stream.session as http2.ServerHttp2Session) : undefined;
      const socket = (isH2 ? (session?.socket as net.Socket) : (req as http.IncomingMessage).socket) as net.Socket;
      const url = new URL(req.url ?? '/', 'http://emulator');
      const body = await readBody(req, maxBody);
      let reply: Reply | 'drop';
      if (body === 'too-large') {
        reply = { status: 413, headers: { 'content-type': 'text/plain' }, body: 'request body too large' };
      } else {
        try {
          reply = await handler({
            method: req.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            rawHeaders: req.rawHeaders,
            body,
            httpVersion: isH2 ? '2' : '1.1',
            session,
            socket,
            secure,
          });
        } catch (err) {
          reply = { status: 500, headers: { 'content-type': 'text/plain' }, body: `emulator error: ${String(err)}` };
        }
      }
      if (reply === 'drop') {
        // Let a GOAWAY written just before (APNs, §2.10.5) reach the client first.
        setImmediate(() => (session ? session.destroy() : socket.destroy()));
        return;
      }
      const payload = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
      const headers: Record<string, string | number> = { ...reply.headers, 'content-length': payload.length };
      res.writeHead(reply.status, headers);
      res.end(payload);
    })().catch(() => {
      // The client went away mid-request, or answering failed: there may be nobody left to tell.
      try {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      } catch {
        /* the stream is gone */
      }
    });
  };

  const h2Options: http2.SecureServerOptions = { settings: opts.settings };
  let listener: net.Server;
  if (opts.tls) {
    const server = http2.createSecureServer(
      {
        ...h2Options,
        cert: opts.tls.cert,
        key: opts.tls.key,
        allowHTTP1: true,
        ...(opts.clientCa ? { requestCert: true, rejectUnauthorized: false, ca: opts.clientCa } : {}),
      },
      onRequest,
    );
    // Track raw connections, so close() also ends those still in the TLS handshake.
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    listener = server;
  } else {
    // Clear text: peek at the first bytes; an HTTP/2 client opens with the connection preface (RFC 9113 §3.4).
    const h2 = http2.createServer(h2Options, onRequest);
    const h1 = http.createServer(onRequest);
    h2.on('session', (s) => registerSession(s));
    listener = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
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
    // A client that vanishes must not crash the emulator.
    session.on('error', () => undefined);
    opts.onSession?.(session);
  }
  if (opts.tls) (listener as http2.Http2SecureServer).on('session', registerSession);
  listener.on('error', () => undefined);

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
