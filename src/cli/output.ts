/** How every command answers: text for people, `--json` for scripts, one-line reasons on failure. */
import { HubError } from '../shared/errors.ts';

export interface OutputOptions {
  json?: boolean;
}

export function print(opts: OutputOptions, data: unknown, text: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

/** Prints `herald: <reason>` (or a JSON error) and exits non-zero. */
export function fail(err: unknown, opts: OutputOptions = {}): never {
  const code = err instanceof HubError ? err.code : 'error';
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`herald: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
