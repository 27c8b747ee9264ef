// The page's only way to the server: the management API at /_admin/v1 with the session cookie, and the
// session's CSRF token in X-Herald-CSRF on every write (src/portal/session.ts).
let csrfToken = null;
/** Facts of this Herald the page adapts to. */
export const server = { sandbox: false };
const listeners = new Set();

export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function onSessionEnded(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

async function call(url, method, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-herald-csrf'] = csrfToken ?? '';
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(data?.error?.message ?? `${res.status} ${res.statusText}`, data?.error?.code, res.status);
    if (res.status === 401 && err.code === 'portal_session_invalid') listeners.forEach((fn) => fn());
    throw err;
  }
  return data;
}

export const api = {
  get: (path) => call(`/_admin/v1${path}`, 'GET'),
  post: (path, body) => call(`/_admin/v1${path}`, 'POST', body ?? {}),
  put: (path, body) => call(`/_admin/v1${path}`, 'PUT', body),
  patch: (path, body) => call(`/_admin/v1${path}`, 'PATCH', body),
  del: (path) => call(`/_admin/v1${path}`, 'DELETE'),
};

export async function loadSession() {
  const s = await call('/_portal/session', 'GET');
  csrfToken = s.loggedIn ? s.csrfToken : null;
  server.sandbox = s.sandbox === true;
  return s.loggedIn;
}

export async function logIn(adminKey) {
  const s = await call('/_portal/session', 'POST', { adminKey });
  csrfToken = s.csrfToken;
  server.sandbox = s.sandbox === true;
}

export async function logOut() {
  await call('/_portal/session', 'DELETE');
  csrfToken = null;
}

let openapi;
/** Whether this Herald serves a path of the management API (the event stream arrives with issue 13 item 1). */
export async function hasRoute(path) {
  openapi ??= call('/_admin/v1/openapi.json', 'GET').catch(() => ({ paths: {} }));
  return Object.hasOwn((await openapi).paths ?? {}, path);
}

export const hubPath = (hub) => `/hubs/${encodeURIComponent(hub)}`;
