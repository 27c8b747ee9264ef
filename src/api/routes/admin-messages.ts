/**
 * Beyond Azure, per-device outcomes: for every targeted device of a notification, its registration,
 * handle, platform, outcome, PNS reason, attempts and time (Azure gives counts per PNS only).
 */
import type { FastifyInstance } from 'fastify';
import type { HubService } from '../../hubs/hub-service.ts';
import { pageSize, type RegistryService } from '../../registry/registry-service.ts';
import { HubError } from '../../shared/errors.ts';
import type { Store } from '../../store/store.ts';
import { errorResponses, feedbackSchema, outcomesSchema, secureReadsSchema } from './admin-schemas.ts';
import { pendingTargets } from '../../dispatch/pending.ts';

/** States in which targets may still wait in the queue. */
const RUNNING_STATES = new Set(['Enqueued', 'Scheduled', 'Processing']);
/** Pending targets shown with the first page of outcomes. */
const MAX_PENDING_SHOWN = 100;

export async function adminMessageRoutes(app: FastifyInstance, deps: { hubs: HubService; store: Store; registry: RegistryService }): Promise<void> {
  app.get<{ Params: { hub: string; id: string }; Querystring: { outcome?: string; top?: string; continuationToken?: string } }>(
    '/hubs/:hub/messages/:id/outcomes',
    {
      schema: {
        operationId: 'listOutcomes',
        summary: "A notification's per-device outcomes",
        description: 'While the notification runs, the first page also lists the targets still queued (pending), with their attempts, last error and next attempt.',
        tags: ['messages'],
        params: { type: 'object', properties: { hub: { type: 'string' }, id: { type: 'string' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            outcome: { type: 'string', description: 'Only this outcome (Success, WrongToken, ExpiredChannel, ...)' },
            top: { type: 'string' },
            continuationToken: { type: 'string' },
          },
        },
        response: { 200: outcomesSchema, ...errorResponses },
      },
    },
    async (req) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      const n = await deps.store.dispatch.getNotification(hub.name, req.params.id);
      if (!n) throw new HubError('notification_not_found', `Notification '${req.params.id}' was not found.`);
      // Sealed like the registry's tokens and bound to this listing: the store's cursor inside stays opaque.
      const scope = `${hub.name.toLowerCase()}|outcomes|${n.id}|${req.query.outcome ?? ''}`;
      const token = req.query.continuationToken;
      const after = token === undefined ? undefined : deps.registry.tokens.read(scope, token);
      const page = await deps.store.dispatch.listOutcomes(hub.name, n.id, req.query.outcome ? { outcome: req.query.outcome } : {}, {
        limit: pageSize(req.query.top),
        ...(after === undefined ? {} : { after }),
      });
      // Targets still queued (first page only): attempts, last error and next attempt of each.
      const pending = after === undefined && RUNNING_STATES.has(n.state) ? await pendingTargets(deps.store, hub.name, n.id, MAX_PENDING_SHOWN) : undefined;
      return {
        notificationId: n.id,
        state: n.state,
        items: page.items.map((o) => ({ ...o, at: new Date(o.at).toISOString() })),
        ...(pending === undefined ? {} : { pending }),
        ...(page.next === undefined ? {} : { continuationToken: deps.registry.tokens.issue(scope, page.next) }),
      };
    },
  );

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/messages/:id/secure-reads',
    {
      schema: {
        operationId: 'listSecureReads',
        summary: "Who read a secure notification's payload, and when",
        tags: ['messages'],
        params: { type: 'object', properties: { hub: { type: 'string' }, id: { type: 'string' } } },
        response: { 200: secureReadsSchema, ...errorResponses },
      },
    },
    async (req) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      return { items: (await deps.store.dispatch.listSecureReads(hub.name, req.params.id)).map((r) => ({ ...r, at: new Date(r.at).toISOString() })) };
    },
  );

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/feedback',
    {
      schema: {
        operationId: 'listFeedback',
        summary: 'PNS feedback: handles the PNS reported dead, newest first',
        tags: ['messages'],
        params: { type: 'object', properties: { hub: { type: 'string' } } },
        response: { 200: feedbackSchema, ...errorResponses },
      },
    },
    async (req) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      return { items: (await deps.store.dispatch.listFeedback(hub.name, 1000)).map((f) => ({ ...f, at: new Date(f.at).toISOString() })) };
    },
  );
}
