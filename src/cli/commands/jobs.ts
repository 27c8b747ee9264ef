/**
 * `herald import` and `herald export`: bulk work through the hub's jobs (wire spec §11), with a
 * progress bar on a terminal. An import uploads the file into the hub's file area, runs the job and
 * reports how many lines succeeded and where the failed lines are.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { fail, print } from '../output.ts';

interface JobJson {
  id: string;
  type: string;
  status: string;
  progress: number;
  failure?: string;
  outputProperties?: Record<string, string>;
}

interface Common extends ClientOptions {
  json?: boolean;
  hub: string;
}

const MODES = { create: 'ImportCreateRegistrations', update: 'ImportUpdateRegistrations', upsert: 'ImportUpsertRegistrations', delete: 'ImportDeleteRegistrations' } as const;

/** Polls the job until it ends, drawing a progress bar when stderr is a terminal. */
async function waitFor(client: AdminClient, hub: string, job: JobJson, label: string): Promise<JobJson> {
  const { SingleBar, Presets } = process.stderr.isTTY ? await import('cli-progress') : ({} as typeof import('cli-progress'));
  const bar = process.stderr.isTTY ? new SingleBar({ format: `${label} [{bar}] {percentage}% | {status}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(100, 0, { status: job.status });
  let current = job;
  while (current.status === 'Started' || current.status === 'Running') {
    await new Promise((r) => setTimeout(r, 250));
    current = await client.request<JobJson>('GET', `/hubs/${encodeURIComponent(hub)}/jobs/${encodeURIComponent(job.id)}`);
    bar?.update(current.progress, { status: current.status });
  }
  bar?.update(current.status === 'Completed' ? 100 : current.progress, { status: current.status });
  bar?.stop();
  return current;
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
      await client.upload(name, createReadStream(file));
      const job = await client.request<JobJson>('POST', `/hubs/${encodeURIComponent(o.hub)}/jobs`, { type, importFile: name });
      const done = await waitFor(client, o.hub, job, `import ${basename(file)}`);
      const ok = Number(done.outputProperties?.SucceededLines ?? 0);
      const failed = Number(done.outputProperties?.FailedLines ?? 0);
      const failedFile = areaName(done.outputProperties?.FailedFilePath, 'files');
      if (done.status !== 'Completed') throw new Error(`the import failed: ${done.failure ?? done.status}`);
      print(o, { job: done.id, status: done.status, succeeded: ok, failed, failedLinesFile: failedFile }, () =>
        [`Imported ${ok} line(s); ${failed} failed.`, ...(failed > 0 ? [`Failed lines (line, reason, text): npx herald download ${failedFile}`] : [])].join('\n'),
      );
      process.exitCode = failed > 0 ? 2 : 0;
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
        if (done.status !== 'Completed') throw new Error(`the export failed: ${done.failure ?? done.status}`);
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

  program
    .command('download <path>')
    .description("copy a file of the hub's file area (a job's Output.txt or Failed.txt) to standard output")
    .option('--url <url>', 'the hub (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key')
    .option('--data <dir>', 'data directory of the local hub (default ./data)')
    .action(async (path: string, o: ClientOptions) => {
      try {
        for await (const chunk of await AdminClient.from(o).download(path)) {
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
        }
      } catch (err) {
        fail(err);
      }
    });
}
