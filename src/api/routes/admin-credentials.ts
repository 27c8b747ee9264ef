/** /_admin/v1/hubs/{hub}/credentials: a hub's PNS credentials, stored sealed and never returned whole. */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { credentialSchema, errorResponses } from './admin-schemas.ts';

const params = { type: 'object', properties: { hub: { type: 'string' }, platform: { type: 'string', description: 'apns, fcmv1, wns, browser or adm' } } } as const;

const endpoint = { type: 'string', description: 'An http(s) URL that replaces the vendor endpoint (an emulator, a test server)' } as const;

/**
 * The body per platform, for the document. Validation stays with the domain (hubs/credentials.ts), whose
 * errors name the field: `additionalProperties` is left open here so its messages are the ones users see.
 */
const credentialsBody = {
  type: 'object',
  additionalProperties: true,
  properties: {
    auth: { type: 'string', description: 'apns: token or certificate' },
    keyId: { type: 'string', description: 'apns token' },
    teamId: { type: 'string', description: 'apns token' },
    bundleId: { type: 'string', description: 'apns token' },
    key: { type: 'string', description: 'apns token: the .p8 key (PEM)' },
    environment: { type: 'string', description: 'apns: production or sandbox' },
    certificate: { type: 'string', description: 'apns certificate (PEM)' },
    privateKey: { type: 'string', description: 'apns certificate: its key (PEM); browser: the VAPID private key (base64url)' },
    serviceAccount: { oneOf: [{ type: 'object', additionalProperties: true }, { type: 'string' }], description: 'fcmv1: the service-account JSON (object or string)' },
    clientId: { type: 'string', description: 'wns' },
    clientSecret: { type: 'string', description: 'wns' },
    tenantId: { type: 'string', description: 'wns (Microsoft Entra)' },
    subject: { type: 'string', description: 'browser: mailto: or https: contact' },
    publicKey: { type: 'string', description: 'browser: the VAPID public key (base64url)' },
    endpoint,
  },
} as const;

export async function adminCredentialRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { hubs } = deps;

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/credentials',
    {
      schema: {
        operationId: 'listCredentials',
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
        operationId: 'setCredentials',
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
        body: credentialsBody,
        response: { 200: credentialSchema, ...errorResponses },
      },
    },
    async (req) => hubs.setCredentials(req.params.hub, req.params.platform, req.body),
  );

  app.get<{ Params: { hub: string; platform: string } }>(
    '/hubs/:hub/credentials/:platform',
    { schema: { operationId: 'getCredentials', summary: "One platform's credentials (identifiers and fingerprints only)", tags: ['credentials'], params, response: { 200: credentialSchema, ...errorResponses } } },
    async (req) => hubs.getCredentials(req.params.hub, req.params.platform),
  );

  app.delete<{ Params: { hub: string; platform: string } }>(
    '/hubs/:hub/credentials/:platform',
    { schema: { operationId: 'deleteCredentials', summary: "Remove one platform's credentials", tags: ['credentials'], params, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await hubs.deleteCredentials(req.params.hub, req.params.platform);
      return reply.code(204).send();
    },
  );
}
