/**
 * /_admin/v1/hubs/{hub}/apns/channels: APNs broadcast channels (iOS 18; issue 14 item 2) through the hub's
 * APNs credentials. Herald keeps no copy: APNs's channel management API is the list (docs/platforms/apns.md).
 */
import type { FastifyInstance } from 'fastify';
import type { HubService } from '../../hubs/hub-service.ts';
import type { BroadcastChannels, ChannelAnswer, MessageStoragePolicy } from '../../pns/broadcast-channels.ts';
import { HubError } from '../../shared/errors.ts';
import { errorResponses } from './admin-schemas.ts';

const hubParams = { type: 'object', properties: { hub: { type: 'string' } }, required: ['hub'] } as const;
const channelParams = {
  type: 'object',
  properties: { hub: { type: 'string' }, channelId: { type: 'string', description: "APNs's channel id (base64; percent-encode it in the path)" } },
  required: ['hub', 'channelId'],
} as const;
const channelSchema = {
  type: 'object',
  properties: {
    channelId: { type: 'string' },
    messageStoragePolicy: { type: 'integer', enum: [0, 1], description: '0: no storage; 1: APNs keeps the most recent message' },
    requestId: { type: 'string', description: "APNs's apns-request-id" },
  },
} as const;
const responses = { ...errorResponses, 502: errorResponses[400] } as const;

/** APNs's answer as the caller's result, or the HubError that says what APNs refused. */
function accepted(a: ChannelAnswer, channelId?: string): Extract<ChannelAnswer, { ok: true }> {
  if (!a.ok) throw new HubError('pns_unavailable', `APNs did not answer: ${a.error}`);
  if (a.status >= 200 && a.status < 300) return a;
  const reason = a.reason ?? `HTTP ${a.status}`;
  const detail = typeof a.body?.detail === 'string' ? ` (${a.body.detail})` : '';
  if (reason === 'ChannelNotRegistered') throw new HubError('apns_channel_not_found', `APNs has no channel '${channelId ?? ''}' for this app.`, { reason });
  if (a.status >= 500) throw new HubError('pns_unavailable', `APNs answered ${a.status} ${reason}; try again later.`, { status: a.status, reason });
  throw new HubError('pns_rejected', `APNs refused the request: ${reason}${detail}.`, { status: a.status, reason });
}

export async function adminChannelRoutes(app: FastifyInstance, deps: { hubs: HubService; apnsChannels?: BroadcastChannels }): Promise<void> {
  const channels = (): BroadcastChannels => {
    if (!deps.apnsChannels) throw new HubError('not_implemented', 'This Herald has no APNs connector.');
    return deps.apnsChannels;
  };
  const credentials = (hub: string) => deps.hubs.openCredentials(hub, 'apns');

  app.post<{ Params: { hub: string }; Body: { messageStoragePolicy: MessageStoragePolicy } }>(
    '/hubs/:hub/apns/channels',
    {
      schema: {
        operationId: 'createApnsChannel',
        summary: 'Create an APNs broadcast channel (Live Activities, iOS 18)',
        tags: ['apns channels'],
        params: hubParams,
        body: { type: 'object', additionalProperties: false, required: ['messageStoragePolicy'], properties: { messageStoragePolicy: channelSchema.properties.messageStoragePolicy } },
        response: { 201: channelSchema, ...responses },
      },
    },
    async (req, reply) => {
      const a = accepted(await channels().createChannel(await credentials(req.params.hub), req.body.messageStoragePolicy));
      return reply.code(201).send({ channelId: a.channelId, messageStoragePolicy: req.body.messageStoragePolicy, ...(a.requestId ? { requestId: a.requestId } : {}) });
    },
  );

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/apns/channels',
    {
      schema: {
        operationId: 'listApnsChannels',
        summary: "The app's APNs broadcast channels in the credentials' environment",
        tags: ['apns channels'],
        params: hubParams,
        response: { 200: { type: 'object', properties: { channels: { type: 'array', items: { type: 'string' } } } }, ...responses },
      },
    },
    async (req) => {
      const a = accepted(await channels().listChannels(await credentials(req.params.hub)));
      const list = a.body?.channels;
      return { channels: Array.isArray(list) ? list.filter((c): c is string => typeof c === 'string') : [] };
    },
  );

  app.get<{ Params: { hub: string; channelId: string } }>(
    '/hubs/:hub/apns/channels/:channelId',
    { schema: { operationId: 'getApnsChannel', summary: 'One APNs broadcast channel and its message storage policy', tags: ['apns channels'], params: channelParams, response: { 200: channelSchema, ...responses } } },
    async (req) => {
      const a = accepted(await channels().readChannel(await credentials(req.params.hub), req.params.channelId), req.params.channelId);
      return { channelId: req.params.channelId, messageStoragePolicy: a.body?.['message-storage-policy'] };
    },
  );

  app.delete<{ Params: { hub: string; channelId: string } }>(
    '/hubs/:hub/apns/channels/:channelId',
    { schema: { operationId: 'deleteApnsChannel', summary: 'Delete an APNs broadcast channel', tags: ['apns channels'], params: channelParams, response: { 204: { type: 'null' }, ...responses } } },
    async (req, reply) => {
      accepted(await channels().deleteChannel(await credentials(req.params.hub), req.params.channelId), req.params.channelId);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { hub: string; channelId: string }; Body: { payload: Record<string, unknown>; priority?: 5 | 10; expiration?: number } }>(
    '/hubs/:hub/apns/channels/:channelId/broadcasts',
    {
      schema: {
        operationId: 'broadcastToApnsChannel',
        summary: 'Send a Live Activity update or end to every device subscribed to an APNs channel',
        tags: ['apns channels'],
        params: channelParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['payload'],
          properties: {
            payload: { type: 'object', description: 'The APNs payload: {"aps":{"event":"update"|"end","timestamp",...}}' },
            priority: { type: 'integer', enum: [5, 10], description: 'apns-priority (default 10)' },
            expiration: { type: 'integer', minimum: 0, description: 'apns-expiration, seconds since 1970; 0 for a no-storage channel' },
          },
        },
        response: { 200: { type: 'object', properties: { channelId: { type: 'string' }, requestId: { type: 'string' } } }, ...responses },
      },
    },
    async (req) => {
      const headers: Record<string, string> = {};
      if (req.body.priority !== undefined) headers['apns-priority'] = String(req.body.priority);
      if (req.body.expiration !== undefined) headers['apns-expiration'] = String(req.body.expiration);
      const payload = Buffer.from(JSON.stringify(req.body.payload));
      const a = accepted(await channels().broadcast(await credentials(req.params.hub), req.params.channelId, payload, headers), req.params.channelId);
      return { channelId: req.params.channelId, ...(a.requestId ? { requestId: a.requestId } : {}) };
    },
  );
}
