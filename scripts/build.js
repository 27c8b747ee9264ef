#!/usr/bin/env node
// Compiles src/ into dist/ once (npm's `prepare` runs it at install; `npm test` before the tests), so that
// `herald` starts without compiling TypeScript: bin/herald.js runs dist/cli.js.
//
// - One ESM bundle for the CLI, split at dynamic imports: `herald --help` loads the command definitions
//   only; `serve` loads the hub when it runs. Packages stay in node_modules (native modules included).
// - Files read at run time are found from the source's place: every `import.meta.url` in src/ is compiled to
//   the URL of its source file (relative to dist/, so the folder may move), so the SQL migrations under
//   src/store/*/migrations, createRequire() and anything read beside a module resolve as under tsx.
// - dist/build.json records a hash of every compiled input; test/cli-bin.ts refuses to spawn a stale build.
// - Without esbuild (an install without dev dependencies) it builds nothing and says so: bin/herald.js then
//   runs the sources through tsx.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Built beside dist/ and swapped in at the end, so a command starting meanwhile finds the old build or the new one.
const staging = join(root, `dist.building-${process.pid}`);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('herald build: esbuild is not installed (dev dependencies omitted?); bin/herald.js will run the sources through tsx\n');
  process.exit(0);
}

/** `import.meta.url` of a source file, as seen from the compiled chunk in dist/. */
const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      // Only import.meta.url is carried over; the others would silently name dist/ instead of the source.
      const other = /import\.meta\.(dirname|filename)/.exec(text);
      if (other) return { errors: [{ text: `${other[0]} is not supported by the build: use new URL('...', import.meta.url)` }] };
      if (text.includes('import.meta.url')) {
        const rel = relative(staging, args.path).split('\\').join('/');
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli/main.ts' },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  // Chunks sit beside cli.js: the source URLs above are relative to dist/ itself.
  chunkNames: '[name]-[hash]',
  plugins: [sourceUrlPlugin],
});
if (result.errors.length > 0) {
  rmSync(staging, { recursive: true, force: true });
  process.exit(1);
}

const inputs = Object.keys(result.metafile.inputs).sort();
const hash = createHash('sha256');
for (const input of inputs) hash.update(`${input}\0`).update(readFileSync(join(root, input))).update('\0');
writeFileSync(join(staging, 'build.json'), `${JSON.stringify({ inputs, sha256: hash.digest('hex') }, null, 2)}\n`);
rmSync(dist, { recursive: true, force: true });
renameSync(staging, dist);
