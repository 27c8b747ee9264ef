/**
 * Where the files of Herald's file area are kept (import files, job output). The file area
 * (registry/file-area.ts) decides which names are allowed and which caller reaches them; a FileStore only
 * keeps bytes under those names. Names are relative, slash-separated paths inside the area, already
 * checked (`hubs/<hub>/imports/devices.txt`).
 *
 * Adapters: a local directory (files/local-file-store.ts, one node, the default) and PostgreSQL
 * (store/postgres/file-store.ts), which every node of a cluster sees: the node that received an upload
 * need not be the one that runs the job.
 */
import type { Readable } from 'node:stream';

export interface FileWriter {
  /** Appends bytes (resolves once they are accepted: a slow store holds the writer back). */
  write(data: string | Buffer): Promise<void>;
  /** Ends the file: a `whole` file appears now (replacing one at its name), never half-written. */
  close(): Promise<void>;
  /** Drops what was written; a `whole` file never appears. Never throws. */
  abort(): Promise<void>;
}

export interface FileStore {
  readonly kind: 'local' | 'postgres';
  /** The size of the file at `name` (bytes); undefined if there is no file there (a folder is no file). */
  stat(name: string): Promise<{ bytes: number } | undefined>;
  /** The file's bytes, streamed with bounded memory; HubError `not_found` (on read) if there is none. */
  read(name: string): Readable;
  /**
   * Starts a file at `name`. `whole: true` (uploads): it appears only at close, so a job never reads half of
   * it, and of two writers of one name the last to close wins. `whole: false` (a job's output): what is
   * written shows as it goes, so an interrupted job's output shows how far it got. HubError `file_conflict`
   * when a file stands where a folder of `name` is needed, or a folder stands at `name`.
   */
  create(name: string, options: { whole: boolean }): Promise<FileWriter>;
  /**
   * Removes a hub's folder (`hubs/<hub>/`, its name in any case: hub names are case-insensitive) with
   * everything in it, so a new hub of the same name finds none of its files; nothing there is fine.
   */
  removeHubFolder(hub: string): Promise<void>;
}
