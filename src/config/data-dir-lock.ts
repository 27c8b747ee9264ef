/**
 * One Herald per data directory. A second `herald serve` on a directory in use would mint the sandbox
 * credentials again (breaking the first one's sends), overwrite `server.json` and mark the first one's
 * running jobs Failed; so the first thing a start does, before it writes anything else, is take this lock.
 *
 * The lock is an OS-level file lock, not a pid file: SQLite's exclusive lock on a small database of its
 * own (`herald.lock`). With `locking_mode = EXCLUSIVE`, the lock the first write transaction takes is
 * kept until the connection closes, and it is a POSIX advisory lock (fcntl) on the file, which the
 * kernel drops when the process ends, however it ends (kill -9 included): a dead Herald never leaves a
 * stale lock behind, and no pid can be reused to fake one. Node has no flock(); better-sqlite3 is
 * already here. SQLite also keeps a per-process table of its locks, so a second start inside the same
 * process (a test) is refused too. Advisory locks are not reliable on every network file system: keep
 * the data directory on a local disk.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HubError } from '../shared/errors.ts';
import { readRuntimeInfo } from './data-dir.ts';

export const LOCK_FILE = 'herald.lock';

export interface DataDirLock {
  /** Lets the next Herald start here (idempotent). */
  release(): void;
}

/** The running Herald, as far as its runtime file tells (it writes server.json once it listens). */
function holder(dataDir: string): string {
  const info = readRuntimeInfo(dataDir);
  return info ? `pid ${info.pid}, ${info.adminUrl}` : 'it is still starting: no server.json yet';
}

/** Takes the data directory's lock, or throws `data_dir_in_use` naming the Herald that holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  try {
    // The lock file holds nothing, but everything in the data directory is private to its owner.
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new HubError('data_dir_unusable', `data directory ${dataDir}: cannot create ${LOCK_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let db: Database.Database | undefined;
  try {
    // timeout 0: a lock held by another process is an answer now, not something to wait for.
    db = new Database(path, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    // No rollback journal file beside the lock (the transaction writes nothing anyway).
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db?.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new HubError('data_dir_in_use', `data directory ${dataDir} is in use by another Herald (${holder(dataDir)}); stop it first, or give this one another --data`);
    }
    throw new HubError('data_dir_unusable', `data directory ${dataDir}: cannot lock ${LOCK_FILE}: ${(err as Error).message}`);
  }
  const held = db;
  return {
    release: () => {
      if (held.open) held.close();
    },
  };
}
