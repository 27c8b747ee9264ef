/**
 * The "notify users" backend: apps register through it after their user logs in, and one call
 * notifies a user on all of their devices. See README.md in this folder.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { NotificationHubsClient, createTemplateNotification, type NotificationHubsClientOptions } from '@azure/notification-hubs';
import { HubCallError, issueDeviceCredential } from './device-credentials.ts';
import { HubRegistry, PLATFORMS, secureUserTag, statusOf, tagsOf, topicTag, userTag, type DeviceRecord, type Handle, type Platform } from './hub-registry.ts';

export interface BackendOptions {
  /** The hub's Full connection string (Manage: device credentials need it). Never given to apps. */
  connectionString: string;
  hubName: string;
  clientOptions?: NotificationHubsClientOptions;
  /** Keep the local device registry in this JSON file (default: in memory only). */
  registryFile?: string;
  logger?: boolean;
}

/** Ids, user ids and topics end up inside tags: keep them to the tag alphabet. */
const SAFE = '^[A-Za-z0-9_@#.-]{1,64}$';
const SAFE_RE = new RegExp(SAFE);

class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

const handleSchema = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 2048 },
    {
      type: 'object',
      required: ['endpoint', 'p256dh', 'auth'],
      additionalProperties: false,
      properties: { endpoint: { type: 'string', minLength: 1 }, p256dh: { type: 'string', minLength: 1 }, auth: { type: 'string', minLength: 1 } },
    },
  ],
};

/**
 * The example's login: `Authorization: Bearer <userId>`. A real app puts its own session check here;
 * what matters is that the user id (and so the tags) comes from the backend, not from the device.
 */
function userOf(req: FastifyRequest): string {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m || !SAFE_RE.test(m[1]!)) throw new HttpError(401, 'log in first: Authorization: Bearer <userId>');
  return m[1]!;
}

function checkHandle(platform: Platform, handle: Handle): void {
  if ((platform === 'browser') !== (typeof handle === 'object')) {
    throw new HttpError(400, platform === 'browser' ? 'a browser handle is the subscription {endpoint, p256dh, auth}' : `a ${platform} handle is a string`);
  }
}

function view(rec: DeviceRecord) {
  const { handle: _handle, ...rest } = rec;
  return { ...rest, tags: tagsOf(rec) };
}

