/**
 * Herald's own file area, `<data>/files/`, where import files are read from and job output is written
 * to: it stands where Azure puts blob containers (wire spec §11). A job names a place in it by a
 * `file://` URL inside the area, or by a URL of Herald's file endpoint (`.../_admin/v1/files/<path>`);
 * anything else, or a path that climbs out of the area, is refused.
 *
 * The management API (admin key) reaches the whole area. A job submitted on the Azure surface holds
 * only a hub's Manage key, so it reaches only that hub's folder, `hubs/<hub>/`: it can neither read
 * another hub's uploads nor learn whether a path outside its folder exists. Every message names paths
 * relative to the area, never the server's absolute paths.
 *
 * The area's paths are checked here against the node's directory `<data>/files/`; the files themselves
 * are kept by a FileStore (files/file-store.ts) under the relative name: that directory by default, the
 * shared store's on a cluster, where every node sees the same files.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FileStore } from '../files/file-store.ts';
import { LocalFileStore } from '../files/local-file-store.ts';
import { HubError } from '../shared/errors.ts';

export const FILES_PREFIX = '/_admin/v1/files/';
/** Where each hub's folder is, inside the area. */
export const HUBS_FOLDER = 'hubs';

/** Longest path (characters) and file or folder name (bytes) accepted; Linux refuses names over 255 bytes. */
const MAX_PATH_CHARS = 1024;
const MAX_NAME_BYTES = 255;
const MAX_URI_CHARS = 4096;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Which part of the area a caller reaches: all of it (admin key) or one hub's folder (a hub's keys). */
export type FileScope = { kind: 'area' } | { kind: 'hub'; hub: string };
export const WHOLE_AREA: FileScope = { kind: 'area' };

function refuse(field: string, reason: string, message: string): HubError {
  return new HubError('invalid_request', message, { reason, field });
}

export class FileArea {
  readonly root: string;
  /** Where the area's files are kept, by relative name (nameOf). */
  readonly store: FileStore;

  /** `store`: where the files are kept (a shared store's); absent, the directory `<data>/files/`. */
  constructor(dataDir: string, store?: FileStore) {
    this.root = resolve(dataDir, 'files');
    this.store = store ?? new LocalFileStore(this.root);
  }

  /** The folder of a hub's Azure-surface jobs, relative to the area (`hubs/<hub>`). */
  hubFolder(hub: string): string {
    return `${HUBS_FOLDER}/${hub}`;
  }

  /** Removes a deleted hub's folder, so a new hub of the same name starts with none of its files (its jobs' outputs hold device handles). */
  removeHubFolder(hub: string): Promise<void> {
    return this.store.removeHubFolder(hub);
  }

