/** /_admin/v1/hubs: create, list, get and delete hubs, and their connection strings. */
import type { FastifyInstance } from 'fastify';
import { connectionString, FULL_RULE, LISTEN_RULE, ruleView } from '../../hubs/hub-service.ts';
import type { HubRecord, RuleRecord } from '../../store/store.ts';
import type { AppDeps } from '../app.ts';
import { errorResponses, hubParams, hubSchema, ruleSchema } from './admin-schemas.ts';

export function hubView(h: HubRecord) {
  return {
    name: h.name,
    settings: h.settings,
    createdAt: new Date(h.createdAt).toISOString(),
    updatedAt: new Date(h.updatedAt).toISOString(),
  };
}

export async function adminHubRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { hubs } = deps;
  const connection = (rule: RuleRecord) => {
    const ep = deps.publicEndpoint();
    return {
      rule: rule.name,
      rights: rule.rights,
      primary: connectionString(ep.host, ep.port, rule, ep.scheme),
      secondary: connectionString(ep.host, ep.port, { name: rule.name, primaryKey: rule.secondaryKey }, ep.scheme),
    };
  };

  app.get(
    '/hubs',
    { schema: { operationId: 'listHubs', summary: 'List hubs', tags: ['hubs'], response: { 200: { type: 'object', properties: { hubs: { type: 'array', items: hubSchema } } } } } },
    async () => ({ hubs: (await hubs.listHubs()).map(hubView) }),
  );

  app.post<{ Body: { name: unknown } }>(
    '/hubs',
    {
      schema: {
        operationId: 'createHub',
        summary: 'Create a hub with the two default rules and fresh keys',
        tags: ['hubs'],
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', description: 'Letters, digits, ".", "-", "_"; starts and ends with a letter or digit' } }, additionalProperties: false },
        response: {
          201: {
            type: 'object',
            properties: {
              hub: hubSchema,
              rules: { type: 'array', items: ruleSchema },
              connectionStrings: { type: 'object', properties: { full: { type: 'string' }, listen: { type: 'string' } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { hub, rules } = await hubs.createHub(req.body.name);
      const byName = (n: string) => rules.find((r) => r.name === n)!;
      return reply.code(201).send({
        hub: hubView(hub),
        rules: rules.map(ruleView),
        connectionStrings: { full: connection(byName(FULL_RULE)).primary, listen: connection(byName(LISTEN_RULE)).primary },
      });
    },
  );

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub',
    { schema: { operationId: 'getHub', summary: 'Get a hub', tags: ['hubs'], params: hubParams, response: { 200: hubSchema, ...errorResponses } } },
    async (req) => hubView(await hubs.getHub(req.params.hub)),
  );

  app.patch<{ Params: { hub: string }; Body: { settings: unknown } }>(
    '/hubs/:hub',
    {
      schema: {
        operationId: 'updateHub',
        summary: "Change a hub's settings",
        description:
          'registrationTtlSeconds: registrations expire this long after their last update (null: never, the default); an expired registration answers 410 Gone until it is purged. sendsPerSecond, registrationsPerSecond: rate limits of the Azure surface (null: none, the default); above them requests get 429 with Retry-After.',
        tags: ['hubs'],
        params: hubParams,
        body: { type: 'object', required: ['settings'], additionalProperties: false, properties: { settings: hubSchema.properties.settings } },
        response: { 200: hubSchema, ...errorResponses },
      },
    },
    async (req) => hubView(await hubs.updateSettings(req.params.hub, req.body.settings)),
  );

  app.delete<{ Params: { hub: string } }>(
    '/hubs/:hub',
    { schema: { operationId: 'deleteHub', summary: 'Delete a hub with its rules and credentials', tags: ['hubs'], params: hubParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await hubs.deleteHub(req.params.hub);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { hub: string; rule: string } }>(
    '/hubs/:hub/rules/:rule/connection-strings',
    {
      schema: {
        operationId: 'getConnectionStrings',
        summary: "A rule's Azure connection strings (primary and secondary key)",
        tags: ['rules'],
        params: { type: 'object', properties: { hub: { type: 'string' }, rule: { type: 'string' } } },
        response: {
          200: { type: 'object', properties: { rule: { type: 'string' }, rights: { type: 'array', items: { type: 'string' } }, primary: { type: 'string' }, secondary: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (req) => connection(await hubs.getRule(req.params.hub, req.params.rule)),
  );
}
