/**
 * Builds the HTTP application; never listens (main.ts does). Three surfaces share one Fastify
 * instance: the Azure data plane at /{hub}/..., the management API at /_admin/v1, and /_health and
 * /_metrics. Errors become the surface's own error body through api/error-catalog.ts.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { authorizeAdmin, type AdminAuthorizer } from './admin-auth.ts';
import type { HubService } from '../hubs/hub-service.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { FileArea } from '../registry/file-area.ts';
import type { JobService } from '../registry/jobs.ts';
import type { Clock } from '../shared/clock.ts';
import { HubError, type ErrorCode } from '../shared/errors.ts';
import type { Store } from '../store/store.ts';
import { azureErrorBody, ERROR_STATUS, INTERNAL_MESSAGE } from './error-catalog.ts';
import type { HttpMetrics } from './metrics.ts';
import { DOCUMENTED_BODY, errorResponses, sandboxSchema } from './routes/admin-schemas.ts';
import type { RateLimits } from './rate-limits.ts';
import { adminCredentialRoutes } from './routes/admin-credentials.ts';
import { adminHubRoutes } from './routes/admin-hubs.ts';
import { adminRegistryRoutes } from './routes/admin-registry.ts';
import { adminFileRoutes } from './routes/admin-files.ts';
import { adminJobRoutes } from './routes/admin-jobs.ts';
import { adminMessageRoutes } from './routes/admin-messages.ts';
import { adminChannelRoutes } from './routes/admin-channels.ts';
import type { BroadcastChannels } from '../pns/broadcast-channels.ts';
import { devicePayloadRoute, feedbackRoute, type FeedbackUrls } from './routes/azure-sends.ts';
import type { DeviceCredentials } from '../dispatch/secure-push.ts';
import type { SendService } from '../dispatch/dispatcher.ts';
import { adminRuleRoutes } from './routes/admin-rules.ts';
import { adminEventRoutes, type EventDeps } from './routes/admin-events.ts';
import { azureRoutes, type AzureOperationHandlers } from './routes/azure.ts';
import { operationsRoutes } from './routes/operations.ts';
import { adminSendRoutes } from './routes/admin-sends.ts';
import { adminDeviceRoutes } from './routes/admin-devices.ts';
import { adminSandboxRoutes } from './routes/admin-sandbox.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { portalRoutes, sessionAuth } from '../portal/portal-routes.ts';
import { PortalSessions } from '../portal/session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The metrics label: an Azure operation name, or the route pattern. */
    routeLabel: string | undefined;
  }
}

export interface PublicEndpoint {
  scheme: 'sb' | 'http';
  host: string;
  port: number;
}

export interface AppDeps {
  store: Store;
  hubs: HubService;
  registry: RegistryService;
  jobs: JobService;
  files: FileArea;
  feedback: FeedbackUrls;
  sends: SendService;
  devices: DeviceCredentials;
  rateLimits?: RateLimits;
  /** Base URLs of the sandbox emulators; null when not in sandbox mode. */
  sandboxUrls?: () => Record<string, string> | null;
  /** The running sandbox (emulators' devices, minting); null when not in sandbox mode. */
  sandbox?: () => Sandbox | null;
  clock: Clock;
  logger: Logger;
  metrics: HttpMetrics;
  adminKey: string;
  bodyLimitBytes: number;
  /** Where clients reach the Azure surface; ports are known only once the servers listen. */
  publicEndpoint(): PublicEndpoint;
  /** APNs broadcast channels (the APNs connector); absent: the channel routes answer 501. */
  apnsChannels?: BroadcastChannels;
  /** Implementations of Azure operations; an operation without one answers 501. */
  azureHandlers?: AzureOperationHandlers;
  serverFactory?: FastifyServerFactory;
  /** The built portal (index.html, assets/); the package's build/portal/ when absent. */
  portalAssetsDir?: string;
  /** Other ways a request may be the operator's besides the admin key (the portal's session is always one). */
  adminAuthorizers?: AdminAuthorizer[];
  /** The event stream and webhooks (issue 13); absent: those routes are not served. */
  events?: EventDeps;
}

interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  details?: Readonly<Record<string, unknown>> | undefined;
}

function answerFor(err: FastifyError | HubError | Error, bodyLimit: number): ErrorAnswer {
  if (err instanceof HubError) return { status: ERROR_STATUS[err.code], code: err.code, message: err.message, details: err.details };
  const fe = err as FastifyError;
  if (fe.validation) return { status: 400, code: 'invalid_request', message: `Invalid request: ${fe.message}.` };
  switch (fe.statusCode) {
    case 413:
      return { status: 413, code: 'payload_too_large', message: `The request body is larger than the limit of ${bodyLimit} bytes.` };
    case 415:
      return { status: 415, code: 'unsupported_media_type', message: `Unsupported content type: ${fe.message}` };
  }
  if (fe.code === 'FST_ERR_BAD_URL') return { status: 400, code: 'invalid_request', message: 'The URL is not correctly encoded.' };
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: 400, code: 'malformed_body', message: `The request body could not be read: ${fe.message}` };
  }
  return { status: 500, code: 'internal', message: INTERNAL_MESSAGE };
}

/** Paths under `/_` belong to Herald (hub names never start with `_`); the rest is the Azure surface. */
const isAzureSurface = (url: string) => !url.startsWith('/_');

/**
 * An empty or missing Content-Type means "the route's usual type" (wire spec §7.2): the legacy azure-sb
 * client sends `Content-Type:` with nothing after it on most registry writes and every DELETE, which
 * Fastify would answer 415 before any route ran. On the Azure surface every operation reads its body raw,
 * so the header is simply dropped; the management API's body routes take JSON. Runs before body parsing.
 */
function defaultContentType(req: FastifyRequest): void {
  const headers = req.raw.headers;
  const given = headers['content-type'];
  if (given !== undefined && given.trim() !== '') return;
  delete headers['content-type'];
  const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  if (hasBody && req.url.startsWith('/_admin/')) headers['content-type'] = 'application/json';
}

