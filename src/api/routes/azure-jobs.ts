/** Import/export jobs on the Azure surface (wire spec §11): submit 201, get and list 200. */
import { parseJobEntry, renderJobEntry, renderJobFeed, type JobView } from '../wire/job-xml.ts';
import type { JobService, JobType } from '../../registry/jobs.ts';
import type { JobRecord } from '../../store/store.ts';
import { requestOrigin, type AzureOperationHandlers, type AzureRequestContext } from './azure.ts';

const ENTRY_TYPE = 'application/atom+xml;type=entry;charset=utf-8';

export function jobView(j: JobRecord): JobView {
  return {
    id: j.id,
    type: j.type as JobType,
    status: j.status as JobView['status'],
    progress: j.progress,
    outputContainerUri: j.outputContainerUri,
    ...(j.importFileUri ? { importFileUri: j.importFileUri } : {}),
    ...(j.failure ? { failure: j.failure } : {}),
    ...(j.outputProperties ? { outputProperties: j.outputProperties } : {}),
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
  };
}

const at = (ctx: AzureRequestContext) => ({ origin: requestOrigin(ctx), hub: ctx.hub.name });

export function jobHandlers(jobs: JobService): AzureOperationHandlers {
  return {
    submitNotificationHubJob: async (ctx) => {
      // A hub's key reaches only the hub's folder of the file area (file-area.ts).
      const job = await jobs.submit(ctx.hub, parseJobEntry(ctx.body), { kind: 'hub', hub: ctx.hub.name });
      const where = at(ctx);
      return ctx.reply
        .code(201)
        .header('Location', `${where.origin}/${encodeURIComponent(ctx.hub.name)}/jobs/${job.id}?api-version=2020-06`)
        .type(ENTRY_TYPE)
        .send(renderJobEntry(jobView(job), where));
    },
    getNotificationHubJob: async (ctx) => ctx.reply.code(200).type(ENTRY_TYPE).send(renderJobEntry(jobView(await jobs.get(ctx.hub, ctx.operation.id!)), at(ctx))),
    listNotificationHubJobs: async (ctx) =>
      ctx.reply.code(200).type('application/atom+xml;type=feed;charset=utf-8').send(renderJobFeed((await jobs.list(ctx.hub)).map(jobView), at(ctx))),
  };
}
