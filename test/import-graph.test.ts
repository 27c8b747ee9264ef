/**
 * The dependency direction of the house style, checked on the import graph of src/ so that it cannot
 * quietly break: api and cli lean on the domain, never the other way; only the composition root (main.ts),
 * tests and benchmarks pick a concrete store or queue adapter; shared/ stands on its own.
 *
 * The graph is read with TypeScript's own pre-processor (`ts.preProcessFile`: every import, `import type`,
 * `export ... from` and `import()` specifier, comments and strings understood), already a dev dependency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** An import of one file of src/ by another, paths relative to src/ with forward slashes. */
export interface ImportEdge {
  from: string;
  to: string;
}

/** Folders of domain code: they must not know about HTTP (api/) or the command line (cli/). */
const DOMAIN = ['dispatch', 'registry', 'hubs', 'tags', 'templates', 'auth', 'shared', 'pns'];
/** Engines of concrete adapters: src/store/<engine>/**, src/queue/<engine>/**. */
const ADAPTER_ROOTS = ['store', 'queue'];

const isTest = (path: string) => path.endsWith('.test.ts');

/** The store's and the queue's interfaces: files directly in store/ or queue/ (store.ts, store-contract.ts, ...). */
function isInterfaceOf(path: string): boolean {
  const parts = path.split('/');
  return parts.length === 2 && ADAPTER_ROOTS.includes(parts[0]!);
}

/** `sqlite` for src/store/sqlite/** or src/queue/sqlite/**; undefined outside a concrete adapter. */
function adapterEngine(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length > 2 && ADAPTER_ROOTS.includes(parts[0]!) ? parts[1] : undefined;
}

function isDomain(path: string): boolean {
  return DOMAIN.includes(path.split('/')[0]!) || isInterfaceOf(path);
}

/**
 * Why an edge breaks the dependency direction, or undefined when it does not. Tests (*.test.ts) put real
 * parts together as main.ts does (a store adapter, the wire codecs of an import job): they are composition
 * roots, not part of the graph the product is built from, and free to import anything.
 */
export function ruleBroken(edge: ImportEdge): string | undefined {
  const { from, to } = edge;
  if (isTest(from)) return undefined;
  const top = to.split('/')[0]!;
  if (isDomain(from) && (top === 'api' || top === 'cli' || to === 'main.ts')) return 'domain code imports api/, cli/ or main.ts';
  const engine = adapterEngine(to);
  // An adapter's files import each other, and the store and queue adapters of one engine share its connection.
  if (engine !== undefined && from !== 'main.ts' && adapterEngine(from) !== engine) return 'a concrete adapter is imported outside main.ts and tests';
  if (from.startsWith('shared/') && !to.startsWith('shared/')) return 'shared/ imports something outside shared/';
  return undefined;
}

/**
 * Edges that break a rule for now, each with the reason it stays and who removes it. An entry that no longer
 * matches an edge fails the test too, so the list only shrinks.
 */
const ALLOWED: ReadonlyArray<ImportEdge & { why: string }> = [];

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tsFiles(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every import of a file of src/ by a file of src/ (relative specifiers; packages and node: builtins are not edges). */
export function importGraph(srcDir = SRC): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of tsFiles(srcDir)) {
    const from = relative(srcDir, file).split(sep).join('/');
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const to = posix.normalize(posix.join(posix.dirname(from), ref.fileName));
      edges.push({ from, to });
    }
  }
  return edges;
}

