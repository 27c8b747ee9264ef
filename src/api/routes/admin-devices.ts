/**
 * One device of a hub's registry on the management API (issue 13, the portal's device page): read or
 * delete an installation or a registration by id. Querying many is admin-registry.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { HubService } from '../../hubs/hub-service.ts';
import { installationToJson } from '../../registry/installation.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import { errorResponses } from './admin-schemas.ts';
import { registrationJson } from './admin-registry.ts';

export async function adminDeviceRoutes(app: FastifyInstance, deps: { hubs: HubService; registry: RegistryService }): Promise<void> {
  const params = { type: 'object', required: ['hub', 'id'], properties: { hub: { type: 'string' }, id: { type: 'string' } } } as const;
  // The fields every answer has; the rest (channel, tags, templates...) as installationToJson and registrationJson give them.
  const installation = {
    200: {
      type: 'object',
      properties: { installationId: { type: 'string' }, platform: { type: 'string' }, pushChannelExpired: { type: 'boolean' }, expirationTime: { type: 'string' } },
      additionalProperties: true,
    },
    ...errorResponses,
  };
  const registration = {
    200: {
      type: 'object',
      properties: { registrationId: { type: 'string' }, kind: { type: 'string' }, platform: { type: 'string' }, etag: { type: 'integer' } },
      additionalProperties: true,
    },
    ...errorResponses,
  };
  const gone = { 204: { type: 'null' }, ...errorResponses };

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/installations/:id',
    { schema: { operationId: 'getInstallation', summary: 'One installation: channel, tags, templates', tags: ['registry'], params, response: installation } },
    async (req) => installationToJson(await deps.registry.getInstallation(await deps.hubs.getHub(req.params.hub), req.params.id)),
  );

  app.delete<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/installations/:id',
    { schema: { operationId: 'deleteInstallation', summary: 'Delete an installation and its registrations', tags: ['registry'], params, response: gone } },
    async (req, reply) => {
      await deps.registry.deleteInstallation(await deps.hubs.getHub(req.params.hub), req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/registrations/:id',
    { schema: { operationId: 'getRegistration', summary: 'One registration: handle, tags, template', tags: ['registry'], params, response: registration } },
    async (req) => registrationJson(await deps.registry.getRegistration(await deps.hubs.getHub(req.params.hub), req.params.id)),
  );

  app.delete<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/registrations/:id',
    { schema: { operationId: 'deleteRegistration', summary: "Delete a registration (an installation's are deleted with the installation)", tags: ['registry'], params, response: gone } },
    async (req, reply) => {
      await deps.registry.deleteRegistration(await deps.hubs.getHub(req.params.hub), req.params.id);
      return reply.code(204).send();
    },
  );
}
