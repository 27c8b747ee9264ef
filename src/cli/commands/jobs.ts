/**
 * `herald import` and `herald export`: bulk work through the hub's jobs (wire spec §11), with a
 * progress bar on a terminal. An import uploads the file into the hub's file area, runs the job and
 * reports how many lines succeeded and where the failed lines are. `herald jobs` lists, shows and
 * follows jobs; `herald download` copies a job's file. Ctrl+C stops watching, never the job: the hub has
 * no way to cancel one, so the CLI says so and how to follow it again.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { EXIT, fail, print } from '../output.ts';

interface JobJson {
  id: string;
  type: string;
  status: string;
  progress: number;
  failure?: string;
  outputProperties?: Record<string, string>;
  createdAt?: number;
  updatedAt?: number;
}

interface Common extends ClientOptions {
  json?: boolean;
  hub: string;
}

const MODES = { create: 'ImportCreateRegistrations', update: 'ImportUpdateRegistrations', upsert: 'ImportUpsertRegistrations', delete: 'ImportDeleteRegistrations' } as const;

/** What Ctrl+C means right now: set while the CLI waits on the hub, printed when the user interrupts. */
let onInterrupt: (() => string) | undefined;
let interruptHandled = false;
function watchInterrupt(): void {
  if (interruptHandled) return;
  interruptHandled = true;
  process.once('SIGINT', () => {
    process.stderr.write(`\nherald: ${onInterrupt ? onInterrupt() : 'interrupted'}\n`);
    process.exit(EXIT.interrupted);
  });
}

const isRunning = (job: JobJson) => job.status === 'Started' || job.status === 'Running';

