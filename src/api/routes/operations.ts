/** Operations endpoints: /_health and /_metrics (no authentication: they reveal no tenant data). */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { HERALD_VERSION } from '../../shared/version.ts';

export async function operationsRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/_health', { schema: { hide: true } }, async (req, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ok', version: HERALD_VERSION, store: deps.store.kind };
    } catch (err) {
      req.log.error({ err }, 'health check: the store does not answer');
      return reply.code(503).send({ status: 'unavailable', version: HERALD_VERSION, store: deps.store.kind });
    }
  });

  app.get('/_metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
