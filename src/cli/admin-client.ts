/**
 * How the CLI reaches a running hub: its management API at `--url` / HERALD_URL, or the URL the
 * local hub of the data directory wrote in its runtime file; the admin key from `--admin-key` /
 * HERALD_ADMIN_KEY, or the key file in the data directory.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import { ADMIN_KEY_FILE, readRuntimeInfo } from '../config/data-dir.ts';
import { HubError, type ErrorCode } from '../shared/errors.ts';

export interface ClientOptions {
  url?: string;
  adminKey?: string;
  data?: string;
}

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminKey: string,
  ) {}

  static from(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env): AdminClient {
    const dataDir = resolve(opts.data ?? env.HERALD_DATA ?? './data');
    const url = opts.url ?? env.HERALD_URL ?? readRuntimeInfo(dataDir)?.adminUrl;
    if (!url) {
      throw new HubError('not_found', `no running hub found for ${dataDir} (no ${join(dataDir, 'server.json')}); start one with "herald serve" or pass --url`);
    }
    let key = opts.adminKey ?? env.HERALD_ADMIN_KEY;
    if (!key) {
      const path = join(dataDir, ADMIN_KEY_FILE);
      try {
        key = readFileSync(path, 'utf8').trim();
      } catch {
        throw new HubError('admin_key_required', `no admin key: pass --admin-key, set HERALD_ADMIN_KEY, or run next to the data directory (${path} is missing)`);
      }
    }
    return new AdminClient(url.replace(/\/+$/, ''), key);
  }

  /**
   * One call over node:http(s), not fetch: fetch loads undici, which alone costs a CLI command more time
   * than the rest of its start (issue 12: a command answers in milliseconds).
   */
  private send(method: string, path: string, init: { body?: Readable | string; type?: string } = {}): Promise<IncomingMessage> {
    const target = new URL(`${this.baseUrl}/_admin/v1${path}`);
    const headers: Record<string, string> = { authorization: `Bearer ${this.adminKey}`, ...(init.type ? { 'content-type': init.type } : {}) };
    if (typeof init.body === 'string') headers['content-length'] = String(Buffer.byteLength(init.body));
    return new Promise((resolve, reject) => {
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method, headers }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(new HubError('not_found', `cannot reach the hub at ${this.baseUrl} (${err.code ?? err.message}); is "herald serve" running?`));
      });
      if (init.body instanceof Readable) {
        init.body.on('error', (err) => req.destroy(err));
        init.body.pipe(req);
      } else req.end(init.body);
    });
  }

  /** Uploads a local file into the hub's file area, streamed. */
  async upload(path: string, body: Readable): Promise<{ path: string; bytes: number }> {
    return this.parse(await this.send('PUT', `/files/${path.split('/').map(encodeURIComponent).join('/')}`, { body, type: 'application/octet-stream' }));
  }

  /** Downloads a file of the hub's file area; the response body as a stream. */
  async download(path: string): Promise<Readable> {
    const res = await this.send('GET', `/files/${path.split('/').map(encodeURIComponent).join('/')}`);
    if (res.statusCode !== 200) await this.parse(res);
    return res;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.parse(await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' }));
  }

  private async parse<T>(res: IncomingMessage): Promise<T> {
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    if (status === 204) return undefined as T;
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HubError('internal', `the hub at ${this.baseUrl} answered ${status} with a body that is not JSON`);
    }
    if (status < 200 || status >= 300) {
      const e = (json as { error?: { code?: ErrorCode; message?: string } }).error;
      throw new HubError(e?.code ?? 'internal', e?.message ?? `the hub answered ${status}`);
    }
    return json as T;
  }
}