test('the rules: domain code never imports api/ or cli/; only main.ts and tests import a concrete adapter; shared/ stands alone', () => {
  const broken = (from: string, to: string) => ruleBroken({ from, to }) !== undefined;
  // Domain code, the store's and queue's interfaces included.
  for (const from of ['dispatch/dispatcher.ts', 'registry/jobs.ts', 'hubs/hub-service.ts', 'tags/parser.ts', 'templates/evaluate.ts', 'auth/sas.ts', 'shared/errors.ts', 'pns/connector.ts', 'store/store.ts', 'queue/queue.ts']) {
    assert.ok(broken(from, 'api/wire/atom.ts'), `${from} -> api`);
    assert.ok(broken(from, 'cli/main.ts'), `${from} -> cli`);
    assert.ok(broken(from, 'main.ts'), `${from} -> main.ts`);
  }
  assert.ok(!broken('registry/jobs-deleted-hub.test.ts', 'api/wire/registration-xml.ts'), 'a test composes real parts');
  assert.ok(!broken('api/routes/azure-sends.ts', 'dispatch/send-model.ts'), 'api -> domain is the direction');
  assert.ok(!broken('cli/commands/serve.ts', 'api/app.ts'));
  // Concrete adapters.
  for (const to of ['store/sqlite/sqlite-store.ts', 'store/postgres/postgres-store.ts', 'queue/postgres/pg-queue.ts']) {
    assert.ok(broken('api/app.ts', to), `api -> ${to}`);
    assert.ok(broken('dispatch/dispatcher.ts', to), `dispatch -> ${to}`);
    assert.ok(broken('cli/commands/serve.ts', to), `cli -> ${to}`);
    assert.ok(broken('store/store-contract.ts', to), `the store interface -> ${to}`);
    assert.ok(!broken('main.ts', to), `main.ts -> ${to}`);
    assert.ok(!broken('store/sqlite/sqlite-store.test.ts', to), `a test -> ${to}`);
  }
  assert.ok(!broken('store/sqlite/sqlite-store.ts', 'store/sqlite/registry-store.ts'), "an adapter's own files");
  assert.ok(!broken('queue/sqlite/sqlite-queue.ts', 'store/sqlite/sqlite-database.ts'), "one engine's queue and store");
  assert.ok(broken('store/postgres/registry-store.ts', 'store/sqlite/registry-store.ts'), 'one engine reaching into another');
  assert.ok(!broken('store/sqlite/registry-store.ts', 'store/store.ts'), 'an adapter implements the interface');
  // shared/
  assert.ok(broken('shared/errors.ts', 'api/error-catalog.ts'));
  assert.ok(broken('shared/clock.ts', 'registry/model.ts'));
  assert.ok(!broken('shared/secret-box.ts', 'shared/errors.ts'));
  assert.ok(!broken('registry/model.ts', 'shared/errors.ts'));
});

test('the graph reader finds every kind of import, and none inside a comment or a string', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-import-graph-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'dispatch'));
  writeFileSync(
    join(dir, 'dispatch', 'x.ts'),
    [
      "import { a } from '../api/a.ts';",
      "import type { B } from '../api/b.ts';",
      "import '../api/c.ts';",
      "export { d } from '../api/d.ts';",
      "export * from './e.ts';",
      "const f = await import('../cli/f.ts');",
      'import {',
      '  g,',
      "} from '../registry/g.ts';",
      "import { h } from 'pino';",
      "import { i } from 'node:fs';",
      "// import { no } from '../api/comment.ts';",
      "/* export * from '../api/block.ts'; */",
      "const s = \"import { no } from '../api/string.ts'\";",
    ].join('\n'),
  );
  const edges = importGraph(dir).map((e) => `${e.from} -> ${e.to}`).sort();
  assert.deepEqual(edges, [
    'dispatch/x.ts -> api/a.ts',
    'dispatch/x.ts -> api/b.ts',
    'dispatch/x.ts -> api/c.ts',
    'dispatch/x.ts -> api/d.ts',
    'dispatch/x.ts -> cli/f.ts',
    'dispatch/x.ts -> dispatch/e.ts',
    'dispatch/x.ts -> registry/g.ts',
  ]);
  assert.equal(importGraph(dir).filter((e) => ruleBroken(e) !== undefined).length, 5);
});

test('the import graph of src/ keeps the dependency direction (the offending edges are listed)', () => {
  const edges = importGraph();
  assert.ok(edges.length > 300, `read ${edges.length} edges: the reader works`);
  const allowed = (e: ImportEdge) => ALLOWED.some((a) => a.from === e.from && a.to === e.to);
  const offending = edges.filter((e) => ruleBroken(e) !== undefined && !allowed(e)).map((e) => `  ${e.from} -> ${e.to}: ${ruleBroken(e)}`);
  assert.deepEqual(offending, [], `edges against the dependency direction:\n${offending.join('\n')}`);
  const stale = ALLOWED.filter((a) => !edges.some((e) => e.from === a.from && e.to === a.to) || ruleBroken(a) === undefined);
  assert.deepEqual(stale, [], 'allow-list entries that no longer match an offending edge: remove them');
});
