/** One HTTP/1.1 form POST (OAuth token endpoints of FCM and WNS): status and body, or a transport error. */
import * as http from 'node:http';
import * as https from 'node:https';
import { trustOptions } from './tls-trust.ts';

export type FormResult = { ok: true; status: number; body: string } | { ok: false; error: string };

export function postForm(url: string, form: Record<string, string>, opts: { ca?: string; timeoutMs?: number } = {}): Promise<FormResult> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve) => {
    const req = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
        ...(secure ? trustOptions(opts.ca) : {}),
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ ok: false, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('token endpoint did not answer in time')));
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end(body);
  });
}