  /**
   * A relative, slash-separated path inside the area → its absolute path. Refuses absolute paths, `..`
   * out of the area, NUL and other control characters, backslashes (a path separator elsewhere, a
   * name character here: ambiguous either way) and names too long for the file system.
   */
  resolvePath(relativePath: string, field = 'path'): string {
    if (typeof relativePath !== 'string') throw refuse(field, 'invalid_path', `${field} must be a path.`);
    if (relativePath.length > MAX_PATH_CHARS) throw refuse(field, 'path_too_long', `${field} is longer than ${MAX_PATH_CHARS} characters.`);
    if (CONTROL.test(relativePath)) throw refuse(field, 'invalid_path', `${field} must not contain control characters (NUL included).`);
    if (relativePath.includes('\\')) throw refuse(field, 'invalid_path', `${field} must separate folders with '/', not '\\'.`);
    if (isAbsolute(relativePath)) throw refuse(field, 'outside_file_area', `${field} must be a relative path inside Herald's file area.`);
    if (relativePath.split('/').some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)) {
      throw refuse(field, 'path_too_long', `${field} has a file or folder name longer than ${MAX_NAME_BYTES} bytes.`);
    }
    const full = resolve(this.root, relativePath);
    const rel = relative(this.root, full);
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw refuse(field, 'outside_file_area', `${field} must stay inside Herald's file area.`);
    }
    return full;
  }

  /** A job's URI (file:// or a Herald file URL) → an absolute path in the area, inside `scope`. */
  resolveUri(uri: string, field: string, scope: FileScope = WHOLE_AREA): string {
    const where = scope.kind === 'hub' ? `this hub's folder of Herald's file area (${this.hubFolder(scope.hub)}/)` : "Herald's file area";
    if (typeof uri !== 'string' || uri.length > MAX_URI_CHARS) throw refuse(field, 'invalid_field', `${field} must be a URL of at most ${MAX_URI_CHARS} characters.`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw refuse(field, 'invalid_field', `${field} must be an absolute URL.`);
    }
    let path: string;
    if (url.protocol === 'file:') {
      let absolute: string;
      try {
        absolute = fileURLToPath(url);
      } catch {
        // A host other than localhost, or an encoded '/' (Node refuses both).
        throw refuse(field, 'invalid_field', `${field} is not a file:// URL of this server (no host, no encoded '/').`);
      }
      if (CONTROL.test(absolute)) throw refuse(field, 'invalid_path', `${field} must not contain control characters (NUL included).`);
      const rel = relative(this.root, absolute);
      if (rel.startsWith('..') || isAbsolute(rel)) throw refuse(field, 'outside_file_area', `${field} must name a place inside ${where}.`);
      path = this.resolvePath(rel === '' ? '.' : rel.split(sep).join('/'), field);
    } else if ((url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.startsWith(FILES_PREFIX)) {
      let rel: string;
      try {
        rel = decodeURIComponent(url.pathname.slice(FILES_PREFIX.length));
      } catch {
        throw refuse(field, 'invalid_field', `${field} has a malformed percent-escape.`);
      }
      path = this.resolvePath(rel || '.', field);
    } else {
      throw refuse(
        field,
        'unsupported_storage',
        `${field} must be a file:// URL inside ${where} or a URL of this hub's file endpoint (${FILES_PREFIX}<path>); Herald has no blob storage.`,
      );
    }
    if (scope.kind === 'hub') {
      const folder = resolve(this.root, HUBS_FOLDER, scope.hub);
      const rel = relative(folder, path);
      // Refused whether or not the place exists: the answer tells nothing about other hubs' files.
      if (rel.startsWith('..') || isAbsolute(rel)) throw refuse(field, 'outside_hub_folder', `${field} must name a place inside ${where}.`);
    }
    return path;
  }

  /**
   * A place in the area as the job's caller named its container: a file:// URL if they gave one, else a
   * URL of the file endpoint on the same origin (so a job's output paths reveal nothing more).
   */
  uriLike(containerUri: string, absolutePath: string): string {
    const url = new URL(containerUri);
    if (url.protocol === 'file:') return pathToFileURL(absolutePath).href;
    return `${url.origin}${FILES_PREFIX}${this.nameOf(absolutePath).split('/').map(encodeURIComponent).join('/')}`;
  }

  /** The path of a file in the area as a relative, slash-separated name (what the file endpoint serves). */
  nameOf(absolutePath: string): string {
    return relative(this.root, absolutePath).split(sep).join('/');
  }

  /**
   * A failure's text with every absolute path in the area made relative (and any other path of the
   * server hidden): what a job's Failure and an error message may show.
   */
  describe(err: unknown): string {
    const e = err as NodeJS.ErrnoException & { dest?: string };
    if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.path === 'string') {
      const name = (p: string) => {
        const rel = relative(this.root, p);
        return rel.startsWith('..') || isAbsolute(rel) ? '(a path outside the file area)' : this.nameOf(p) || '.';
      };
      const what = FS_REASONS[e.code] ?? e.code;
      return `${e.syscall ?? 'access'} ${name(e.path)}${e.dest ? ` -> ${name(e.dest)}` : ''}: ${what}`;
    }
    const message = err instanceof Error ? err.message : String(err);
    return message.split(`${this.root}${sep}`).join('').split(this.root).join('.');
  }

  join(...parts: string[]): string {
    return join(this.root, ...parts);
  }
}

/** File-system errors a user can act on, in words. */
const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EEXIST: 'a file or folder is already there',
  ENOTDIR: 'a file stands where a folder is needed',
  EISDIR: 'a folder stands where a file is needed',
  ENAMETOOLONG: 'the name is too long',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
};
