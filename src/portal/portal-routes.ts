/**
 * The portal at /_portal/: its built page and assets (scripts/build-portal.js writes them), log-in and
 * log-out. The page calls the management API at /_admin/v1 with its session cookie; `sessionAuth` is how
 * that API accepts a session in place of the admin key, with the CSRF token and Origin checked on writes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { secretsEqual } from '../auth/keys.ts';
import { HubError } from '../shared/errors.ts';
import { CSRF_HEADER, PortalSessions, readCookie, SESSION_COOKIE, SESSION_TTL_MS } from './session.ts';

/** Where `npm run build:portal` puts the page; the same two levels up from src/portal/ and a compiled copy. */
export const DEFAULT_PORTAL_ASSETS = fileURLToPath(new URL('../../build/portal/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Nothing from elsewhere: no inline script, no third-party origin, not framed by another site. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Herald portal: not built</title></head>
<body><h1>The portal is not built</h1>
<p>This Herald has no portal assets. In Herald's folder, run <code>npm run build:portal</code> (or <code>npm install</code>, which runs it), then reload this page.</p>
<p>The management API at <code>/_admin/v1</code> works without the portal.</p></body></html>
`;

export interface PortalDeps {
  sessions: PortalSessions;
  adminKey: string;
  /** The folder with index.html and assets/; DEFAULT_PORTAL_ASSETS unless a test says otherwise. */
  assetsDir?: string;
  /** Whether the sandbox emulators run (the page then offers simulated devices and minted credentials). */
  sandbox?: () => boolean;
}

function isWrite(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/** A browser names the page's origin on every cross-site request and on same-origin writes. */
function checkOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin !== `${req.protocol}://${req.headers.host ?? ''}`) {
    throw new HubError('portal_csrf_invalid', `A portal write from another origin (${origin}) was refused: use the portal served by this Herald.`);
  }
}

/**
 * The management API's check for a request without `Authorization`: a portal session cookie, and on a
 * write its CSRF token in `X-Herald-CSRF` and a same-origin `Origin` (when the browser sends one).
 * Returns false when the request carries no session cookie at all.
 */
export function sessionAuth(sessions: PortalSessions, req: FastifyRequest): boolean {
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (cookie === undefined) return false;
  const s = sessions.check(cookie);
  if (!s.ok) throw new HubError('portal_session_invalid', 'The portal session has ended or is not valid: log in again with the admin key.');
  if (isWrite(req.method)) {
    checkOrigin(req);
    const given = req.headers[CSRF_HEADER];
    if (!sessions.csrfValid(s.token, typeof given === 'string' ? given : undefined)) {
      throw new HubError('portal_csrf_invalid', `A portal write needs the session's CSRF token in the ${CSRF_HEADER} header; reload the portal and try again.`);
    }
  }
  return true;
}

function setCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

export async function portalRoutes(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const dir = deps.assetsDir ?? DEFAULT_PORTAL_ASSETS;
  const { sessions } = deps;

  const serve = (reply: FastifyReply, file: string) => {
    reply.headers(SECURITY_HEADERS);
    const path = join(dir, file);
    if (!existsSync(join(dir, 'index.html'))) {
      return reply.code(503).header('retry-after', '60').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    if (!existsSync(path)) throw new HubError('not_found', `The portal has no file ${file}.`);
    // index.html names its assets by content hash, so they may be kept; the page itself is always asked for.
    reply.header('cache-control', file === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    return reply.type(TYPES[extname(file)] ?? 'application/octet-stream').send(readFileSync(path));
  };

  app.get('/_portal', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/_portal/', 308));
  app.get('/_portal/', { schema: { hide: true } }, async (_req, reply) => serve(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/_portal/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    // One path segment of the build's own names: nothing outside the assets folder can be named.
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(req.params.file)) throw new HubError('not_found', 'No such portal asset.');
    return serve(reply, join('assets', req.params.file));
  });

  app.post<{ Body: { adminKey?: unknown } }>(
    '/_portal/session',
    {
      schema: {
        hide: true,
        body: { type: 'object', required: ['adminKey'], additionalProperties: false, properties: { adminKey: { type: 'string', minLength: 1 } } },
      },
    },
    async (req, reply) => {
      // A log-in from another site would sign the victim's browser into the attacker's session.
      checkOrigin(req);
      if (!secretsEqual(String(req.body.adminKey).trim(), deps.adminKey)) {
        throw new HubError('admin_key_invalid', 'That is not the admin key of this Herald (it is in the admin.key file of the data directory, or HERALD_ADMIN_KEY).');
      }
      const s = sessions.issue();
      setCookie(req, reply, s.token, Math.floor(SESSION_TTL_MS / 1000));
      reply.header('cache-control', 'no-store');
      return { csrfToken: sessions.csrfToken(s.token), expiresAt: new Date(s.expiresAt).toISOString(), sandbox: deps.sandbox?.() ?? false };
    },
  );

  app.get('/_portal/session', { schema: { hide: true } }, async (req, reply) => {
    // 200 either way: the page asks at every load, and a 401 would be a console error in the browser.
    const s = sessions.check(readCookie(req.headers.cookie, SESSION_COOKIE));
    reply.header('cache-control', 'no-store');
    return s.ok ? { loggedIn: true, csrfToken: sessions.csrfToken(s.token), sandbox: deps.sandbox?.() ?? false } : { loggedIn: false };
  });

  app.delete('/_portal/session', { schema: { hide: true } }, async (req, reply) => {
    if (!sessionAuth(sessions, req)) throw new HubError('portal_session_invalid', 'No portal session to end.');
    sessions.end(readCookie(req.headers.cookie, SESSION_COOKIE)!);
    setCookie(req, reply, '', 0);
    return reply.code(204).send();
  });
}
