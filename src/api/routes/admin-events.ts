/**
 * /_admin/v1/hubs/{hub}/events: the hub's live event stream (Server-Sent Events), and
 * /_admin/v1/hubs/{hub}/webhooks: webhook subscriptions and their deliveries (issue 13 item 1).
 */
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, isEventType } from '../../events/model.ts';
import type { EventStreams } from '../../events/sse.ts';
import { subscriptionView, type WebhookService } from '../../events/webhooks.ts';
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

  if (events.webhooks) webhookRoutes(app, events.webhooks);
}

const subscriptionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    types: { type: 'array', items: { type: 'string' }, description: 'Event types delivered; empty: all' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const attemptSchema = {
  type: 'object',
  properties: {
    at: { type: 'string', format: 'date-time' },
    status: { type: 'integer', description: "The receiver's HTTP status; absent when none came" },
    error: { type: 'string' },
    durationMs: { type: 'integer' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    eventId: { type: 'string', description: 'The webhook-id header: de-duplicate on it' },
    eventType: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    nextAttemptAt: { type: 'string', format: 'date-time' },
    attempts: { type: 'array', items: attemptSchema },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const subscriptionParams = { type: 'object', required: ['hub', 'id'], properties: { hub: { type: 'string' }, id: { type: 'string' } } } as const;
const iso = (ms: number) => new Date(ms).toISOString();

function webhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  app.post<{ Params: { hub: string }; Body: { url: unknown; types?: unknown } }>(
    '/hubs/:hub/webhooks',
    {
      schema: {
        operationId: 'createWebhook',
        summary: 'Subscribe a URL to the hub\'s events; the answer holds the signing secret, shown this once',
        tags: ['webhooks'],
        params: hubParams,
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: { url: { type: 'string', description: 'https to a public address (any http(s) URL in sandbox mode)' }, types: { type: 'array', items: { type: 'string' } } },
        },
        response: { 201: { type: 'object', properties: { subscription: subscriptionSchema, secret: { type: 'string', description: 'whsec_<base64>: verifies webhook-signature' } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { subscription, secret } = await webhooks.create(req.params.hub, req.body);
      return reply.code(201).send({ subscription: subscriptionView(subscription), secret });
    },
  );

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/webhooks',
    {
      schema: {
        operationId: 'listWebhooks',
        summary: "The hub's webhook subscriptions (never their secrets)",
        tags: ['webhooks'],
        params: hubParams,
        response: { 200: { type: 'object', properties: { subscriptions: { type: 'array', items: subscriptionSchema } } }, ...errorResponses },
      },
    },
    async (req) => ({ subscriptions: (await webhooks.list(req.params.hub)).map(subscriptionView) }),
  );

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/webhooks/:id',
    { schema: { operationId: 'getWebhook', summary: 'A webhook subscription', tags: ['webhooks'], params: subscriptionParams, response: { 200: subscriptionSchema, ...errorResponses } } },
    async (req) => subscriptionView(await webhooks.get(req.params.hub, req.params.id)),
  );

  app.patch<{ Params: { hub: string; id: string }; Body: { url?: unknown; types?: unknown } }>(
    '/hubs/:hub/webhooks/:id',
    {
      schema: {
        operationId: 'updateWebhook',
        summary: "Change a subscription's URL or event types",
        tags: ['webhooks'],
        params: subscriptionParams,
        body: { type: 'object', additionalProperties: false, properties: { url: { type: 'string' }, types: { type: 'array', items: { type: 'string' } } } },
        response: { 200: subscriptionSchema, ...errorResponses },
      },
    },
    async (req) => subscriptionView(await webhooks.update(req.params.hub, req.params.id, req.body)),
  );

  app.delete<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/webhooks/:id',
    { schema: { operationId: 'deleteWebhook', summary: 'Delete a subscription with its pending deliveries', tags: ['webhooks'], params: subscriptionParams, response: { 204: { type: 'null' }, ...errorResponses } } },
    async (req, reply) => {
      await webhooks.delete(req.params.hub, req.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { hub: string; id: string }; Querystring: { top?: number; after?: string } }>(
    '/hubs/:hub/webhooks/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        summary: "A subscription's deliveries, newest first, with every attempt",
        tags: ['webhooks'],
        params: subscriptionParams,
        querystring: { type: 'object', additionalProperties: false, properties: { top: { type: 'integer', minimum: 1, maximum: 1000 }, after: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deliverySchema }, next: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (req) => {
      const page = await webhooks.deliveries(req.params.hub, req.params.id, { limit: req.query.top ?? 100, ...(req.query.after === undefined ? {} : { after: req.query.after }) });
      return {
        items: page.items.map((d) => ({
          id: d.id,
          eventId: d.eventId,
          eventType: d.eventType,
          state: d.state,
          ...(d.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(d.nextAttemptAt) }),
          attempts: d.attempts.map((a) => ({ ...a, at: iso(a.at) })),
          createdAt: iso(d.createdAt),
        })),
        ...(page.next === undefined ? {} : { next: page.next }),
      };
    },
  );
}
