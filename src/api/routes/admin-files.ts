/**
 * Herald's file area over HTTP (`/_admin/v1/files/<path>`): upload an import file, download a job's
 * output. Streams in both directions, so a large import never sits in memory. The files are kept by the
 * area's FileStore: the data directory, or the shared store every node of a cluster sees.
 */
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { HubError } from '../../shared/errors.ts';
import type { FileArea } from '../../registry/file-area.ts';
import { DOCUMENTED_BODY, errorResponses } from './admin-schemas.ts';

/** Largest upload: an import of a few million registrations. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

export async function adminFileRoutes(app: FastifyInstance, files: FileArea): Promise<void> {
  // The body is handed over as a stream; the route writes it to the file store itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.put<{ Params: { '*': string } }>(
    '/files/*',
    {
      bodyLimit: MAX_UPLOAD_BYTES,
      schema: {
        operationId: 'uploadFile',
        summary: "Upload a file to Herald's file area (an import file)",
        tags: ['files'],
        // Not `body`: the upload is streamed, never parsed or validated; the document still describes it.
        ...{ [DOCUMENTED_BODY]: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'The file, streamed' } } } } },
        response: {
          201: { type: 'object', properties: { path: { type: 'string' }, bytes: { type: 'integer' }, uri: { type: 'string', description: 'file: URI to give a job as importFile' } } },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const path = files.resolvePath(req.params['*'] ?? '', 'path');
      if (path === files.root) throw new HubError('invalid_request', 'path must name a file.', { reason: 'invalid_path', field: 'path' });
      const name = files.nameOf(path);
      // A whole file: it appears at close or not at all (a job never reads half an upload), and of two
      // uploads to one path the last to finish is the file.
      const file = await files.store.create(name, { whole: true });
      let size = 0;
      try {
        for await (const chunk of req.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > MAX_UPLOAD_BYTES) throw new HubError('payload_too_large', `Uploads are limited to ${MAX_UPLOAD_BYTES} bytes.`);
          await file.write(chunk);
        }
        await file.close();
      } catch (err) {
        await file.abort();
        throw err;
      }
      return reply.code(201).send({ path: name, bytes: size, uri: pathToFileURL(path).href });
    },
  );

  app.get<{ Params: { '*': string } }>(
    '/files/*',
    {
      schema: {
        operationId: 'downloadFile',
        summary: "Download a file from Herald's file area (a job's Output.txt or Failed.txt)",
        tags: ['files'],
        response: { 200: { content: { 'text/plain': { schema: { type: 'string', description: 'The file, streamed' } } } }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const name = files.nameOf(files.resolvePath(req.params['*'] ?? '', 'path'));
      if (!(await files.store.stat(name))) throw new HubError('not_found', `No file ${name} in the file area.`);
      return reply.type('text/plain; charset=utf-8').send(files.store.read(name));
    },
  );
}
