/**
 * /_admin/v1/hubs/{hub}/events: the hub's live event stream (Server-Sent Events), and
 * /_admin/v1/hubs/{hub}/webhooks: webhook subscriptions and their deliveries (issue 13 item 1).
 */
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, isEventType } from '../../events/model.ts';
import type { EventStreams } from '../../events/sse.ts';
import type { WebhookService } from '../../events/webhooks.ts';
import { HubError } from '../../shared/errors.ts';
import type { AppDeps } from '../app.ts';
import { errorResponses, hubParams } from './admin-schemas.ts';

export interface EventDeps {
  streams: EventStreams;
  webhooks?: WebhookService;
}

/** `?types=a,b`: each a known event type; absent or empty: every type. */
export function parseTypes(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const types = [...new Set(text.split(',').map((t) => t.trim()).filter((t) => t !== ''))];
  for (const t of types) {
    if (!isEventType(t)) throw new HubError('invalid_request', `Unknown event type '${t}'; the types are ${EVENT_TYPES.join(', ')}.`);
  }
  return types;
}

export async function adminEventRoutes(app: FastifyInstance, deps: AppDeps, events: EventDeps): Promise<void> {
  app.addHook('preClose', (done) => {
    events.streams.close();
    done();
  });

  app.get<{ Params: { hub: string }; Querystring: { types?: string; after?: string } }>(
    '/hubs/:hub/events',
    {
      schema: {
        operationId: 'streamHubEvents',
        summary: "The hub's events as a live Server-Sent Events stream",
        description:
          'text/event-stream: each event is `id: <event id>`, `event: <type>`, `data: <JSON envelope>`. Resume with the Last-Event-ID header (or ?after=) within the retention window; an older position first gets an `event: reset`. See docs/events.md.',
        tags: ['events'],
        params: hubParams,
        querystring: {
          type: 'object',
          properties: {
            types: { type: 'string', description: `Comma-separated event types (default: all): ${EVENT_TYPES.join(', ')}` },
            after: { type: 'string', description: 'Resume after this event id (as the Last-Event-ID header)' },
          },
          additionalProperties: false,
        },
        produces: ['text/event-stream'],
        response: { 200: { description: 'The stream (text/event-stream)', type: 'string' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      const types = parseTypes(req.query.types);
      const header = req.headers['last-event-id'];
      const after = req.query.after ?? (typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined);
      // Checked before the stream starts: a bad position is a 400 with the error body, not a broken stream.
      const prepared = await events.streams.prepare(hub.name, { ...(after === undefined ? {} : { after }), ...(types ? { types } : {}) });
      reply.hijack();
      events.streams.attach(prepared, reply.raw);
    },
  );
}
