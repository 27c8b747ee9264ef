/**
 * Beyond Azure, the registry you can see: `/_admin/v1/hubs/{hub}/installations` and `.../registrations`
 * queried by tag expression, platform, user id, handle and update time, with paging and counts.
 * (Azure offers only a bulk export.)
 */
import type { FastifyInstance } from 'fastify';
import { installationToJson } from '../../registry/installation.ts';
import type { PlatformName, Registration } from '../../registry/model.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import { HubError } from '../../shared/errors.ts';
import { parseTagExpression } from '../../tags/index.ts';
import type { AppDeps } from '../app.ts';
import { errorResponses } from './admin-schemas.ts';

const PLATFORMS: readonly PlatformName[] = ['wns', 'apns', 'gcm', 'fcmv1', 'browser', 'adm', 'baidu', 'xiaomi', 'mpns'];
/** Admin queries may be longer than a send's (Azure's 6/20-tag limits protect the send path). */
const QUERY_TAG_LIMITS = { maxTagsOrOnly: 100, maxTagsMixed: 100 };

interface QueryString {
  tagExpression?: string;
  platform?: string;
  userId?: string;
  installationId?: string;
  handle?: string;
  updatedSince?: string;
  updatedBefore?: string;
  top?: string;
  continuationToken?: string;
  count?: string;
}

const queryProperties = {
  tagExpression: { type: 'string', description: "A tag expression, e.g. UserId:1 && !Muted" },
  platform: { type: 'string', enum: PLATFORMS },
  handle: { type: 'string', description: 'The PNS handle (APNs token, channel URI, FCM token, Web Push endpoint)' },
  updatedSince: { type: 'string', format: 'date-time' },
  updatedBefore: { type: 'string', format: 'date-time' },
  top: { type: 'string', description: 'Page size, 1 to 1000 (default 100)' },
  continuationToken: { type: 'string' },
  count: { type: 'string', enum: ['true', 'false'], description: 'Also return the total number of matches' },
} as const;

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new HubError('invalid_request', `${name} must be an ISO 8601 date and time.`);
  return t;
}

function common(q: QueryString) {
  const updatedSince = time(q.updatedSince, 'updatedSince');
  const updatedBefore = time(q.updatedBefore, 'updatedBefore');
  return {
    ...(q.tagExpression ? { tagExpression: parseTagExpression(q.tagExpression, QUERY_TAG_LIMITS).ast } : {}),
    ...(q.platform ? { platform: q.platform as PlatformName } : {}),
    ...(q.handle ? { handles: [q.handle, ...(/^[0-9a-f]+$/.test(q.handle) ? [q.handle.toUpperCase()] : [])] } : {}),
    ...(updatedSince === undefined ? {} : { updatedSince }),
    ...(updatedBefore === undefined ? {} : { updatedBefore }),
  };
}

export function registrationJson(r: Registration) {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    registrationId: r.id,
    kind: r.kind,
    platform: r.handle.platform,
    handle: r.handle,
    tags: r.tags,
    ...(r.pushVariables ? { pushVariables: r.pushVariables } : {}),
    ...(r.template ? { template: r.template } : {}),
    installationId: r.installationId ?? null,
    etag: r.etag,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    expiresAt: iso(r.expiresAt),
  };
}

export async function adminRegistryRoutes(app: FastifyInstance, deps: AppDeps & { registry: RegistryService }): Promise<void> {
  const { hubs, registry } = deps;
  const listSchema = (what: string, operationId: string, extra: Record<string, unknown>) => ({
    operationId,
    summary: `Query a hub's ${what}`,
    tags: ['registry'],
    params: { type: 'object', properties: { hub: { type: 'string' } } },
    querystring: { type: 'object', additionalProperties: false, properties: { ...queryProperties, ...extra } },
    response: {
      200: {
        type: 'object',
        properties: {
          items: { type: 'array', items: { type: 'object', additionalProperties: true } },
          total: { type: 'integer' },
          continuationToken: { type: 'string' },
        },
      },
      ...errorResponses,
    },
  });

  app.get<{ Params: { hub: string }; Querystring: QueryString }>(
    '/hubs/:hub/installations',
    { schema: listSchema('installations', 'queryInstallations', { userId: { type: 'string' } }) },
    async (req) => {
      const hub = await hubs.getHub(req.params.hub);
      const q = req.query;
      const filter = { ...common(q), ...(q.userId ? { userId: q.userId } : {}) };
      const scope = JSON.stringify(filter);
      const r = await registry.queryInstallations(hub, scope, filter, { top: q.top ?? null, continuationToken: q.continuationToken ?? null }, q.count === 'true');
      return { ...r, items: r.items.map(installationToJson) };
    },
  );

  app.get<{ Params: { hub: string }; Querystring: QueryString }>(
    '/hubs/:hub/registrations',
    { schema: listSchema('registrations', 'queryRegistrations', { installationId: { type: 'string' }, userId: { type: 'string', description: 'Registrations tagged $UserId:{userId}' } }) },
    async (req) => {
      const hub = await hubs.getHub(req.params.hub);
      const q = req.query;
      const filter = {
        ...common(q),
        ...(q.installationId ? { installationId: q.installationId } : {}),
        ...(q.userId ? { tag: `$UserId:{${q.userId}}` } : {}),
      };
      const r = await registry.listRegistrations(hub, JSON.stringify(filter), filter, { top: q.top ?? null, continuationToken: q.continuationToken ?? null });
      const total = q.count === 'true' ? await registry.countRegistrations(hub, filter) : undefined;
      return { items: r.items.map(registrationJson), ...(total === undefined ? {} : { total }), ...(r.continuationToken ? { continuationToken: r.continuationToken } : {}) };
    },
  );
}
