/** Jobs through the management API (what `herald import` / `herald export` use). */
import type { FastifyInstance } from 'fastify';
import { pathToFileURL } from 'node:url';
import type { FileArea } from '../../registry/file-area.ts';
import type { JobService } from '../../registry/jobs.ts';
import type { HubService } from '../../hubs/hub-service.ts';
import { errorResponses, jobSchema } from './admin-schemas.ts';
import { jobView } from './azure-jobs.ts';

export async function adminJobRoutes(app: FastifyInstance, deps: { hubs: HubService; jobs: JobService; files: FileArea }): Promise<void> {
  const params = { type: 'object', properties: { hub: { type: 'string' }, id: { type: 'string' } } } as const;

  app.post<{ Params: { hub: string }; Body: { type: string; importFile?: string; outputDir?: string } }>(
    '/hubs/:hub/jobs',
    {
      schema: {
        operationId: 'submitJob',
        summary: 'Submit an import or export job',
        description: 'importFile and outputDir are paths in the file area (see PUT /files/{path}); outputDir defaults to "jobs".',
        tags: ['jobs'],
        params,
        body: {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: { type: { type: 'string' }, importFile: { type: 'string' }, outputDir: { type: 'string' } },
        },
        response: { 201: jobSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const hub = await deps.hubs.getHub(req.params.hub);
      const uri = (rel: string, field: string) => pathToFileURL(deps.files.resolvePath(rel, field)).href;
      const job = await deps.jobs.submit(hub, {
        type: req.body.type,
        outputContainerUri: uri(req.body.outputDir ?? 'jobs', 'outputDir'),
        importFileUri: req.body.importFile === undefined ? undefined : uri(req.body.importFile, 'importFile'),
      });
      return reply.code(201).send(jobView(job));
    },
  );

  app.get<{ Params: { hub: string; id: string } }>(
    '/hubs/:hub/jobs/:id',
    { schema: { operationId: 'getJob', summary: 'A job, with its status and progress', tags: ['jobs'], params, response: { 200: jobSchema, ...errorResponses } } },
    async (req) => jobView(await deps.jobs.get(await deps.hubs.getHub(req.params.hub), req.params.id)),
  );

  app.get<{ Params: { hub: string } }>(
    '/hubs/:hub/jobs',
    { schema: { operationId: 'listJobs', summary: "A hub's jobs, newest first", tags: ['jobs'], params, response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: jobSchema } } }, ...errorResponses } } },
    async (req) => ({ jobs: (await deps.jobs.list(await deps.hubs.getHub(req.params.hub))).map(jobView) }),
  );
}
