/**
 * Herald's own file area, `<data>/files/`, where import files are read from and job output is written
 * to: it stands where Azure puts blob containers (wire spec §11). A job names a place in it by a
 * `file://` URL inside the area, or by a URL of Herald's file endpoint (`.../_admin/v1/files/<path>`);
 * anything else, or a path that climbs out of the area, is refused.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../shared/errors.ts';

export const FILES_PREFIX = '/_admin/v1/files/';

export class FileArea {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = resolve(dataDir, 'files');
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  /** A relative path inside the area → its absolute path; refuses `..`, absolute paths and NUL. */
  resolvePath(relativePath: string, field = 'path'): string {
    if (relativePath.includes('\0') || isAbsolute(relativePath)) {
      throw new HubError('invalid_request', `${field} must be a relative path inside Herald's file area.`, { reason: 'outside_file_area', field });
    }
    const full = resolve(this.root, relativePath);
    const rel = relative(this.root, full);
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new HubError('invalid_request', `${field} must stay inside Herald's file area (${this.root}).`, { reason: 'outside_file_area', field });
    }
    return full;
  }

  /** A job's URI (file:// or a Herald file URL) → an absolute path in the area. */
  resolveUri(uri: string, field: string): string {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new HubError('invalid_request', `${field} must be an absolute URL.`, { reason: 'invalid_field', field });
    }
    if (url.protocol === 'file:') {
      const path = fileURLToPath(url);
      const rel = relative(this.root, path);
      return this.resolvePath(rel === '' ? '.' : rel, field);
    }
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.startsWith(FILES_PREFIX)) {
      return this.resolvePath(decodeURIComponent(url.pathname.slice(FILES_PREFIX.length)) || '.', field);
    }
    throw new HubError(
      'invalid_request',
      `${field} must be a file:// URL inside ${this.root} or a URL of this hub's file endpoint (${FILES_PREFIX}<path>); Herald has no blob storage.`,
      { reason: 'unsupported_storage', field },
    );
  }

  /** The path of a file in the area as a relative, slash-separated name (what the file endpoint serves). */
  nameOf(absolutePath: string): string {
    return relative(this.root, absolutePath).split(sep).join('/');
  }

  join(...parts: string[]): string {
    return join(this.root, ...parts);
  }
}
