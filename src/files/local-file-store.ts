/**
 * The file area in a local directory, `<data>/files/` (one node; the default). A `whole` file is written
 * beside its name (`<name>.uploading-<uuid>`) and renamed into place at close: it appears whole or not at
 * all, and two writers of one name never write into each other's file.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { HubError } from '../shared/errors.ts';
import type { FileStore, FileWriter } from './file-store.ts';

/** Job output and uploads hold device handles: private to the server's user, like the rest of the data directory. */
const FILE_MODE = 0o600;
const FOLDER_MODE = 0o700;
const HUBS_FOLDER = 'hubs';

/** A file where a folder is needed, or a folder where the file would go: the caller's to resolve. */
function conflict(name: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EEXIST') return new HubError('file_conflict', `Cannot write ${name}: a file stands where a folder is needed.`);
  if (code === 'EISDIR') return new HubError('file_conflict', `Cannot write ${name}: a folder stands there.`);
  return err;
}

async function end(out: WriteStream): Promise<void> {
  await new Promise<void>((ok, fail) => out.end((err?: Error | null) => (err ? fail(err) : ok())));
}

/** Resolves when `out` can take more, or has closed (its error is kept by the writer); leaves no listener behind. */
function drained(out: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

export class LocalFileStore implements FileStore {
  readonly kind = 'local' as const;

  /** `root`: the file area's directory (made if missing, 0700). */
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: FOLDER_MODE });
  }

  private path(name: string): string {
    return join(this.root, name);
  }

  async stat(name: string): Promise<{ bytes: number } | undefined> {
    try {
      const s = statSync(this.path(name), { throwIfNoEntry: false });
      return s?.isFile() ? { bytes: s.size } : undefined;
    } catch {
      // a file where a folder would be: there is no such file either
      return undefined;
    }
  }

  read(name: string): Readable {
    const path = this.path(name);
    let isFile = false;
    try {
      isFile = statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
    } catch {
      // as stat
    }
    if (isFile) return createReadStream(path);
    const none = new PassThrough();
    queueMicrotask(() => none.destroy(new HubError('not_found', `No file ${name} in the file area.`)));
    return none;
  }

  async create(name: string, options: { whole: boolean }): Promise<FileWriter> {
    const path = this.path(name);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: FOLDER_MODE });
    } catch (err) {
      throw conflict(name, err);
    }
    // One partial file per writer ('wx': never one another writer is writing).
    const target = options.whole ? `${path}.uploading-${randomUUID()}` : path;
    const out = createWriteStream(target, { mode: FILE_MODE, flags: options.whole ? 'wx' : 'w' });
    try {
      await once(out, 'open');
    } catch (err) {
      throw conflict(name, err);
    }
    let failed: unknown;
    out.on('error', (err) => (failed ??= err));
    return {
      write: async (data) => {
        if (failed) throw failed;
        if (!out.write(data)) await drained(out);
        if (failed) throw failed;
      },
      close: async () => {
        await end(out);
        if (failed) throw failed;
        if (!options.whole) return;
        try {
          renameSync(target, path);
        } catch (err) {
          try {
            unlinkSync(target);
          } catch {
            // already gone
          }
          throw conflict(name, err);
        }
      },
      abort: async () => {
        out.destroy();
        if (!options.whole) return;
        try {
          unlinkSync(target);
        } catch {
          // nothing was written
        }
      },
    };
  }

  async removeHubFolder(hub: string): Promise<void> {
    const base = resolve(this.root, HUBS_FOLDER);
    let names: string[] = [];
    try {
      names = readdirSync(base).filter((n) => n.toLowerCase() === hub.toLowerCase());
    } catch {
      // no hub has a folder yet
    }
    for (const n of names) {
      const folder = resolve(base, n);
      // Hub names cannot hold '/' or start with '.': the path is the folder itself.
      if (dirname(folder) === base) rmSync(folder, { recursive: true, force: true });
    }
  }
}
