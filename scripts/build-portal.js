#!/usr/bin/env node
// Builds the portal (src/portal/web: preact + htm) into build/portal/: index.html and assets/ named by
// content hash. `herald serve` serves that folder at /_portal/ (src/portal/portal-routes.ts).
// `node scripts/build-portal.js [outDir]`.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'src', 'portal', 'web');
const out = resolve(process.argv[2] ?? join(root, 'build', 'portal'));

// Built beside, then swapped in: a server running meanwhile never sees a half-written folder's index.
const staging = `${out}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
const result = await build({
  entryPoints: { app: join(web, 'app.js'), style: join(web, 'style.css') },
  bundle: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: 'linked',
  entryNames: '[name]-[hash]',
  outdir: join(staging, 'assets'),
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
const css = outputs.find((f) => f.startsWith('style-') && f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild wrote no app script or style sheet: ${outputs.join(', ')}`);
const page = readFileSync(join(web, 'index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css);
writeFileSync(join(staging, 'index.html'), page);
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
console.log(`portal built into ${out}: index.html, ${join('assets', js)}, ${join('assets', css)}`);
