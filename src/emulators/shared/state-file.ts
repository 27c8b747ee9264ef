/**
 * What an emulator keeps across a restart (issue 12 item 5): one JSON file per emulator in the data
 * directory, made of named sections. The shared core keeps `devices`; each emulator adds what only it
 * knows (`credentials`: the keys it minted, so sender credentials handed out before keep working) with
 * `section()`. The sandbox adds `port`. Deliveries, faults and stats are not kept: they describe one run.
 *
 * Without a path the state lives in memory only (tests, `herald emulators` without --data).
 * Writes replace the file atomically (write, then rename), so a crash mid-write leaves the old state.
 * A change is written within SAVE_DELAY_MS (a burst of mints is one write, not one per device: each write
 * is the whole file), and at once by `flush()`, which the emulators' close calls; a crash can lose the
 * last second of mints. The file holds private keys: it is written 0600.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../../shared/clock.ts';

/** How long a change may wait before it is written (see above). */
export const SAVE_DELAY_MS = 1000;

export interface StateSection {
  /** The section as JSON-able data; called at every save. */
  save(): unknown;
  /** Called once, when the section is registered and the file had it. */
  load(data: unknown): void;
}

/** The state file's own format, so a later format can be told apart. */
const FORMAT = 1;

export class EmulatorState {
  private readonly sections = new Map<string, StateSection>();
  private readonly values = new Map<string, unknown>();
  private readonly saved: Record<string, unknown>;
  private pending: TimerHandle | undefined;

  constructor(
    readonly path: string | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    this.saved = path === undefined ? {} : readState(path);
  }

  /** Something changed: written within SAVE_DELAY_MS (a no-op without a path). */
  changed(): void {
    if (this.path === undefined || this.pending !== undefined) return;
    this.pending = this.clock.setTimeout(() => {
      this.pending = undefined;
      this.save();
    }, SAVE_DELAY_MS);
    // A pending write must not keep a process alive that is otherwise done; close() flushes it.
    this.pending.unref();
  }

  /** Writes a pending change now. */
  flush(): void {
    if (this.pending === undefined) return;
    this.clock.clearTimer(this.pending);
    this.pending = undefined;
    this.save();
  }

  /** Registers a section; loads what the file had for it, if anything. */
  section(name: string, section: StateSection): void {
    this.sections.set(name, section);
    const data = this.saved[name];
    if (data === undefined) return;
    try {
      section.load(data);
    } catch (err) {
      throw new Error(`emulator state file ${this.path}: section ${name} is damaged (${(err as Error).message}); move the file away to start this emulator empty`);
    }
  }

  /** A plain value kept in the file (the port the emulator listened on). */
  get(name: string): unknown {
    return this.values.has(name) ? this.values.get(name) : this.saved[name];
  }

  set(name: string, value: unknown): void {
    this.values.set(name, value);
  }

  /** Writes every section and value now (a no-op without a path). */
  save(): void {
    if (this.path === undefined) return;
    const doc: Record<string, unknown> = { ...this.saved, format: FORMAT };
    for (const [name, value] of this.values) doc[name] = value;
    for (const [name, section] of this.sections) doc[name] = section.save();
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function readState(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`emulator state file ${path} cannot be read (${(err as Error).message}); move it away to start this emulator empty`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`emulator state file ${path} does not hold a JSON object; move it away to start this emulator empty`);
  const format = (doc as Record<string, unknown>).format;
  if (format !== FORMAT) throw new Error(`emulator state file ${path} has format ${String(format)}, this Herald reads format ${FORMAT}`);
  return doc as Record<string, unknown>;
}

/** Turns a device's platform facts into JSON and back (identity for facts that are JSON already). */
export interface DeviceCodec<E> {
  encode(extra: E): unknown;
  decode(data: unknown): E;
}

export function jsonCodec<E>(): DeviceCodec<E> {
  return { encode: (e) => e, decode: (d) => d as E };
}
