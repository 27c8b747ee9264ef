/**
 * Import and export jobs (wire spec §11): a job is stored when it is submitted (status Started), runs
 * in the background (Running, with progress), and ends Completed or Failed. Output goes to
 * `<container>/<hub>/<jobId>/Output.txt` and `Failed.txt` in Herald's file area. One bad line of an
 * import fails only that line: it is reported in Failed.txt with its line number and the reason.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FileWriter } from '../files/file-store.ts';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import type { HubRecord, JobRecord, Store } from '../store/store.ts';
import { WHOLE_AREA, type FileArea, type FileScope } from './file-area.ts';
import type { Registration, RegistrationInput } from './model.ts';
import type { ImportWrite, RegistryService } from './registry-service.ts';

/** The job types of §11.1. */
export const JOB_TYPES = [
  'ExportRegistrations',
  'ImportCreateRegistrations',
  'ImportUpdateRegistrations',
  'ImportDeleteRegistrations',
  'ImportUpsertRegistrations',
] as const;
export type JobType = (typeof JOB_TYPES)[number];

/**
 * How a registration is written as one line of an import or export file (§11.1: a bare serialized
 * RegistrationDescription per line). The format is the wire's (api/wire/registration-xml.ts); the
 * composition root hands it in, so the registry never depends on api/.
 */
export interface RegistrationLineFormat {
  /** One line; HubError (a 400's code) for a line that is not a registration, reported for that line only. */
  parse(line: string): { registrationId?: string | undefined; input: RegistrationInput };
  render(reg: Registration): string;
}

/** Lines of an import handled together (the store commits concurrent writes in groups). */
const CHUNK = 256;
const PROGRESS_EVERY_MS = 500;
const MAX_LINE_CHARS = 64 * 1024;

export interface JobSubmission {
  type: string;
  outputContainerUri: string;
  importFileUri?: string | undefined;
}

/** What a user reads on a job that a node failed for the node that ran it (issue 11). */
export const ORPHANED_JOB_FAILURE =
  'The node running this job stopped (no heartbeat from it); its output files show how far it got. Submit the job again.';

export interface JobServiceOptions {
  /** This node's heartbeat id (TaskSchedule.heartbeat): recorded on each job it runs. */
  node?: string | undefined;
}

/** Failed.txt keeps one line per row: tabs and line breaks inside a reason or a line are escaped. */
const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\r?\n/g, '\\n');

