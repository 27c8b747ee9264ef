/**
 * Authorization rules, per hub (/_admin/v1/hubs/{hub}/rules) and for the whole namespace
 * (/_admin/v1/rules): list, add, remove, regenerate the primary or secondary key.
 */
import type { FastifyInstance } from 'fastify';
import { ruleView } from '../../hubs/hub-service.ts';
import type { AppDeps } from '../app.ts';
import { errorResponses, ruleSchema } from './admin-schemas.ts';

const newRuleBody = {
  type: 'object',
  required: ['name', 'rights'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    rights: { type: 'array', items: { type: 'string' }, description: 'Any of Listen, Send, Manage (Manage implies the others)' },
    primaryKey: { type: 'string', description: 'Optional; generated when absent' },
    secondaryKey: { type: 'string', description: 'Optional; generated when absent' },
  },
} as const;

const regenerateBody = {
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: { key: { type: 'string', enum: ['primary', 'secondary'] } },
} as const;

interface RuleBody {
  name: unknown;
  rights: unknown;
  primaryKey?: unknown;
  secondaryKey?: unknown;
}

export async function adminRuleRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { hubs } = deps;
  // The same four routes twice: under a hub (scope = the hub) and at the namespace (scope = null).
  for (const [prefix, tag, scopeOf, scope] of [
    ['/hubs/:hub/rules', 'rules', (p: Record<string, string>) => p.hub!, 'Hub'],
    ['/rules', 'namespace rules', () => null, 'Namespace'],
  ] as const) {
    const hubParam = prefix.startsWith('/hubs') ? { hub: { type: 'string' } } : {};
    const params = { type: 'object', properties: { ...hubParam } };
    const ruleParams = { type: 'object', properties: { ...hubParam, rule: { type: 'string' } } };

    app.get<{ Params: Record<string, string> }>(
      prefix,
      { schema: { operationId: `list${scope}Rules`, summary: `List ${tag}`, tags: [tag], params, response: { 200: { type: 'object', properties: { rules: { type: 'array', items: ruleSchema } } }, ...errorResponses } } },
      async (req) => ({ rules: (await hubs.listRules(scopeOf(req.params))).map(ruleView) }),
    );

    app.post<{ Params: Record<string, string>; Body: RuleBody }>(
      prefix,
      { schema: { operationId: `add${scope}Rule`, summary: `Add a rule (${tag}); at most 12`, tags: [tag], params, body: newRuleBody, response: { 201: ruleSchema, ...errorResponses } } },
      async (req, reply) => reply.code(201).send(ruleView(await hubs.addRule(scopeOf(req.params), req.body))),
    );

    app.delete<{ Params: Record<string, string> }>(
      `${prefix}/:rule`,
      { schema: { operationId: `delete${scope}Rule`, summary: `Remove a rule (${tag})`, tags: [tag], params: ruleParams, response: { 204: { type: 'null' }, ...errorResponses } } },
      async (req, reply) => {
        await hubs.removeRule(scopeOf(req.params), req.params.rule!);
        return reply.code(204).send();
      },
    );

    app.post<{ Params: Record<string, string>; Body: { key: unknown } }>(
      `${prefix}/:rule/regenerate`,
      {
        schema: {
          operationId: `regenerate${scope}RuleKey`,
          summary: `Replace the primary or the secondary key of a rule (${tag})`,
          description: 'Tokens signed with the old key stop working at once; rotate the key clients do not use.',
          tags: [tag],
          params: ruleParams,
          body: regenerateBody,
          response: { 200: ruleSchema, ...errorResponses },
        },
      },
      async (req) => ruleView(await hubs.regenerateKey(scopeOf(req.params), req.params.rule!, req.body.key)),
    );
  }
}