/** Polls the job until it ends, drawing a progress bar when stderr is a terminal. */
async function waitFor(client: AdminClient, hub: string, job: JobJson, label: string): Promise<JobJson> {
  const { SingleBar, Presets } = process.stderr.isTTY ? await import('cli-progress') : ({} as typeof import('cli-progress'));
  const bar = process.stderr.isTTY ? new SingleBar({ format: `${label} [{bar}] {percentage}% | {status}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(100, 0, { status: job.status });
  watchInterrupt();
  onInterrupt = () => {
    bar?.stop();
    return `stopped watching; job ${job.id} goes on in the hub (a job cannot be cancelled): follow it with "herald jobs ${job.id} --hub ${hub} --follow"`;
  };
  let current = job;
  while (isRunning(current)) {
    await new Promise((r) => setTimeout(r, 250));
    current = await client.request<JobJson>('GET', `/hubs/${encodeURIComponent(hub)}/jobs/${encodeURIComponent(job.id)}`);
    bar?.update(current.progress, { status: current.status });
  }
  bar?.update(current.status === 'Completed' ? 100 : current.progress, { status: current.status });
  bar?.stop();
  onInterrupt = undefined;
  return current;
}

const when = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString());

function describeJob(job: JobJson): string {
  const p = job.outputProperties ?? {};
  return [
    `${job.id}  ${job.type}  ${job.status}${isRunning(job) ? ` ${job.progress}%` : ''}  (created ${when(job.createdAt)})`,
    ...(p.SucceededLines !== undefined ? [`  lines: ${p.SucceededLines} succeeded, ${p.FailedLines ?? 0} failed`] : []),
    ...(job.failure ? [`  failure: ${job.failure}`] : []),
    ...(areaName(p.OutputFilePath, 'files') ? [`  output: herald download ${areaName(p.OutputFilePath, 'files')}`] : []),
    ...(Number(p.FailedLines ?? 0) > 0 && areaName(p.FailedFilePath, 'files') ? [`  failed lines: herald download ${areaName(p.FailedFilePath, 'files')}`] : []),
  ].join('\n');
}

/** A finished job's exit status: 0 only when it completed with no failed line. */
function jobExit(job: JobJson): number {
  if (isRunning(job)) return EXIT.ok;
  return job.status === 'Completed' && Number(job.outputProperties?.FailedLines ?? 0) === 0 ? EXIT.ok : EXIT.notAllSucceeded;
}

/** The file-area name of a job output (OutputFilePath is a file:// URL inside the area). */
function areaName(fileUrl: string | undefined, root: string): string | undefined {
  if (!fileUrl) return undefined;
  const path = fileURLToPath(fileUrl);
  const marker = `${root}/`;
  return path.includes(marker) ? path.slice(path.indexOf(marker) + marker.length) : undefined;
}

export function registerJobs(program: Command): void {
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--hub <hub>', 'the hub')
      .option('--url <url>', 'the hub to manage (default: HERALD_URL, or the local hub of --data)')
      .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
      .option('--data <dir>', 'data directory of the local hub (default ./data)')
      .option('--json', 'machine-readable output');

  common(
    program
      .command('import <file>')
      .description('import registrations: one RegistrationDescription XML per line (the Azure import format)')
      .option('--mode <mode>', 'create | update | upsert | delete', 'create'),
  ).action(async (file: string, o: Common & { mode: string }) => {
    try {
      const type = MODES[o.mode as keyof typeof MODES];
      if (!type) throw new Error(`--mode must be one of ${Object.keys(MODES).join(', ')}`);
      if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new Error(`cannot read ${file}: no such file`);
      const client = AdminClient.from(o);
      const name = `imports/${Date.now()}-${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}`;
      watchInterrupt();
      onInterrupt = () => `stopped during the upload of ${file}: no job was started on the hub (a partial upload may remain in its file area as ${name})`;
      await client.upload(name, createReadStream(file));
      onInterrupt = () => `stopped before the hub answered: a job may have started; list them with "herald jobs --hub ${o.hub}"`;
      const job = await client.request<JobJson>('POST', `/hubs/${encodeURIComponent(o.hub)}/jobs`, { type, importFile: name });
      const done = await waitFor(client, o.hub, job, `import ${basename(file)}`);
      const ok = Number(done.outputProperties?.SucceededLines ?? 0);
      const failed = Number(done.outputProperties?.FailedLines ?? 0);
      const failedFile = areaName(done.outputProperties?.FailedFilePath, 'files');
      if (done.status !== 'Completed') fail(new Error(`the import job ${done.id} ended ${done.status}: ${done.failure ?? 'no reason given'}`), o, EXIT.notAllSucceeded);
      print(o, { job: done.id, status: done.status, succeeded: ok, failed, failedLinesFile: failedFile }, () =>
        [`Imported ${ok} line(s); ${failed} failed.`, ...(failed > 0 ? [`Failed lines (line, reason, text): npx herald download ${failedFile}`] : [])].join('\n'),
      );
      process.exitCode = failed > 0 ? EXIT.notAllSucceeded : EXIT.ok;
    } catch (err) {
      fail(err, o);
    }
  });

  common(program.command('export').description("export a hub's registrations, one RegistrationDescription XML per line").requiredOption('--out <file>', 'where to write them')).action(
    async (o: Common & { out: string }) => {
      try {
        const client = AdminClient.from(o);
        const job = await client.request<JobJson>('POST', `/hubs/${encodeURIComponent(o.hub)}/jobs`, { type: 'ExportRegistrations' });
        const done = await waitFor(client, o.hub, job, `export ${o.hub}`);
        if (done.status !== 'Completed') fail(new Error(`the export job ${done.id} ended ${done.status}: ${done.failure ?? 'no reason given'}`), o, EXIT.notAllSucceeded);
        const name = areaName(done.outputProperties?.OutputFilePath, 'files');
        if (!name) throw new Error('the export wrote no output file');
        await pipeline(await client.download(name), createWriteStream(o.out));
        const count = Number(done.outputProperties?.SucceededLines ?? 0);
        print(o, { job: done.id, registrations: count, out: o.out }, () => `Exported ${count} registration(s) to ${o.out}.`);
      } catch (err) {
        fail(err, o);
      }
    },
  );

  common(
    program
      .command('jobs [id]')
      .description("a hub's import and export jobs, newest first; with an id, that job (--follow: until it ends)")
      .option('--follow', 'with an id: show progress until the job ends; exit 2 unless it completed with no failed line'),
  ).action(async (id: string | undefined, o: Common & { follow?: boolean }) => {
    try {
      const client = AdminClient.from(o);
      const base = `/hubs/${encodeURIComponent(o.hub)}/jobs`;
      if (id === undefined) {
        if (o.follow) throw new Error('--follow needs a job id: herald jobs <id> --hub HUB --follow');
        const { jobs } = await client.request<{ jobs: JobJson[] }>('GET', base);
        print(o, { jobs }, () => (jobs.length === 0 ? `Hub "${o.hub}" has no jobs.` : jobs.map(describeJob).join('\n')));
        return;
      }
      let job = await client.request<JobJson>('GET', `${base}/${encodeURIComponent(id)}`);
      if (o.follow) job = await waitFor(client, o.hub, job, `job ${id}`);
      print(o, job, () => describeJob(job));
      process.exitCode = jobExit(job);
    } catch (err) {
      fail(err, o);
    }
  });

  program
    .command('download <path>')
    .description("copy a file of the hub's file area (a job's Output.txt or Failed.txt) to standard output")
    .option('--url <url>', 'the hub (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key')
    .option('--data <dir>', 'data directory of the local hub (default ./data)')
    .option('--json', 'one JSON object per line of the file: {"line": n, "text": "..."}')
    .action(async (path: string, o: ClientOptions & { json?: boolean }) => {
      try {
        const body = await AdminClient.from(o).download(path);
        if (o.json) {
          let n = 0;
          for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
            n += 1;
            if (!process.stdout.write(`${JSON.stringify({ line: n, text })}\n`)) await new Promise((r) => process.stdout.once('drain', r));
          }
          return;
        }
        for await (const chunk of body) {
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
        }
      } catch (err) {
        fail(err, o);
      }
    });
}
