/**
 * The OpenAPI document describes the whole management API (issue 12 item 7): every /_admin route the app
 * registers is in it, with a unique operationId, a typed request body where the method takes one, and a
 * typed success response. A route added later without its description fails here, by name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from './helpers.ts';

/** Admin routes left out of the document on purpose: the document itself. */
const UNDOCUMENTED = new Set(['GET /_admin/v1/openapi.json']);

type Schema = { type?: string | string[]; properties?: Record<string, unknown>; items?: Schema; oneOf?: Schema[]; format?: string; $ref?: string };
type Operation = {
  operationId?: string;
  summary?: string;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> } | undefined>;
};

/** A schema that says what it holds: a type (objects with their properties, arrays with typed items), or alternatives that do. */
function typed(s: Schema | undefined): boolean {
  if (!s) return false;
  if (s.$ref) return true;
  if (s.oneOf) return s.oneOf.length > 0 && s.oneOf.every(typed);
  const types = [s.type ?? []].flat();
  if (types.length === 0) return false;
  // An object with no properties at all allowed is typed too: an explicitly empty body.
  if (types.includes('object')) return Object.keys(s.properties ?? {}).length > 0 || (s as { additionalProperties?: unknown }).additionalProperties === false;
  if (types.includes('array')) return typed(s.items);
  return true;
}

/** `/_admin/v1/hubs/:hub/rules/:rule` -> `/hubs/{hub}/rules/{rule}`, as the document names paths. */
function documentPath(url: string): string {
  return url
    .replace(/^\/_admin\/v1/, '')
    .replace(/:(\w+)/g, '{$1}')
    .replace(/\*$/, '{path}');
}

let h: TestHerald;
let doc: { paths: Record<string, Record<string, Operation>> };
before(async () => {
  h = await startTestHerald();
  const res = await fetch(`${h.httpUrl}/_admin/v1/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as typeof doc;
});
after(() => h.close());

test('every /_admin route is in the OpenAPI document with an operationId and typed bodies', () => {
  const routes = h.adminRoutes.filter((r) => !UNDOCUMENTED.has(`${r.method} ${r.url}`));
  assert.ok(routes.length >= 25, `${routes.length} admin routes registered`);
  const problems: string[] = [];
  const ids = new Map<string, string>();
  for (const r of routes) {
    const name = `${r.method} ${r.url}`;
    if (r.hidden) {
      problems.push(`${name}: hidden from the document`);
      continue;
    }
    const op = doc.paths[documentPath(r.url)]?.[r.method.toLowerCase()];
    if (!op) {
      problems.push(`${name}: not in the document`);
      continue;
    }
    if (!op.operationId) problems.push(`${name}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${name}: operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
    else ids.set(op.operationId, name);
    if (!op.summary) problems.push(`${name}: no summary`);
    if (['POST', 'PUT', 'PATCH'].includes(r.method)) {
      const bodies = Object.values(op.requestBody?.content ?? {});
      if (bodies.length === 0 || !bodies.every((b) => typed(b.schema))) problems.push(`${name}: request body not typed`);
    }
    const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
    if (success.length === 0) problems.push(`${name}: no success response`);
    for (const [status, response] of success) {
      if (status === '204') continue;
      const bodies = Object.values(response?.content ?? {});
      if (bodies.length === 0 || !bodies.every((b) => typed(b.schema))) problems.push(`${name}: ${status} response not typed`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the document names no path the app does not serve', () => {
  const served = new Set(h.adminRoutes.map((r) => `${r.method.toLowerCase()} ${documentPath(r.url)}`));
  const extra = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => `${m} ${path}`)).filter((k) => !served.has(k));
  assert.deepEqual(extra, []);
});
