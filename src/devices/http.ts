/**
 * A small HTTP client over node:http / node:https for the CLI's simulated devices and sends. Node's
 * fetch cannot be handed a CA, and the sandbox emulators (and the hub's HTTPS port) present
 * certificates of the development CA in `<data>/tls/ca.crt`, so every call here can carry one.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Extra trusted CA certificates (PEM), beside Node's public roots. */
  ca?: string;
  timeoutMs?: number;
}

/** Why a request could not be made at all, in one line (connection refused, TLS trust, timeout). */
function describeFailure(url: string, err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return `cannot trust the certificate of ${url} (${code}); pass --data with the hub's data directory (its tls/ca.crt) or set NODE_EXTRA_CA_CERTS`;
  }
  return `cannot reach ${url} (${code || err.message})`;
}

export function httpCall(url: string, call: HttpCall = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const body = call.body === undefined ? undefined : Buffer.from(call.body, 'utf8');
  const headers: Record<string, string> = { ...(call.headers ?? {}), ...(body ? { 'content-length': String(body.length) } : {}) };
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: call.method ?? 'GET',
        headers,
        ...(secure && call.ca ? { ca: [...rootCertificates, call.ca] } : {}),
        timeout: call.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(describeFailure(`${target.origin}`, err))));
    req.end(body);
  });
}

/** A JSON call; a non-2xx answer becomes an error that quotes the server's own message. */
export async function jsonCall<T>(url: string, call: HttpCall & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = call;
  const answer = await httpCall(url, {
    ...rest,
    ...(json === undefined ? {} : { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers ?? {}) } }),
  });
  let parsed: unknown;
  try {
    parsed = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (answer.status < 200 || answer.status >= 300) {
    const reason = (parsed as { error?: unknown } | undefined)?.error;
    const text = typeof reason === 'string' ? reason : answer.text.slice(0, 200).replace(/\s+/g, ' ');
    throw new Error(`${new URL(url).origin} answered ${answer.status}${text ? `: ${text}` : ''}`);
  }
  return parsed as T;
}
