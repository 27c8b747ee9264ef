/**
 * Herald's file area over HTTP (`/_admin/v1/files/<path>`): upload an import file, download a job's
 * output. Streams in both directions, so a large import never sits in memory.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { HubError } from '../../shared/errors.ts';
import type { FileArea } from '../../registry/file-area.ts';

/** Largest upload: an import of a few million registrations. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3;

/** A file where a folder is needed, or a folder where the file would go: the caller's to resolve (409). */
function conflict(files: FileArea, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') return new HubError('file_conflict', `Cannot write there: ${files.describe(err)}.`);
  return err;
}

export async function adminFileRoutes(app: FastifyInstance, files: FileArea): Promise<void> {
  // The body is handed over as a stream; the route writes it to disk itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.put<{ Params: { '*': string } }>(
    '/files/*',
    { bodyLimit: MAX_UPLOAD_BYTES, schema: { summary: "Upload a file to Herald's file area (an import file)", tags: ['files'] } },
    async (req, reply) => {
      const path = files.resolvePath(req.params['*'] ?? '', 'path');
      if (path === files.root) throw new HubError('invalid_request', 'path must name a file.', { reason: 'invalid_path', field: 'path' });
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch (err) {
        throw conflict(files, err);
      }
      // One partial file per request ('wx': never one another request is writing): two uploads to one
      // path each write their own, and the last to finish is the file.
      const partial = `${path}.uploading-${randomUUID()}`;
      let size = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > MAX_UPLOAD_BYTES) done(new HubError('payload_too_large', `Uploads are limited to ${MAX_UPLOAD_BYTES} bytes.`));
          else done(null, chunk);
        },
      });
      try {
        await pipeline(req.body as NodeJS.ReadableStream, limit, createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
        // Appear whole or not at all: a job never reads half an upload.
        try {
          renameSync(partial, path);
        } catch (err) {
          throw conflict(files, err);
        }
      } catch (err) {
        try {
          unlinkSync(partial);
        } catch {
          // nothing was written
        }
        throw err;
      }
      return reply.code(201).send({ path: files.nameOf(path), bytes: size, uri: pathToFileURL(path).href });
    },
  );

  app.get<{ Params: { '*': string } }>(
    '/files/*',
    { schema: { summary: "Download a file from Herald's file area (a job's Output.txt or Failed.txt)", tags: ['files'] } },
    async (req, reply) => {
      const path = files.resolvePath(req.params['*'] ?? '', 'path');
      let isFile = false;
      try {
        isFile = statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
      } catch {
        // a file where a folder would be: there is no such file either
      }
      if (!isFile) throw new HubError('not_found', `No file ${files.nameOf(path)} in the file area.`);
      return reply.type('text/plain; charset=utf-8').send(createReadStream(path));
    },
  );
}
