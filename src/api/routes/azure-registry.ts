/**
 * The registry operations of the Azure surface (wire spec §4 rows 1-13): installations in JSON,
 * registrations in Atom XML. Exact status codes per §3.5: installation PUT/PATCH 200, DELETE 204;
 * registrationIDs 201; registration create/update 200, DELETE 200.
 */
import type { FastifyReply } from 'fastify';
import { installationToJson, parseInstallationJson } from '../../registry/installation.ts';
import type { Registration } from '../../registry/model.ts';
import { newRegistrationId, type ListResult, type RegistryService } from '../../registry/registry-service.ts';
import { HubError } from '../../shared/errors.ts';
import { canonicalTag } from '../../tags/index.ts';
import { parseRegistrationEntry, renderRegistrationEntry, renderRegistrationFeed } from '../wire/registration-xml.ts';
import { requestOrigin, type AzureOperationHandlers, type AzureRequestContext } from './azure.ts';

const API_VERSION = 'api-version=2020-06';
const ENTRY_TYPE = 'application/atom+xml;type=entry;charset=utf-8';
const FEED_TYPE = 'application/atom+xml;type=feed;charset=utf-8';

/** `If-Match: "3"`, `W/"3"` or `*` (§6.7); anything else can never match. */
function ifMatch(ctx: AzureRequestContext): number | '*' | undefined {
  const raw = ctx.req.headers['if-match'];
  if (raw === undefined) return undefined;
  const value = String(raw).trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (value === '*') return '*';
  return /^\d{1,15}$/.test(value) ? Number(value) : -1;
}

function id(ctx: AzureRequestContext): string {
  return ctx.operation.id!;
}

function sendEntry(ctx: AzureRequestContext, reg: Registration): FastifyReply {
  const at = { origin: requestOrigin(ctx), hub: ctx.hub.name };
  return ctx.reply
    .code(200)
    .header('Content-Location', `${at.origin}/${encodeURIComponent(ctx.hub.name)}/registrations/${encodeURIComponent(reg.id)}?${API_VERSION}`)
    .header('ETag', `W/"${reg.etag}"`)
    .type(ENTRY_TYPE)
    .send(renderRegistrationEntry(reg, at));
}

function sendFeed(ctx: AzureRequestContext, result: ListResult<Registration>): FastifyReply {
  const at = { origin: requestOrigin(ctx), hub: ctx.hub.name };
  if (result.continuationToken) ctx.reply.header('x-ms-continuationtoken', result.continuationToken);
  const self = `${at.origin}${ctx.req.url}`;
  return ctx.reply.code(200).type(FEED_TYPE).send(renderRegistrationFeed(result.items, at, self));
}

const listRequest = (ctx: AzureRequestContext) => ({ top: ctx.query.get('$top'), continuationToken: ctx.query.get('continuationtoken') });

export function registryHandlers(registry: RegistryService): AzureOperationHandlers {
  return {
    createOrUpdateInstallation: async (ctx) => {
      await registry.putInstallation(ctx.hub, id(ctx), parseInstallationJson(ctx.body));
      return ctx.reply
        .code(200)
        .header('Content-Location', `${requestOrigin(ctx)}/${encodeURIComponent(ctx.hub.name)}/installations/${encodeURIComponent(id(ctx))}?${API_VERSION}`)
        .send();
    },
    updateInstallation: async (ctx) => {
      await registry.patchInstallation(ctx.hub, id(ctx), parseInstallationJson(ctx.body));
      return ctx.reply.code(200).send();
    },
    getInstallation: async (ctx) => {
      const inst = await registry.getInstallation(ctx.hub, id(ctx));
      return ctx.reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(installationToJson(inst)));
    },
    deleteInstallation: async (ctx) => {
      await registry.deleteInstallation(ctx.hub, id(ctx));
      return ctx.reply.code(204).send();
    },
    createRegistrationId: async (ctx) => {
      const location = `${requestOrigin(ctx)}/${encodeURIComponent(ctx.hub.name)}/registrations/${newRegistrationId()}?${API_VERSION}`;
      return ctx.reply.code(201).header('Location', location).header('Content-Location', location).send();
    },
    createRegistration: async (ctx) => sendEntry(ctx, await registry.createRegistration(ctx.hub, parseRegistrationEntry(ctx.body).input)),
    createOrUpdateRegistration: async (ctx) => sendEntry(ctx, await registry.upsertRegistration(ctx.hub, id(ctx), parseRegistrationEntry(ctx.body).input)),
    updateRegistration: async (ctx) => sendEntry(ctx, await registry.upsertRegistration(ctx.hub, id(ctx), parseRegistrationEntry(ctx.body).input, ifMatch(ctx))),
    getRegistration: async (ctx) => sendEntry(ctx, await registry.getRegistration(ctx.hub, id(ctx))),
    deleteRegistration: async (ctx) => {
      await registry.deleteRegistration(ctx.hub, id(ctx), ifMatch(ctx));
      return ctx.reply.code(200).send();
    },
    listRegistrations: async (ctx) => sendFeed(ctx, await registry.listRegistrations(ctx.hub, 'all', {}, listRequest(ctx))),
    listRegistrationsByTag: async (ctx) => {
      // §6.12: `$installationid:{X}` is the tag `$InstallationId:{X}`, as in tag expressions (#10 item 6).
      const tag = canonicalTag(id(ctx));
      return sendFeed(ctx, await registry.listRegistrations(ctx.hub, `tag:${tag}`, { tag }, listRequest(ctx)));
    },
    listRegistrationsByChannel: async (ctx) => {
      const filter = ctx.query.get('$filter');
      if (!filter) throw new HubError('invalid_request', '$filter is empty.', { reason: 'unsupported_filter' });
      return sendFeed(ctx, await registry.listRegistrationsByChannel(ctx.hub, filter, listRequest(ctx)));
    },
  };
}
