/**
 * Sends on the Azure surface (wire spec §7 to §10): native and template sends to tags, tag
 * expressions, everyone or handles; test sends; scheduled sends and their cancellation; telemetry;
 * the feedback container. Every send is stored before its 201.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SendService } from '../../dispatch/dispatcher.ts';
import { parseSendRequest } from '../wire/send-request.ts';
import { DeviceCredentials, parseSecureOptions } from '../../dispatch/secure-push.ts';
import { materializeRegistrations } from '../../registry/materialize.ts';
import type { StoredRequest } from '../../dispatch/render.ts';
import type { PlatformName, RegistrationKind } from '../../registry/model.ts';
import type { HubService } from '../../hubs/hub-service.ts';
import type { Clock } from '../../shared/clock.ts';
import { HubError } from '../../shared/errors.ts';
import type { HubRecord, Store } from '../../store/store.ts';
import { APPLICATION_PLATFORM, renderNotificationDetails, renderNotificationOutcome, targetPlatformName, type NotificationState } from '../wire/notification-xml.ts';
import { escapeXml } from '../wire/atom.ts';
import { requestOrigin, type AzureOperationHandlers, type AzureRequestContext } from './azure.ts';

const XML = 'application/xml; charset=utf-8';
/** How long a feedback container URL stays valid (a SAS URL of Azure's is short-lived too). */
const FEEDBACK_URL_TTL_MS = 60 * 60_000;
/** How long a device's credential for reading secure payloads lasts (its backend issues a new one at sign-in). */
const DEVICE_CREDENTIAL_TTL_MS = 30 * 86_400_000;

/** Longest Idempotency-Key taken (Stripe and the IETF draft's examples are UUIDs; 255 leaves room). */
export const MAX_IDEMPOTENCY_KEY = 255;

/**
 * The send's `Idempotency-Key` header (contract: the same key on the same hub within 24 hours returns the
 * first send's notification), or undefined. Printable ASCII only: a key is compared byte for byte.
 */
export function parseIdempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw : [raw];
  if (value.length !== 1 || !/^[\x20-\x7e]{1,255}$/.test(value[0]!) || value[0]!.trim() === '') {
    throw new HubError('invalid_idempotency_key', `Idempotency-Key must be one header of 1 to ${MAX_IDEMPOTENCY_KEY} printable ASCII characters.`);
  }
  return value[0]!;
}

function sendInput(ctx: AzureRequestContext, batch: boolean, scheduled: boolean) {
  return { headers: ctx.req.headers as Record<string, string | string[] | undefined>, query: ctx.query, body: ctx.body, batch, scheduled };
}

/**
 * The signed URL of a hub's feedback (§10): like Azure's SAS container URL, it needs no other credential.
 * It names the hub by name and creation time, so it reads nothing of a new hub of the same name.
 */
