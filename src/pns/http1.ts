/** One HTTP/1.1 form POST (OAuth token endpoints of FCM and WNS): status and body, or a transport error. */
import * as http from 'node:http';
import * as https from 'node:https';
import { systemClock, type Clock } from '../shared/clock.ts';
import { trustOptions } from './tls-trust.ts';

export type FormResult = { ok: true; status: number; body: string } | { ok: false; error: string };

/**
 * The timeout runs on `clock` from the moment the request has a socket (connecting included), so a test
 * moves a ManualClock past it instead of waiting for it.
 */
export function postForm(url: string, form: Record<string, string>, opts: { ca?: string; timeoutMs?: number; clock?: Clock } = {}): Promise<FormResult> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const body = new URLSearchParams(form).toString();
  const clock = opts.clock ?? systemClock;
  return new Promise((resolve) => {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const done = (r: FormResult): void => {
      clock.clearTimer(timer);
      resolve(r);
    };
    const req = (secure ? https : http).request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
        ...(secure ? trustOptions(opts.ca) : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => done({ ok: false, error: err.message }));
      },
    );
    req.once('socket', () => {
      timer = clock.setTimeout(() => req.destroy(new Error('token endpoint did not answer in time')), opts.timeoutMs ?? 30_000);
    });
    req.on('error', (err) => done({ ok: false, error: err.message }));
    req.end(body);
  });
}
