/** How every command answers: text for people, `--json` for scripts, one-line reasons on failure. */
import { HubError } from '../shared/errors.ts';

export interface OutputOptions {
  json?: boolean;
}

/** Exit statuses, the same for every command (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The command failed: bad input, the hub refused it or could not be reached. One line on stderr. */
  failed: 1,
  /** The work ran but not all of it succeeded: a send not delivered to every device, import lines that failed, a failed job. */
  notAllSucceeded: 2,
  /** Stopped waiting (--wait-seconds) while the work goes on in the hub. */
  stillRunning: 3,
  /** Interrupted (Ctrl+C): 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;

export function print(opts: OutputOptions, data: unknown, text: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

/** The one line a failure shows: the message's first line, whatever threw it. */
export function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim() || (err instanceof Error ? err.name : 'unknown error');
}

/** Prints `herald: <reason>` (or a JSON error) and exits non-zero. */
export function fail(err: unknown, opts: OutputOptions = {}, code: number = EXIT.failed): never {
  const errorCode = err instanceof HubError ? err.code : 'error';
  const message = reasonOf(err);
  if (opts.json) process.stderr.write(`${JSON.stringify({ error: { code: errorCode, message } })}\n`);
  else process.stderr.write(`herald: ${message}\n`);
  process.exit(code);
}

/** Who else hears of an unexpected error before the one line: `serve` logs it with its stack. */
let unexpectedListener: ((err: unknown) => void) | undefined;
export function onUnexpected(listener: (err: unknown) => void): void {
  unexpectedListener = listener;
}

/** An error nothing caught: one line (HERALD_DEBUG=1 adds the stack), exit 1. */
export function failUnexpected(err: unknown): never {
  unexpectedListener?.(err);
  if (process.env.HERALD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  fail(err);
}
