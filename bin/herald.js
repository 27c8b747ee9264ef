#!/usr/bin/env node
// Runs the compiled CLI (dist/cli.js, built from src/ by `npm run build`, which `npm install` runs as
// `prepare`). A clone installed with --ignore-scripts, or without dev dependencies (no esbuild), has no
// dist/: then the sources run through tsx, correct but a second or more slower at every start.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  if (!process.env.HERALD_QUIET_SOURCE_RUN) {
    process.stderr.write('herald: dist/ is missing (installed with --ignore-scripts?), running the sources through tsx; "npm run build" makes every start faster\n');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
