/**
 * How the CLI reaches a running hub: its management API at `--url` / HERALD_URL, or the URL the
 * local hub of the data directory wrote in its runtime file; the admin key from `--admin-key` /
 * HERALD_ADMIN_KEY, or the key file in the data directory.
 */
import { readFileSync } from 'node:fs';
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

  private async send(method: string, path: string, init: { body?: ReadableStream | string; type?: string; duplex?: 'half' } = {}): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}/_admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.adminKey}`, ...(init.type ? { 'content-type': init.type } : {}) },
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.duplex ? { duplex: init.duplex } : {}),
      } as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new HubError('not_found', `cannot reach the hub at ${this.baseUrl} (${cause}); is "herald serve" running?`);
    }
  }

  /** Uploads a local file into the hub's file area, streamed. */
  async upload(path: string, body: ReadableStream): Promise<{ path: string; bytes: number }> {
    return this.parse(await this.send('PUT', `/files/${path.split('/').map(encodeURIComponent).join('/')}`, { body, type: 'application/octet-stream', duplex: 'half' }));
  }

  /** Downloads a file of the hub's file area; the response body as a web stream. */
  async download(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send('GET', `/files/${path.split('/').map(encodeURIComponent).join('/')}`);
    if (!res.ok || !res.body) await this.parse(res);
    return res.body!;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.parse(await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' }));
  }

  private async parse<T>(res: Response): Promise<T> {
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HubError('internal', `the hub at ${this.baseUrl} answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: ErrorCode; message?: string } }).error;
      throw new HubError(e?.code ?? 'internal', e?.message ?? `the hub answered ${res.status}`);
    }
    return json as T;
  }
}