export class FeedbackUrls {
  private readonly key: Buffer;
  constructor(secret: Buffer, private readonly clock: Clock) {
    this.key = createHmac('sha256', secret).update('herald feedback urls v1').digest();
  }
  private sign(hub: HubRecord, se: number): string {
    return createHmac('sha256', this.key).update(`${hub.name.toLowerCase()}\n${hub.createdAt}\n${se}`).digest('base64url');
  }
  url(origin: string, hub: HubRecord): string {
    const se = this.clock.now() + FEEDBACK_URL_TTL_MS;
    return `${origin}/_feedback/${encodeURIComponent(hub.name)}?se=${se}&sig=${this.sign(hub, se)}`;
  }
  verify(hub: HubRecord, se: string | undefined, sig: string | undefined): boolean {
    if (!se || !sig || !/^\d{1,15}$/.test(se) || Number(se) < this.clock.now()) return false;
    const a = Buffer.from(this.sign(hub, Number(se)));
    const b = Buffer.from(sig);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

export function sendHandlers(sends: SendService, store: Store, feedback: FeedbackUrls, devices: DeviceCredentials): AzureOperationHandlers {
  const location = (ctx: AzureRequestContext, collection: string, id: string) => `${requestOrigin(ctx)}/${encodeURIComponent(ctx.hub.name)}/${collection}/${id}?api-version=2020-06`;
  const send = async (ctx: AzureRequestContext, batch: boolean) => {
    const idempotencyKey = parseIdempotencyKey(ctx.req.headers as Record<string, string | string[] | undefined>);
    const req = parseSendRequest(sendInput(ctx, batch, false));
    const secure = parseSecureOptions(ctx.req.headers);
    if (secure && req.test) throw new HubError('invalid_request', 'A test send answers its payload in the clear; it cannot be secure.', { reason: 'secure_test' });
    if (req.test && req.target.kind !== 'direct') {
      const r = await sends.testSend(ctx.hub, req);
      const failed = r.outcomes.filter((o) => o.outcome.kind !== 'delivered').length;
      const body = renderNotificationOutcome({
        success: r.outcomes.length - failed,
        failure: failed,
        results: r.outcomes.map(({ target, outcome }) => ({
          applicationPlatform: APPLICATION_PLATFORM[target.platform as PlatformName] ?? target.platform,
          pnsHandle: target.handle,
          registrationId: target.registrationId ?? '',
          outcome: outcome.azure,
        })),
      });
      return ctx.reply.code(201).header('Location', location(ctx, 'messages', r.id)).type(XML).send(body);
    }
    const n = await sends.accept(ctx.hub, req, secure, idempotencyKey === undefined ? {} : { idempotencyKey });
    return ctx.reply.code(201).header('Location', location(ctx, 'messages', n.id)).send();
  };
  return {
    sendNotification: (ctx) => send(ctx, false),
    sendBatchNotification: (ctx) => send(ctx, true),
    scheduleNotification: async (ctx) => {
      const idempotencyKey = parseIdempotencyKey(ctx.req.headers as Record<string, string | string[] | undefined>);
      const n = await sends.accept(ctx.hub, parseSendRequest(sendInput(ctx, false, true)), parseSecureOptions(ctx.req.headers), idempotencyKey === undefined ? {} : { idempotencyKey });
      return ctx.reply.code(201).header('Location', location(ctx, 'schedulednotifications', n.id)).send();
    },
    cancelScheduledNotification: async (ctx) => {
      await sends.cancel(ctx.hub, ctx.operation.id!);
      return ctx.reply.code(200).send();
    },
    getNotificationOutcomeDetails: async (ctx) => {
      const n = await sends.get(ctx.hub, ctx.operation.id!);
      const req = n.request as unknown as StoredRequest;
      const platforms = req.target.kind === 'direct' ? [...new Set(req.target.handles.map((h) => APPLICATION_PLATFORM[h.platform]))] : req.eligibleKinds.map((k) => targetPlatformName(k as RegistrationKind));
      const state: NotificationState = n.state === 'Scheduled' ? 'Enqueued' : (n.state as NotificationState);
      const host = ctx.req.headers.host ?? 'localhost';
      const body = renderNotificationDetails({
        notificationId: n.id,
        location: `sb://${host}/${ctx.hub.name}/messages/${n.id}?api-version=2020-06`,
        state,
        enqueueTime: n.enqueuedAt,
        ...(n.startedAt === undefined ? {} : { startTime: n.startedAt }),
        ...(n.endedAt === undefined ? {} : { endTime: n.endedAt }),
        body: req.body,
        ...(req.target.kind === 'tags' ? { tags: req.target.expression } : {}),
        targetPlatforms: platforms,
        outcomeCounts: n.counts as Partial<Record<PlatformName, Record<string, number>>>,
      });
      return ctx.reply.code(200).type(XML).send(body);
    },
    issueDeviceCredential: async (ctx) => {
      const generation = await store.installations.credentialGeneration(ctx.hub.name, ctx.operation.id!, 'issue');
      if (!generation) throw new HubError('installation_not_found', 'Installation not found.');
      const issued = devices.issue(ctx.hub.name, ctx.operation.id!, generation, DEVICE_CREDENTIAL_TTL_MS);
      return ctx.reply
        .code(201)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ ...issued, expiresAt: new Date(issued.expiresAt).toISOString(), payloads: `${requestOrigin(ctx, 'as-requested')}/_device/v1/hubs/${encodeURIComponent(ctx.hub.name)}/payloads/{notificationId}` }));
    },
    revokeDeviceCredentials: async (ctx) => {
      if (!(await store.installations.revokeCredentials(ctx.hub.name, ctx.operation.id!))) throw new HubError('installation_not_found', 'Installation not found.');
      return ctx.reply.code(204).send();
    },
    getFeedbackContainerUrl: async (ctx) => ctx.reply.code(200).type('text/plain; charset=utf-8').send(feedback.url(requestOrigin(ctx), ctx.hub)),
  };
}

