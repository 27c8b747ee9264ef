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

/**
 * One POST to a PNS over HTTP/1.1 keep-alive (WNS, ADM): the answer's status, headers and (when
 * `maxBodyChars` is given) its body, or why none came. `refused`: Node would not build the request (a
 * header it cannot write): nothing was sent, and sending again will not help. The timeout starts once a
 * connection is ours (a request waiting in the Agent's queue for a free connection is not timed out for
 * waiting), on the injected clock, so tests run it on virtual time.
 */
export type PostResult =
  | { ok: true; status: number; headers: Record<string, unknown>; body: string }
  | { ok: false; error: string; refused?: boolean };

export function postOnce(
  url: string | URL,
  opts: { agent: http.Agent; headers: http.OutgoingHttpHeaders; body: string | Buffer; clock: Clock; timeoutMs: number; pns: string; maxBodyChars?: number },
): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const done = (result: PostResult): void => {
      opts.clock.clearTimer(timer);
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    let req: http.ClientRequest;
    try {
      const target = new URL(url);
      req = (target.protocol === 'https:' ? https : http).request(target, { method: 'POST', agent: opts.agent, headers: opts.headers });
    } catch (err) {
      return done({ ok: false, error: (err as Error).message, refused: true });
    }
    req.once('socket', () => {
      if (!settled) timer = opts.clock.setTimeout(() => req.destroy(new Error(`no answer from ${opts.pns} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    });
    req.on('error', (err) => done({ ok: false, error: err.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      // Without a body to keep, drain it so the connection goes back to the pool.
      if (opts.maxBodyChars === undefined) res.resume();
      else res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ ok: true, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, opts.maxBodyChars ?? 0) }));
      res.on('error', (err) => done({ ok: false, error: err.message }));
      res.on('aborted', () => done({ ok: false, error: `${opts.pns} closed the connection mid-answer` }));
    });
    req.end(opts.body);
  });
}