export function createBackend(options: BackendOptions): FastifyInstance {
  const client = new NotificationHubsClient(options.connectionString, options.hubName, options.clientOptions);
  const registry = new HubRegistry(client, options.registryFile);
  const app = Fastify({ logger: options.logger ?? false });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply: FastifyReply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message });
    if (err.validation) return reply.code(400).send({ error: err.message });
    // Anything else is the hub (or the network) failing: the app may retry later.
    req.log.error({ err, hubStatus: statusOf(err) ?? (err instanceof HubCallError ? err.status : undefined) }, 'hub call failed');
    return reply.code(502).send({ error: 'the notification hub call failed; try again later' });
  });

  /** The device's record, which only its own user may touch. */
  const owned = (rec: DeviceRecord | undefined, user: string): DeviceRecord => {
    if (!rec) throw new HttpError(404, 'unknown device: register it with PUT /devices/{installationId} first');
    if (rec.userId !== user) throw new HttpError(403, 'this device belongs to another user');
    return rec;
  };

  const idParams = { type: 'object', properties: { id: { type: 'string', pattern: SAFE } } };

  // Registration: the app calls this at every start and whenever its PNS handle changes.
  app.put<{ Params: { id: string }; Body: { platform: Platform; handle: Handle; userId?: string } }>(
    '/devices/:id',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['platform', 'handle'],
          properties: { platform: { type: 'string', enum: [...PLATFORMS] }, handle: handleSchema, userId: { type: 'string' } },
        },
      },
    },
    async (req) => {
      const user = userOf(req);
      const { platform, handle, userId } = req.body;
      if (userId !== undefined && userId !== user) throw new HttpError(403, 'userId must be the logged-in user');
      checkHandle(platform, handle);
      return registry.update(req.params.id, async (existing) => {
        if (existing && existing.userId !== user) throw new HttpError(403, 'this device belongs to another user');
        // A device that changes platform is a different app install: start over with a fresh registration.
        const keep = existing && existing.platform === platform ? existing : undefined;
        const rec: DeviceRecord = {
          installationId: req.params.id,
          userId: user,
          platform,
          handle,
          ...(keep?.registrationId ? { registrationId: keep.registrationId } : {}),
          topics: keep?.topics ?? [],
          signedIn: keep?.signedIn ?? true,
          renewals: keep?.renewals ?? 0,
        };
        return view(await registry.save(rec));
      });
    },
  );

  app.get<{ Params: { id: string } }>('/devices/:id', { schema: { params: idParams } }, async (req) => view(owned(registry.get(req.params.id), userOf(req))));

  const topicRoute = { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: SAFE }, topic: { type: 'string', pattern: SAFE } } } } };
  const setTopic = (subscribe: boolean) => async (req: FastifyRequest<{ Params: { id: string; topic: string } }>) => {
    const user = userOf(req);
    return registry.update(req.params.id, async (existing) => {
      const rec = owned(existing, user);
      const topics = new Set(rec.topics);
      if (subscribe) topics.add(req.params.topic);
      else topics.delete(req.params.topic);
      rec.topics = [...topics].sort();
      return view(await registry.save(rec));
    });
  };
  app.post('/devices/:id/topics/:topic', topicRoute, setTopic(true));
  app.delete('/devices/:id/topics/:topic', topicRoute, setTopic(false));

  app.post<{ Params: { id: string } }>('/devices/:id/signoff', { schema: { params: idParams } }, async (req) => {
    const user = userOf(req);
    return registry.update(req.params.id, async (existing) => view(await registry.signOff(owned(existing, user))));
  });

  // Sign-in brings back the subscriptions kept at sign-off; the handle may have changed meanwhile.
  app.post<{ Params: { id: string }; Body: { handle?: Handle } | undefined }>(
    '/devices/:id/signin',
    { schema: { params: idParams, body: { type: ['object', 'null'], properties: { handle: handleSchema } } } },
    async (req) => {
      const user = userOf(req);
      return registry.update(req.params.id, async (existing) => {
        const rec = owned(existing, user);
        if (req.body?.handle !== undefined) {
          checkHandle(rec.platform, req.body.handle);
          rec.handle = req.body.handle;
        }
        rec.signedIn = true;
        return view(await registry.save(rec));
      });
    },
  );

  // The credential a device needs to read secure payloads; it names this installation only.
  app.get<{ Params: { id: string } }>('/devices/:id/credential', { schema: { params: idParams } }, async (req) => {
    const rec = owned(registry.get(req.params.id), userOf(req));
    if (!rec.signedIn) throw new HttpError(409, 'the device is signed off');
    try {
      return await issueDeviceCredential(options.connectionString, options.hubName, rec.installationId);
    } catch (err) {
      if (err instanceof HubCallError && err.status === 404) throw new HttpError(409, 'the hub does not know this device yet; register it again');
      throw err;
    }
  });

  const notifyBody = {
    type: 'object',
    required: ['userId', 'message'],
    properties: { userId: { type: 'string', pattern: SAFE }, event: { type: 'string', pattern: SAFE }, message: { type: 'string', minLength: 1, maxLength: 2000 } },
  };

  // One template send: each device renders $(message) with its own platform's template.
  app.post<{ Body: { userId: string; event?: string; message: string } }>('/notify', { schema: { body: notifyBody } }, async (req, reply) => {
    userOf(req);
    const { userId, event, message } = req.body;
    const tagExpression = event ? `${userTag(userId)} && ${topicTag(event)}` : userTag(userId);
    const res = await client.sendNotification(createTemplateNotification({ body: { message } }), { tagExpression });
    return reply.code(201).send({ notificationId: res.notificationId, tagExpression });
  });

  // Secure: the PNS carries only the notification id; each device fetches the message with its credential.
  app.post<{ Body: { userId: string; message: string } }>('/notify/secure', { schema: { body: notifyBody } }, async (req, reply) => {
    userOf(req);
    const { userId, message } = req.body;
    const tagExpression = secureUserTag(userId);
    const notification = createTemplateNotification({ body: { message }, headers: { 'X-Herald-Secure': 'true' } });
    const res = await client.sendNotification(notification, { tagExpression });
    return reply.code(201).send({ notificationId: res.notificationId, tagExpression });
  });

  return app;
}