/** The feedback "container" behind the signed URL: concatenated `<PnsFeedback>` documents (§10). */
export async function feedbackRoute(app: FastifyInstance, deps: { hubs: HubService; store: Store; feedback: FeedbackUrls }): Promise<void> {
  app.get<{ Params: { hub: string }; Querystring: { se?: string; sig?: string } }>('/_feedback/:hub', { schema: { hide: true } }, async (req, reply) => {
    // A missing hub answers like a bad signature: the URL tells nothing about which hubs exist.
    const hub = await deps.hubs.findHub(req.params.hub);
    if (!hub || !deps.feedback.verify(hub, req.query.se, req.query.sig)) {
      throw new HubError('sas_invalid_signature', 'The feedback URL is not valid or has expired; ask the hub for a new one (GET /{hub}/feedbackcontainer).');
    }
    const rows = await deps.store.dispatch.listFeedback(hub.name, 10_000);
    const docs = rows.map(
      (f) =>
        `<PnsFeedback xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><FeedbackTime>${new Date(f.at).toISOString()}</FeedbackTime>` +
        `<NotificationSystemError>${escapeXml(f.error)}</NotificationSystemError><Platform>${escapeXml(APPLICATION_PLATFORM[f.platform as PlatformName] ?? f.platform)}</Platform>` +
        `<PnsHandle>${escapeXml(f.handle)}</PnsHandle>${f.registrationId ? `<RegistrationId>${escapeXml(f.registrationId)}</RegistrationId>` : ''}` +
        `${f.installationId ? `<InstallationId>${escapeXml(f.installationId)}</InstallationId>` : ''}${f.notificationId ? `<NotificationId>${escapeXml(f.notificationId)}</NotificationId>` : ''}</PnsFeedback>`,
    );
    return reply.type(XML).send(docs.join('\n'));
  });
}

/**
 * Where a device reads a secure payload: `GET /_device/v1/hubs/{hub}/payloads/{notificationId}` with
 * `Authorization: Bearer <device credential>`. Only an installation the push was delivered to may read.
 */
export async function devicePayloadRoute(app: FastifyInstance, deps: { hubs: HubService; store: Store; sends: SendService; devices: DeviceCredentials }): Promise<void> {
  app.get<{ Params: { hub: string; id: string } }>('/_device/v1/hubs/:hub/payloads/:id', { schema: { hide: true } }, async (req, reply) => {
    const hub = await deps.hubs.getHub(req.params.hub);
    const claim = deps.devices.verify(hub.name, req.headers.authorization);
    const { installationId } = claim;
    DeviceCredentials.stillValid(claim, await deps.store.installations.credentialGeneration(hub.name, installationId, 'read'));
    const inst = await deps.store.installations.get(hub.name, installationId);
    if (!inst) throw new HubError('device_credential_invalid', 'The device credential is not valid: its installation was deleted.');
    const ids = materializeRegistrations(inst).map((r) => r.id);
    const payload = await deps.sends.readSecure(hub, req.params.id, installationId, ids, inst.createdAt);
    return reply.header('Cache-Control', 'no-store').type(payload.contentType).send(payload.body);
  });
}