export class JobService {
  private queue: Promise<void> = Promise.resolve();
  private nodeCheck: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly store: Store,
    private readonly registry: RegistryService,
    private readonly files: FileArea,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly lines: RegistrationLineFormat,
    private readonly options: JobServiceOptions = {},
  ) {}

  /**
   * Checks the request, stores the job and starts it in the background. `scope` is the part of the file
   * area the caller reaches: a job from the Azure surface (a hub's key) reaches only the hub's folder.
   */
  async submit(hub: HubRecord, req: JobSubmission, scope: FileScope = WHOLE_AREA): Promise<JobRecord> {
    const type = JOB_TYPES.find((t) => t.toLowerCase() === req.type.toLowerCase());
    if (!type) throw new HubError('invalid_request', `Unknown job type '${req.type}'; expected one of ${JOB_TYPES.join(', ')}.`, { reason: 'unknown_job_type' });
    // Resolve both places now, so a bad URI is a 400 at submit time rather than a failed job.
    // The job runs on these paths: it never resolves its URIs again, in a scope it might not have.
    const output = this.files.resolveUri(req.outputContainerUri, 'OutputContainerUri', scope);
    let input: string | undefined;
    if (type !== 'ExportRegistrations') {
      if (!req.importFileUri) throw new HubError('invalid_request', 'ImportFileUri is required for an import job.', { reason: 'missing_field', field: 'ImportFileUri' });
      input = this.files.resolveUri(req.importFileUri, 'ImportFileUri', scope);
      if (!(await this.files.store.stat(this.files.nameOf(input)))) {
        throw new HubError('invalid_request', `ImportFileUri names no file in Herald's file area (${this.files.nameOf(input)}).`, { reason: 'import_file_missing' });
      }
    }
    const now = this.clock.now();
    const job: JobRecord = {
      hub: hub.name,
      id: `${now}${randomUUID()}`,
      type,
      status: 'Started',
      progress: 0,
      outputContainerUri: req.outputContainerUri,
      ...(type !== 'ExportRegistrations' && req.importFileUri ? { importFileUri: req.importFileUri } : {}),
      ...(this.options.node === undefined ? {} : { node: this.options.node }),
      createdAt: now,
      updatedAt: now,
    };
    await this.store.jobs.create(job);
    // Jobs run one after another: a second import waits rather than competing for the store.
    this.queue = this.queue.then(() => this.run(hub, job, output, input));
    return job;
  }

  async get(hub: HubRecord, id: string): Promise<JobRecord> {
    const job = await this.store.jobs.get(hub.name, id);
    if (!job) throw new HubError('job_not_found', `Job '${id}' was not found.`);
    return job;
  }

  list(hub: HubRecord): Promise<JobRecord[]> {
    return this.store.jobs.list(hub.name, 100);
  }

  /** After a restart, jobs that were running are reported Failed (a half-done import must not be re-run blindly). */
  async failInterrupted(): Promise<number> {
    const jobs = await this.store.jobs.unfinished();
    for (const job of jobs) {
      await this.store.jobs.update({ ...job, status: 'Failed', failure: 'The job was interrupted by a restart of Herald; its output files show how far it got. Submit it again.', updatedAt: this.clock.now() });
    }
    return jobs.length;
  }

  /**
   * On a shared store: marks Failed the unfinished jobs whose node has had no heartbeat for `staleMs`
   * (it died or lost the store). Every node may call it; claimDue lets one node per `everyMs` do the work.
   */
  async failOrphaned(everyMs: number, staleMs: number): Promise<number> {
    const now = this.clock.now();
    if (!(await this.store.tasks.claimDue('job-orphans', now, everyMs))) return 0;
    return this.store.jobs.failOrphaned(now - staleMs, ORPHANED_JOB_FAILURE, now);
  }

  /** Runs failOrphaned every `everyMs` on the clock; returns the timer (Clock.clearTimer stops it). */
  watchNodes(everyMs: number, staleMs: number): TimerHandle {
    return this.clock.setInterval(() => {
      this.nodeCheck = this.failOrphaned(everyMs, staleMs).then(
        (n) => {
          if (n > 0) this.logger.warn({ jobs: n }, 'jobs of nodes without a heartbeat were marked Failed');
          return n;
        },
        (err: unknown) => {
          this.logger.error({ err }, 'checking for jobs of stopped nodes failed; the next check retries');
          return 0;
        },
      );
    }, everyMs);
  }

  /** The last check watchNodes started: how many jobs it failed (tests). */
  lastNodeCheck(): Promise<number> {
    return this.nodeCheck;
  }

  /** Resolves when every job submitted so far has finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async run(hub: HubRecord, job: JobRecord, output: string, input: string | undefined): Promise<void> {
    const dir = join(output, hub.name, job.id);
    const outputPath = join(dir, 'Output.txt');
    const failedPath = join(dir, 'Failed.txt');
    const uri = (path: string) => this.files.uriLike(job.outputContainerUri, path);
    const state: JobRecord = { ...job, status: 'Running', outputProperties: { OutputFilePath: uri(outputPath), FailedFilePath: uri(failedPath) } };
    let lastProgress = 0;
    const progress = async (fraction: number, force = false) => {
      const now = this.clock.now();
      if (!force && now - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = now;
      await this.store.jobs.update({ ...state, progress: Math.min(100, Math.round(fraction * 10000) / 100), updatedAt: now });
    };
    try {
      await progress(0, true);
      const counts = job.type === 'ExportRegistrations' ? await this.export(hub, job, outputPath, failedPath, progress) : await this.import(hub, job, input!, outputPath, failedPath, progress);
      state.outputProperties = { ...state.outputProperties, SucceededLines: String(counts.ok), FailedLines: String(counts.failed) };
      // An import can multiply a registry: the planner's statistics follow at once (a failure here only
      // leaves them to the database's background analysis).
      if (job.type !== 'ExportRegistrations' && counts.ok > 0) {
        await this.store.registrations.refreshStatistics().catch((err: unknown) => this.logger.warn({ hub: hub.name, job: job.id, err }, 'refreshing the store statistics after an import failed'));
      }
      await this.store.jobs.update({ ...state, status: 'Completed', progress: 100, updatedAt: this.clock.now() });
      this.logger.info({ hub: hub.name, job: job.id, type: job.type, ...counts }, 'job completed');
    } catch (err) {
      // Paths relative to the file area: the job's owner holds a hub key, not the server's layout.
      const failure =
        err instanceof HubError && err.code !== 'file_conflict' ? err.message : `The job could not run: ${err instanceof HubError ? err.message : this.files.describe(err)}`;
      this.logger.warn({ hub: hub.name, job: job.id, err }, 'job failed');
      await this.store.jobs.update({ ...state, status: 'Failed', failure, updatedAt: this.clock.now() }).catch(() => undefined);
    }
  }

  /**
   * A job goes with its hub (the store deletes it): once it is gone, the job stops before its next chunk
   * rather than go on in a new hub of the same name. A job another node marked Failed (this node's
   * heartbeat lapsed) stops too: its record stays as that node left it (a finished job is final).
   */
  private async stillWanted(hub: HubRecord, job: JobRecord): Promise<void> {
    const stored = await this.store.jobs.get(hub.name, job.id);
    if (!stored) throw new HubError('job_not_found', `The hub '${hub.name}' of job '${job.id}' was deleted while the job ran; the job stopped.`);
    if (stored.status === 'Failed') throw new HubError('job_not_found', stored.failure ?? ORPHANED_JOB_FAILURE);
  }

  /** Both output files, made before the first line is read: a place that cannot take them fails the job at once. */
  private async outputs(outputPath: string, failedPath: string): Promise<{ out: FileWriter; failed: FileWriter }> {
    const out = await this.files.store.create(this.files.nameOf(outputPath), { whole: false });
    try {
      return { out, failed: await this.files.store.create(this.files.nameOf(failedPath), { whole: false }) };
    } catch (err) {
      await out.close().catch(() => undefined);
      throw err;
    }
  }

  private async export(hub: HubRecord, job: JobRecord, outputPath: string, failedPath: string, progress: (f: number) => Promise<void>) {
    const { out, failed } = await this.outputs(outputPath, failedPath);
    await failed.close();
    const total = Math.max(1, await this.registry.countRegistrations(hub, {}));
    let ok = 0;
    let token: string | undefined;
    try {
      do {
        await this.stillWanted(hub, job);
        const page = await this.registry.listRegistrations(hub, 'export', {}, { top: '1000', continuationToken: token ?? null });
        await out.write(page.items.map((reg) => `${this.lines.render(reg)}\n`).join(''));
        ok += page.items.length;
        token = page.continuationToken;
        await progress(ok / total);
      } while (token);
    } finally {
      await out.close();
    }
    return { ok, failed: 0 };
  }

  private async import(hub: HubRecord, job: JobRecord, input: string, outputPath: string, failedPath: string, progress: (f: number) => Promise<void>) {
    const inputName = this.files.nameOf(input);
    const size = Math.max(1, (await this.files.store.stat(inputName))?.bytes ?? 0);
    const { out, failed } = await this.outputs(outputPath, failedPath);
    const counts = { ok: 0, failed: 0 };
    let bytes = 0;
    let lineNo = 0;
    let chunk: Array<{ n: number; text: string }> = [];
    const flush = async () => {
      await this.stillWanted(hub, job);
      const results = await this.importChunk(hub, job.type as JobType, chunk);
      let okText = '';
      let failedText = '';
      for (const r of results) {
        if ('err' in r) {
          counts.failed++;
          const reason = r.err instanceof HubError ? r.err.message : `internal error: ${this.files.describe(r.err)}`;
          failedText += `${r.n}\t${cell(reason)}\t${cell(r.text.slice(0, 2000))}\n`;
        } else {
          counts.ok++;
          okText += `${r.n}\tSucceeded\t${r.id}\n`;
        }
      }
      if (failedText) await failed.write(failedText);
      if (okText) await out.write(okText);
      chunk = [];
      await progress(bytes / size);
    };
    try {
      const lines = createInterface({ input: this.files.store.read(inputName).setEncoding('utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        lineNo++;
        bytes += Buffer.byteLength(line) + 1;
        if (line.trim() === '') continue;
        chunk.push({ n: lineNo, text: line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS + 1) : line });
        if (chunk.length >= CHUNK) await flush();
      }
      await flush();
    } finally {
      await Promise.all([out.close(), failed.close()]);
    }
    return counts;
  }

  /**
   * One chunk of import lines, each line's registration id or error, in the chunk's order. Creates,
   * updates and upserts go to the registry as one bulk write (registry-service importRegistrations: on
   * PostgreSQL, one COPY and one statement per chunk); deletes one by one.
   */
  private async importChunk(hub: HubRecord, type: JobType, lines: ReadonlyArray<{ n: number; text: string }>): Promise<Array<{ n: number; text: string; id: string } | { n: number; text: string; err: unknown }>> {
    if (type === 'ImportDeleteRegistrations') {
      return Promise.all(lines.map(({ n, text }) => this.importLine(hub, type, text).then((id) => ({ n, text, id }), (err: unknown) => ({ n, text, err }))));
    }
    const parsed = lines.map(({ text }) => {
      try {
        return this.importWrite(type, text);
      } catch (err) {
        return { err };
      }
    });
    const writes = parsed.filter((p): p is ImportWrite => !('err' in p));
    const written = await this.registry.importRegistrations(hub, writes);
    let w = 0;
    return lines.map(({ n, text }, i) => {
      const p = parsed[i]!;
      if ('err' in p) return { n, text, err: p.err };
      const r = written[w++]!;
      return r instanceof Error ? { n, text, err: r } : { n, text, id: r.id };
    });
  }

  /** A create, update or upsert line as the registry's bulk write takes it. */
  private importWrite(type: JobType, line: string): ImportWrite {
    if (line.length > MAX_LINE_CHARS) throw new HubError('invalid_request', `The line is longer than ${MAX_LINE_CHARS} characters.`);
    const { registrationId, input } = this.lines.parse(line);
    switch (type) {
      case 'ImportCreateRegistrations':
        return { input };
      case 'ImportUpdateRegistrations':
        if (!registrationId) throw new HubError('invalid_request', `${type} needs a RegistrationId on every line.`);
        return { id: registrationId, input, ifMatch: '*' };
      case 'ImportUpsertRegistrations':
        return registrationId ? { id: registrationId, input } : { input };
      default:
        throw new HubError('invalid_request', `${type} is not an import.`);
    }
  }

  /** One line of an import file: one serialized RegistrationDescription (§11.1). Returns the registration id. */
  private async importLine(hub: HubRecord, type: JobType, line: string): Promise<string> {
    if (line.length > MAX_LINE_CHARS) throw new HubError('invalid_request', `The line is longer than ${MAX_LINE_CHARS} characters.`);
    const { registrationId, input } = this.lines.parse(line);
    const needId = () => {
      if (!registrationId) throw new HubError('invalid_request', `${type} needs a RegistrationId on every line.`);
      return registrationId;
    };
    switch (type) {
      case 'ImportCreateRegistrations':
        return (await this.registry.createRegistration(hub, input)).id;
      case 'ImportUpdateRegistrations':
        return (await this.registry.upsertRegistration(hub, needId(), input, '*')).id;
      case 'ImportUpsertRegistrations':
        return registrationId ? (await this.registry.upsertRegistration(hub, registrationId, input)).id : (await this.registry.createRegistration(hub, input)).id;
      case 'ImportDeleteRegistrations':
        await this.registry.deleteRegistration(hub, needId());
        return registrationId!;
      default:
        throw new HubError('invalid_request', `${type} is not an import.`);
    }
  }
}
