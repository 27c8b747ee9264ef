/**
 * The `herald` command as a user runs it: bin/herald.js, which runs the compiled dist/cli.js. Tests spawn
 * this path only after checking that dist/ was built from the sources as they are now, so a stale build
 * never silently runs old code (`npm test` and `npm run test:only` build first; see scripts/build.js).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Throws unless `<root>/dist` was built from `<root>`'s sources as they are now. */
export function checkBuild(root: string): void {
  let info: { inputs: string[]; sha256: string };
  try {
    info = JSON.parse(readFileSync(join(root, 'dist/build.json'), 'utf8')) as typeof info;
  } catch {
    throw new Error('dist/ is not built: run "npm run build" (npm test and npm run test:only build first)');
  }
  const hash = createHash('sha256');
  for (const input of info.inputs) {
    let text: Buffer;
    try {
      text = readFileSync(join(root, input));
    } catch {
      throw new Error(`dist/ is stale (${input} is gone): run "npm run build"`);
    }
    hash.update(`${input}\0`).update(text).update('\0');
  }
  if (hash.digest('hex') !== info.sha256) throw new Error('dist/ is stale (the sources changed since it was built): run "npm run build"');
}

checkBuild(fileURLToPath(new URL('..', import.meta.url)));
/** bin/herald.js, once dist/ is known to match the sources. */
export const heraldBin: string = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
