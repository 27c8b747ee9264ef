/**
 * The sandbox on the management API (issue 13, the portal's sandbox page): the emulators' devices and
 * what each received, a simulated device registered in a hub in one call, and credentials minted by an
 * emulator to paste into a hub's credentials form. Every route answers 404 outside sandbox mode.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { HubService } from '../../hubs/hub-service.ts';
import { installationToJson } from '../../registry/installation.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { HubError } from '../../shared/errors.ts';
import { DOCUMENTED_BODY, errorResponses } from './admin-schemas.ts';

const PLATFORMS = ['apns', 'fcmv1', 'wns', 'browser'] as const;
type Platform = (typeof PLATFORMS)[number];

/** Every simulated device takes a template send with a `message` property, the send page's default. */
const TEMPLATES: Readonly<Record<Platform, { body: string; headers?: Record<string, string> }>> = {
  apns: { body: '{"aps":{"alert":"$(message)"}}' },
  fcmv1: { body: '{"message":{"notification":{"body":"$(message)"}}}' },
  wns: { body: '<toast><visual><binding template="ToastGeneric"><text>$(message)</text></binding></visual></toast>', headers: { 'X-WNS-Type': 'wns/toast' } },
  browser: { body: '{"title":"Herald","body":"$(message)"}' },
};

const deviceSchema = {
  type: 'object',
  properties: {
    platform: { type: 'string', enum: PLATFORMS },
    handle: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    expired: { type: 'boolean' },
    deliveries: { type: 'integer' },
  },
} as const;

export async function adminSandboxRoutes(app: FastifyInstance, deps: { hubs: HubService; registry: RegistryService; sandbox?: () => Sandbox | null }): Promise<void> {
  const sandbox = (): Sandbox => {
    const s = deps.sandbox?.() ?? null;
    if (!s) throw new HubError('not_found', 'This hub does not run in sandbox mode (start it with --sandbox).');
    return s;
  };

  app.get(
    '/sandbox/devices',
    {
      schema: {
        operationId: 'listSandboxDevices',
        summary: "Every device the sandbox emulators handed out, newest first, with how many pushes each received",
        tags: ['sandbox'],
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deviceSchema } } }, ...errorResponses },
      },
    },
    async () => ({ items: sandbox().devices().map((d) => ({ ...d, createdAt: new Date(d.createdAt).toISOString() })) }),
  );

  app.get<{ Querystring: { handle: string } }>(
    '/sandbox/deliveries',
    {
      schema: {
        operationId: 'listSandboxDeliveries',
        summary: 'What one emulator device received, oldest first',
        tags: ['sandbox'],
        querystring: { type: 'object', required: ['handle'], additionalProperties: false, properties: { handle: { type: 'string', minLength: 1 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              handle: { type: 'string' },
              items: { type: 'array', items: { type: 'object', properties: { time: { type: 'string' }, headers: { type: 'object', additionalProperties: { type: 'string' } }, payload: { type: 'string' } } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const items = sandbox().deliveries(req.query.handle);
      if (!items) throw new HubError('not_found', 'No sandbox emulator handed out this handle.');
      return { handle: req.query.handle, items };
    },
  );

  app.post<{ Params: { platform: Platform } }>(
    '/sandbox/credentials/:platform',
    {
      schema: {
        operationId: 'mintSandboxCredentials',
        summary: "Credentials minted by the platform's emulator, in the shape PUT /hubs/{hub}/credentials/{platform} takes (nothing is stored)",
        tags: ['sandbox'],
        params: { type: 'object', required: ['platform'], properties: { platform: { type: 'string', enum: PLATFORMS } } },
        // No fields: an empty object or no body at all (so it is documented, not validated).
        ...{ [DOCUMENTED_BODY]: { content: { 'application/json': { schema: { type: 'object', description: 'Nothing: an empty object, or no body', properties: {}, additionalProperties: false } } } } },
        response: {
          200: { type: 'object', description: "The platform's fields, as the credentials PUT takes them", properties: { endpoint: { type: 'string' } }, additionalProperties: true },
          ...errorResponses,
        },
      },
    },
    async (req) => sandbox().mintCredentials(req.params.platform),
  );

  app.post<{ Params: { hub: string }; Body: { platform: Platform; tags?: string[]; userId?: string; installationId?: string } }>(
    '/hubs/:hub/sandbox/devices',
    {
      schema: {
        operationId: 'registerSandboxDevice',
        summary: "A simulated device: a handle from the platform's emulator, registered in the hub as an installation with a template named message",
        tags: ['sandbox'],
        params: { type: 'object', properties: { hub: { type: 'string' } } },
        body: {
          type: 'object',
          required: ['platform'],
          additionalProperties: false,
          properties: {
            platform: { type: 'string', enum: PLATFORMS },
            tags: { type: 'array', items: { type: 'string' } },
            userId: { type: 'string' },
            installationId: { type: 'string', description: 'Generated when absent' },
          },
        },
        response: {
          201: {
            type: 'object',
            description: 'The installation as registered (GET /hubs/{hub}/installations/{id})',
            properties: { installationId: { type: 'string' }, platform: { type: 'string' }, expirationTime: { type: 'string' } },
            additionalProperties: true,
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const s = sandbox();
      const hub = await deps.hubs.getHub(req.params.hub);
      const b = req.body;
      const id = b.installationId ?? `sandbox-${randomUUID()}`;
      const device = await s.mintDevice(b.platform);
      const inst = await deps.registry.putInstallation(hub, id, {
        installationId: id,
        platform: b.platform,
        pushChannel: device.pushChannel,
        ...(b.tags && b.tags.length > 0 ? { tags: b.tags } : {}),
        ...(b.userId ? { userId: b.userId } : {}),
        templates: { message: TEMPLATES[b.platform] },
      });
      return reply.code(201).send(installationToJson(inst));
    },
  );
}
