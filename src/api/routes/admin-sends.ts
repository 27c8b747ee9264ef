/**
 * Sends and notifications on the management API (issue 13, the portal's send and messages pages):
 * `POST /_admin/v1/hubs/{hub}/messages` sends a native or template notification to a tag expression (or
 * everyone), as a test send answering per-device results at once or as a real one; GET lists a hub's
 * notifications newest first with state and per-PNS counts, and GET .../messages/{id} reads one.
 * The request is validated by the same code as the Azure surface's send (api/wire/send-request.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { SendService } from '../../dispatch/dispatcher.ts';
import type { StoredRequest } from '../../dispatch/render.ts';
import type { HubService } from '../../hubs/hub-service.ts';
import { pageSize, type RegistryService } from '../../registry/registry-service.ts';
import { HubError } from '../../shared/errors.ts';
import type { NotificationRecord, Store } from '../../store/store.ts';
import { parseSendRequest } from '../wire/send-request.ts';
import { errorResponses } from './admin-schemas.ts';

interface SendBody {
  format: string;
  body: string;
  tagExpression?: string;
  properties?: Record<string, string>;
  headers?: Record<string, string>;
  test?: boolean;
}

const sendBody = {
  type: 'object',
  required: ['format', 'body'],
  additionalProperties: false,
  properties: {
    format: { type: 'string', description: 'template, apple, fcmv1, windows, browser (ServiceBusNotification-Format)' },
    body: { type: 'string', description: 'The native payload, or the template send\'s properties as a JSON object' },
    tagExpression: { type: 'string', description: 'Whom to send to; absent or empty: every registration of the format (broadcast)' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'PNS headers to pass through (apns-push-type, X-WNS-Type, ...)' },
    test: { type: 'boolean', description: 'A test send: at most 10 devices, their results in the answer, nothing stored' },
  },
} as const;

const notificationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string' },
    format: { type: 'string' },
    tagExpression: { type: ['string', 'null'] },
    targets: { type: 'integer' },
    counts: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } }, description: 'Outcome counts per PNS' },
    enqueuedAt: { type: 'string', format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    endedAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const testResultSchema = {
  type: 'object',
  properties: {
    test: { type: 'boolean' },
    success: { type: 'integer' },
    failure: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { platform: { type: 'string' }, handle: { type: 'string' }, registrationId: { type: 'string' }, outcome: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
} as const;

export function notificationJson(n: NotificationRecord) {
  const req = n.request as unknown as Partial<StoredRequest>;
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    id: n.id,
    state: n.state,
    format: req.format ?? '',
    tagExpression: req.target?.kind === 'tags' ? req.target.expression : null,
    targets: n.targets,
    counts: n.counts,
    enqueuedAt: new Date(n.enqueuedAt).toISOString(),
    startedAt: iso(n.startedAt),
    endedAt: iso(n.endedAt),
  };
}

export async function adminSendRoutes(app: FastifyInstance, deps: { hubs: HubService; store: Store; sends: SendService; registry: RegistryService }): Promise<void> {
  const params = { type: 'object', properties: { hub: { type: 'string' } } } as const;

  app.post<{ Params: { hub: string }; Body: SendBody }>(
    '/hubs/:hub/messages',
    {
      schema: {
        operationId: 'sendMessage',
        summary: 'Send a notification to a tag expression (or everyone); a test send answers per-device results',
        tags: ['messages'],
        params,
        body: sendBody,
        response: { 200: testResultSchema, 201: notificationSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      const b = req.body;
      const headers: Record<string, string> = {
        ...Object.fromEntries(Object.entries(b.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        'servicebusnotification-format': b.format,
        'content-type': b.format === 'template' || b.format === 'apple' || b.format === 'fcmv1' || b.format === 'gcm' ? 'application/json;charset=utf-8' : (b.headers?.['content-type'] ?? 'application/xml'),
      };
      if (b.tagExpression !== undefined && b.tagExpression.trim() !== '') headers['servicebusnotification-tags'] = b.tagExpression;
      const query = new URLSearchParams(b.test ? 'test' : '');
      const send = parseSendRequest({ headers, query, body: Buffer.from(b.body, 'utf8'), batch: false, scheduled: false });
      if (send.test) {
        const r = await deps.sends.testSend(hub, send);
        const failure = r.outcomes.filter((o) => o.outcome.kind !== 'delivered').length;
        return reply.code(200).send({
          test: true,
          success: r.outcomes.length - failure,
          failure,
          results: r.outcomes.map(({ target, outcome }) => ({
            platform: target.platform,
            handle: target.handle,
            registrationId: target.registrationId ?? '',
            outcome: outcome.azure,
            reason: outcome.reason,
          })),
        });
      }
      return reply.code(201).send(notificationJson(await deps.sends.accept(hub, send)));
    },
  );

  app.get<{ Params: { hub: string }; Querystring: { top?: string; continuationToken?: string } }>(
    '/hubs/:hub/messages',
    {
      schema: {
        operationId: 'listMessages',
        summary: "A hub's notifications, newest first, with state and outcome counts per PNS",
        tags: ['messages'],
        params,
        querystring: { type: 'object', additionalProperties: false, properties: { top: { type: 'string', description: 'Page size, 1 to 1000 (default 100)' }, continuationToken: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: notificationSchema }, continuationToken: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (req) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      // Sealed like the registry's tokens and bound to this listing: the store's cursor inside stays opaque.
      const scope = `${hub.name.toLowerCase()}|messages`;
      const token = req.query.continuationToken;
      const after = token === undefined ? undefined : deps.registry.tokens.read(scope, token);
      const page = await deps.store.dispatch.listNotifications(hub.name, { limit: pageSize(req.query.top), ...(after === undefined ? {} : { after }) });
      return { items: page.items.map(notificationJson), ...(page.next === undefined ? {} : { continuationToken: deps.registry.tokens.issue(scope, page.next) }) };
    },
  );

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/messages/:id',
    {
      schema: {
        operationId: 'getMessage',
        summary: 'One notification: state, targets and outcome counts per PNS',
        tags: ['messages'],
        params: { type: 'object', properties: { hub: { type: 'string' }, id: { type: 'string' } } },
        response: { 200: notificationSchema, ...errorResponses },
      },
    },
    async (req) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      const n = await deps.store.dispatch.getNotification(hub.name, req.params.id);
      if (!n) throw new HubError('notification_not_found', `Notification '${req.params.id}' was not found.`);
      return notificationJson(n);
    },
  );
}
