/**
 * The Azure Notification Hubs data plane at `/{hub}/...` (wire spec): find the hub, authenticate the
 * SAS token, check the operation's right, then hand the request to the operation's handler. Bodies
 * arrive raw (XML, JSON, multipart or a PNS payload); each operation parses its own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireRight } from '../../auth/sas.ts';
import { HubError } from '../../shared/errors.ts';
import { isValidHubName } from '../../hubs/hub-service.ts';
import type { HubRecord } from '../../store/store.ts';
import type { AppDeps } from '../app.ts';
import { classifyOperation, type AzureOperation, type AzureOperationName } from '../azure-operations.ts';
import { VerifiedTokens } from '../verified-tokens.ts';

export interface AzureRequestContext {
  req: FastifyRequest;
  reply: FastifyReply;
  hub: HubRecord;
  operation: AzureOperation;
  query: URLSearchParams;
  /** The raw body (empty when none was sent). */
  body: Buffer;
}

/**
 * The absolute origin for Location headers and Atom links. The JS client requires `https://` for
 * registrationIDs (§6.9) and reads only the path of the others, so https is written whatever the
 * transport was; the host is the one the client used.
 */
export function requestOrigin(ctx: AzureRequestContext, scheme: 'https' | 'as-requested' = 'https'): string {
  const host = ctx.req.headers.host;
  const protocol = scheme === 'https' ? 'https' : ctx.req.protocol;
  return `${protocol}://${host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : 'localhost'}`;
}

export type AzureOperationHandler = (ctx: AzureRequestContext) => Promise<unknown>;
export type AzureOperationHandlers = Partial<Record<AzureOperationName, AzureOperationHandler>>;


function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HubError('invalid_request', `The path segment '${segment.slice(0, 100)}' is not correctly percent-encoded.`);
  }
}

export async function azureRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  // Every content type is taken as raw bytes: the operations decide what they accept (§7.2).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Every Azure answer carries a TrackingId (§3.2): the request id, which is also in every log line.
  // (A callback hook, not an async one: it runs on every answer and needs no promise.)
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('TrackingId', req.id);
    reply.header('x-ms-correlation-request-id', req.id);
    done(null, payload);
  });

  const verifiedTokens = new VerifiedTokens();
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.url;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const segments = rawPath.split('/').slice(1).map(decodeSegment);
    if (segments.length > 1 && segments.at(-1) === '') segments.pop();
    const [hubName, ...rest] = segments;

    if (hubName === undefined || !isValidHubName(hubName)) throw new HubError('not_found', 'The requested resource does not exist.');
    const classified = classifyOperation(req.method, rest, query, { ifMatch: req.headers['if-match'] !== undefined });
    if (classified.kind === 'not_found') throw new HubError('not_found', 'The requested resource does not exist.');
    if (classified.kind === 'method_not_allowed') {
      reply.header('Allow', classified.allowed.join(', '));
      throw new HubError('method_not_allowed', `The method ${req.method} is not allowed on this resource.`);
    }
    const { operation } = classified;
    req.routeLabel = `azure:${operation.name}`;

    // A malformed token is refused before anything is looked up; a well-formed one for a hub that does
    // not exist gets 404 (hub names are not secret; Azure answers 404 for a missing entity too).
    const header = req.headers.authorization;
    const hubKey = hubName.toLowerCase();
    const token = verifiedTokens.parse(hubKey, header);
    const { hub, rules } = await deps.hubs.authContext(hubName);
    if (!hub) throw new HubError('hub_not_found', `Notification hub '${hubName}' was not found.`);
    const rule = verifiedTokens.verify(hubKey, header!, token, rules, rawPath, deps.clock.now());
    requireRight(rule, operation.right);
    deps.rateLimits?.take(hub, operation.name);

    const handler = deps.azureHandlers?.[operation.name];
    if (!handler) {
      throw new HubError('not_implemented', `Herald does not implement the operation ${operation.name} yet.`, { operation: operation.name });
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    return handler({ req, reply, hub, operation, query, body });
  };

  const methods = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD'] as const;
  app.route({ method: [...methods], url: '/:hub', schema: { hide: true }, handler: handle });
  app.route({ method: [...methods], url: '/:hub/*', schema: { hide: true }, handler: handle });
}