function sendError(req: FastifyRequest, reply: FastifyReply, a: ErrorAnswer, clock: Clock) {
  const retryAfter = a.details?.retryAfterSeconds;
  if ((a.status === 429 || a.status === 503) && typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
  if (a.status === 401 && req.url.startsWith('/_admin')) reply.header('WWW-Authenticate', 'Bearer realm="herald-admin"');
  if (isAzureSurface(req.url)) {
    return reply
      .code(a.status)
      .type('application/xml; charset=utf-8')
      .send(azureErrorBody(a.status, a.message, req.id, new Date(clock.now())));
  }
  return reply.code(a.status).send({ error: { code: a.code, message: a.message, requestId: req.id, ...(a.details ? { details: a.details } : {}) } });
}

/** A route of the management API as registered: what the OpenAPI test checks the document against. */
export interface AdminRoute {
  method: string;
  url: string;
  hidden: boolean;
}

const adminRouteTables = new WeakMap<FastifyInstance, AdminRoute[]>();

/** Every /_admin route the app registered (HEAD twins of GET routes left out). */
export function adminRoutesOf(app: FastifyInstance): readonly AdminRoute[] {
  return adminRouteTables.get(app) ?? [];
}

async function adminRoutes(app: FastifyInstance, deps: AppDeps, table: AdminRoute[], sessions: PortalSessions): Promise<void> {
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') table.push({ method, url: route.url, hidden: Boolean((route.schema as { hide?: boolean } | undefined)?.hide) });
    }
  });
  // The portal's page has no key: its session cookie (with a CSRF token on writes) stands for it.
  const authorizers = [...(deps.adminAuthorizers ?? []), (req: FastifyRequest) => sessionAuth(sessions, req)];
  app.addHook('onRequest', async (req) => {
    if (req.url.split('?')[0] === '/_admin/v1/openapi.json') return; // the API's description is public
    await authorizeAdmin(req, deps.adminKey, authorizers);
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/sandbox',
    {
      schema: {
        operationId: 'getSandbox',
        summary: "The sandbox emulators' base URLs (their control plane is under {url}/_emulator/)",
        tags: ['sandbox'],
        response: { 200: sandboxSchema, ...errorResponses },
      },
    },
    async () => {
      const urls = deps.sandboxUrls?.() ?? null;
      if (!urls) throw new HubError('not_found', 'This hub does not run in sandbox mode (start it with --sandbox).');
      return { emulators: urls };
    },
  );
  await app.register(async (a) => adminHubRoutes(a, deps));
  await app.register(async (a) => adminRuleRoutes(a, deps));
  await app.register(async (a) => adminCredentialRoutes(a, deps));
  await app.register(async (a) => adminRegistryRoutes(a, deps));
  await app.register(async (a) => adminJobRoutes(a, deps));
  await app.register(async (a) => adminMessageRoutes(a, deps));
  await app.register(async (a) => adminChannelRoutes(a, deps));
  await app.register(async (a) => adminFileRoutes(a, deps.files));
  await app.register(async (a) => adminSendRoutes(a, deps));
  await app.register(async (a) => adminSandboxRoutes(a, deps));
  await app.register(async (a) => adminDeviceRoutes(a, deps));
  if (deps.events) {
    const events = deps.events;
    await app.register(async (a) => adminEventRoutes(a, deps, events));
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: deps.bodyLimitBytes,
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
  }) as unknown as FastifyInstance;

  app.decorateRequest('routeLabel', undefined);
  app.addHook('onRequest', (req, _reply, done) => {
    defaultContentType(req);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeLabel ?? req.routeOptions.url ?? 'unmatched';
    deps.metrics.observe(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const answer = answerFor(err, deps.bodyLimitBytes);
    if (answer.status >= 500 && answer.code === 'internal') req.log.error({ err }, 'request failed');
    else req.log.info({ code: answer.code, status: answer.status }, answer.message);
    return sendError(req, reply, answer, deps.clock);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, { status: 404, code: 'not_found', message: `Nothing is served at ${req.method} ${req.url.split('?')[0]}.` }, deps.clock),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Herald management API',
        version: '1',
        description: 'Hubs, authorization rules and keys, and PNS credentials. Authorise with "Authorization: Bearer <admin key>".',
      },
      servers: [{ url: '/_admin/v1' }],
      components: { securitySchemes: { adminKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ adminKey: [] }],
    },
    transform: ({ schema, url }) => {
      // A streamed body is described for the document only (admin-schemas.ts DOCUMENTED_BODY).
      const documented = (schema as Record<string, unknown> | undefined)?.[DOCUMENTED_BODY];
      const described = documented === undefined ? schema : { ...schema, body: documented };
      return { schema: described, url: url.replace(/^\/_admin\/v1/, '').replace(/\*$/, '{path}') };
    },
  });
  await app.register(async (a) => operationsRoutes(a, deps));
  await app.register(async (a) => feedbackRoute(a, deps));
  await app.register(async (a) => devicePayloadRoute(a, deps));
  const table: AdminRoute[] = [];
  adminRouteTables.set(app, table);
  const sessions = new PortalSessions(deps.adminKey, deps.clock);
  await app.register(async (a) => portalRoutes(a, { sessions, adminKey: deps.adminKey, sandbox: () => (deps.sandbox?.() ?? null) !== null, ...(deps.portalAssetsDir ? { assetsDir: deps.portalAssetsDir } : {}) }));
  await app.register(async (a) => adminRoutes(a, deps, table, sessions), { prefix: '/_admin/v1' });
  await app.register(async (a) => azureRoutes(a, deps));
  return app;
}
