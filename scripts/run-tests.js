#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's built-in runner through tsx.
// Node 20's --test does not expand globs itself, so this script lists the files.
// Arguments narrow the run: `npm test -- src/auth` runs the tests under that path only.
// It builds dist/ and the portal first (scripts/build.js, build-portal.js): the CLI tests spawn bin/herald.js,
// which runs the compiled code, and the portal tests load the built page.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), path));
  }
  return out;
}

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src', 'test'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? collect(r, []) : [r])).sort();
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
// The portal's browser tests need its built page too (scripts/build-portal.js, build/portal/).
for (const script of ['./build.js', './build-portal.js']) {
  const build = spawnSync(process.execPath, [new URL(script, import.meta.url).pathname], { stdio: 'inherit' });
  if (build.status !== 0) {
    console.error(`the build (scripts/${script.slice(2)}) failed: no tests run`);
    process.exit(build.status ?? 1);
  }
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
