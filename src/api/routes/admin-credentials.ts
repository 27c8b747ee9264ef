/** /_admin/v1/hubs/{hub}/credentials: a hub's PNS credentials, stored sealed and never returned whole. */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { credentialSchema, errorResponses } from './admin-schemas.ts';

const params = { type: 'object', properties: { hub: { type: 'string' }, platform: { type: 'string', description: 'apns, fcmv1, wns, browser or adm' } } } as const;

export async function adminCredentialRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { hubs } = deps;

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/credentials',
    {
      schema: {
        summary: "List a hub's PNS credentials (identifiers and fingerprints only)",
        tags: ['credentials'],
        params: { type: 'object', properties: { hub: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { credentials: { type: 'array', items: credentialSchema } } }, ...errorResponses },
      },
    },
    async (req) => ({ credentials: await hubs.listCredentials(req.params.hub) }),
  );

  app.put<{ Params: { hub: string; platform: string }; Body: unknown }>(
    '/hubs/:hub/credentials/:platform',
    {
      schema: {
        summary: 'Set the credentials of one platform (replaces what was there)',
        description: [
          'apns: {"auth":"token","keyId","teamId","bundleId","key":"<.p8 PEM>","environment"?} or {"auth":"certificate","certificate":"<PEM>","privateKey":"<PEM>"}',
          'fcmv1: {"serviceAccount": <service-account JSON object or string>}',
          'wns: {"clientId","clientSecret","tenantId"?}',
          'browser: {"subject":"mailto:...","publicKey","privateKey"} (VAPID, base64url)',
          'adm: {"clientId","clientSecret"} (the Login with Amazon security profile of the Kindle app)',
          'Each may carry "endpoint": an http(s) URL that replaces the vendor endpoint (an emulator, a test server).',
        ].join('\n'),
        tags: ['credentials'],
        params,
        body: { type: 'object' },
        response: { 200: credentialSchema, ...errorResponses },
      },
    },
    async (req) => hubs.setCredentials(req.params.hub, req.params.platform, req.body),
  );

  app.get<{ Params: { hub: string; platform: string } }>(
    '/hubs/:hub/credentials/:platform',
    { schema: { summary: "One platform's credentials (identifiers and fingerprints only)", tags: ['credentials'], params, response: { 200: credentialSchema, ...errorResponses } } },
    async (req) => hubs.getCredentials(req.params.hub, req.params.platform),
  );

  app.delete<{ Params: { hub: string; platform: string } }>(
    '/hubs/:hub/credentials/:platform',
    { schema: { summary: "Remove one platform's credentials", tags: ['credentials'], params, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await hubs.deleteCredentials(req.params.hub, req.params.platform);
      return reply.code(204).send();
    },
  );
}
