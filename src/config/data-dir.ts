/**
 * The data directory: the store, the admin and secret keys, the development CA and the runtime file
 * that tells CLI commands where the running hub listens. Every failure names the path and the reason.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKey } from '../auth/keys.ts';
import { HubError } from '../shared/errors.ts';

export const STORE_FILE = 'herald.db';
export const ADMIN_KEY_FILE = 'admin.key';
export const SECRET_KEY_FILE = 'secret.key';
export const RUNTIME_FILE = 'server.json';
export const TLS_DIR = 'tls';
/** The sandbox emulators' state: devices, minted credentials, ports (one JSON file per emulator). */
export const EMULATORS_DIR = 'emulators';

function unusable(path: string, reason: string): HubError {
  return new HubError('data_dir_unusable', `data directory ${path}: ${reason}`);
}

/** Creates the directory if needed and proves it can be written. Returns its absolute path. */
export function prepareDataDir(dir: string): string {
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory()) throw unusable(path, 'exists but is not a directory');
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    accessSync(path, constants.R_OK | constants.W_OK);
    const probe = join(path, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    throw unusable(path, `cannot be created or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return path;
}

/**
 * Reads a key file, or creates it (0600) with a fresh value. A damaged file is an error, never
 * silently replaced: replacing the secret key would make every stored credential unreadable.
 */
function loadOrCreateKeyFile(path: string, generate: () => string, valid: (k: string) => boolean, what: string): string {
  if (existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new HubError('data_dir_unusable', `cannot read the ${what} file ${path}: ${(err as Error).message}`);
    }
    if (!valid(text)) throw new HubError('data_dir_unusable', `the ${what} file ${path} is damaged: it does not hold a valid key`);
    return text;
  }
  const key = generate();
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

export function loadOrCreateAdminKey(dataDir: string): string {
  return loadOrCreateKeyFile(join(dataDir, ADMIN_KEY_FILE), generateKey, (k) => k.length >= 32 && !/\s/.test(k), 'admin key');
}

export function loadOrCreateSecretKey(dataDir: string): Buffer {
  const text = loadOrCreateKeyFile(
    join(dataDir, SECRET_KEY_FILE),
    () => randomBytes(32).toString('base64'),
    (k) => /^[A-Za-z0-9+/]{43}=$/.test(k),
    'secret key',
  );
  return Buffer.from(text, 'base64');
}

export interface RuntimeInfo {
  pid: number;
  adminUrl: string;
  httpUrl: string | null;
  httpsUrl: string | null;
  caCertPath: string | null;
  startedAt: string;
}

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): void {
  const path = join(dataDir, RUNTIME_FILE);
  writeFileSync(path, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only to a file the write creates; one left behind by an older Herald keeps its own.
  chmodSync(path, 0o600);
}

export function readRuntimeInfo(dataDir: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(resolve(dataDir), RUNTIME_FILE), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

export function removeRuntimeInfo(dataDir: string, pid: number): void {
  // Only the process that wrote it removes it (a second hub on the same directory must not).
  if (readRuntimeInfo(dataDir)?.pid === pid) unlinkSync(join(dataDir, RUNTIME_FILE));
}

/** Files of the data directory that hold secrets: SAS keys and PNS credentials (the store), keys. */
export const SECRET_FILES = [STORE_FILE, `${STORE_FILE}-wal`, `${STORE_FILE}-shm`, ADMIN_KEY_FILE, SECRET_KEY_FILE, join(TLS_DIR, 'ca.key'), join(TLS_DIR, 'server.key')];

export interface ModeFinding {
  path: string;
  /** The mode found, in octal ("644"). */
  mode: string;
  what: 'directory' | 'secret file';
  /** A secret file that was made 0600; false when that failed (another owner). */
  fixed?: boolean;
}

/**
 * Checks that other users cannot read the data directory's secrets. A secret file with group or other
 * bits (copied in by hand, or made by an older Herald) is made 0600; the directory itself is only
 * reported: it is the user's, and they may share it on purpose. The caller logs the findings.
 */
export function secureDataDir(dataDir: string): ModeFinding[] {
  const findings: ModeFinding[] = [];
  const dirMode = statSync(dataDir).mode & 0o777;
  if (dirMode & 0o077) findings.push({ path: dataDir, mode: dirMode.toString(8), what: 'directory' });
  for (const name of SECRET_FILES) {
    const path = join(dataDir, name);
    const mode = (statSync(path, { throwIfNoEntry: false })?.mode ?? 0) & 0o777;
    if (!(mode & 0o077)) continue;
    let fixed = true;
    try {
      chmodSync(path, 0o600);
    } catch {
      fixed = false;
    }
    findings.push({ path, mode: mode.toString(8), what: 'secret file', fixed });
  }
  return findings;
}
