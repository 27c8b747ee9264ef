/**
 * Small HTTP/1.1 and HTTP/2 clients for the emulator tests (and for anyone driving the control plane):
 * node's fetch cannot be told to trust a private CA per call, these can.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as tls from 'node:tls';

export interface TestRequest {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** PEM of a CA to trust (the dev CA) for https URLs. */
  ca?: string;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

function finish(status: number, headers: TestResponse['headers'], body: Buffer): TestResponse {
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, body, text, json };
}

/** One HTTP/1.1 request on a fresh connection (no keep-alive, so nothing lingers after the test). */
export function h1(url: string, req: TestRequest = {}): Promise<TestResponse> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  // A private agent rather than `agent: false`, which would copy a replaced https.globalAgent.
  const agent = target.protocol === 'https:' ? new https.Agent({ ca: req.ca }) : new http.Agent();
  return new Promise<TestResponse>((resolve, reject) => {
    const r = lib.request(target, { method: req.method ?? 'GET', headers: req.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(finish(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  }).finally(() => agent.destroy());
}

/** A JSON control-plane call: `POST {base}/_emulator/devices` and friends. */
export async function control(base: string, method: string, path: string, body?: unknown, ca?: string): Promise<TestResponse> {
  return h1(`${base}/_emulator/${path}`, {
    method,
    ca,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** An HTTP/2 session the test closes itself; `request` sends one request on it. */
export function h2Session(base: string, options: http2.SecureClientSessionOptions = {}): {
  session: http2.ClientHttp2Session;
  request(headers: http2.OutgoingHttpHeaders, body?: string | Buffer): Promise<TestResponse>;
  close(): Promise<void>;
} {
  const session = http2.connect(base, options);
  session.on('error', () => undefined);
  return {
    session,
    request: (headers, body) =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers);
        const chunks: Buffer[] = [];
        let status = 0;
        let resHeaders: TestResponse['headers'] = {};
        stream.on('response', (h) => {
          status = Number(h[':status']);
          resHeaders = h as TestResponse['headers'];
        });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (status === 0) reject(new Error('stream closed without a response'));
          else resolve(finish(status, resHeaders, Buffer.concat(chunks)));
        });
        stream.on('close', () => reject(new Error('stream closed without a response')));
        stream.on('error', reject);
        // GET and HEAD streams are already ended by node:http2.
        if (!stream.writableEnded) stream.end(body);
      }),
    close: () => new Promise<void>((resolve) => (session.closed ? resolve() : session.close(() => resolve()))),
  };
}

/**
 * An https.Agent that sends every request to the local emulator, whatever host the library under test
 * asks for (libraries with hard-coded vendor hosts: firebase-admin's OAuth exchange, wns), trusting the dev CA.
 */
export class RedirectAgent extends https.Agent {
  constructor(
    private readonly port: number,
    private readonly ca: string,
  ) {
    super({ keepAlive: false });
  }
  override createConnection(options: tls.ConnectionOptions, callback?: (err: Error | null, socket: net.Socket) => void): net.Socket {
    return tls.connect({ ...options, host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca }, callback as () => void);
  }
}
