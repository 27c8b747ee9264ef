/**
 * The development CA a sandbox hub generated into its data directory: its emulators (and its HTTPS
 * port) present certificates signed by it. Found through the runtime file's `caCertPath`, else at
 * `<data>/tls/ca.crt`; undefined when neither exists (NODE_EXTRA_CA_CERTS may still cover it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRuntimeInfo, TLS_DIR } from '../config/data-dir.ts';

export function findDevelopmentCa(dataDirOption: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dataDir = resolve(dataDirOption ?? env.HERALD_DATA ?? './data');
  const candidates = [readRuntimeInfo(dataDir)?.caCertPath, join(dataDir, TLS_DIR, 'ca.crt')];
  for (const path of candidates) {
    if (path && existsSync(path)) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        // An unreadable CA file is as good as none: the TLS error that follows names the fix.
      }
    }
  }
  return undefined;
}
