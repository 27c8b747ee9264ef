/** `herald <command>`: the command line of the contract (shared/specs/herald-contract.md). */
import { Command } from 'commander';
import { registerHub } from './commands/hub.ts';
import { registerServe } from './commands/serve.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerRegistry } from './commands/registrations.ts';
import { registerEmulators } from './commands/emulators.ts';
import { registerDevice } from './commands/device.ts';
import { registerSend } from './commands/send.ts';
import { registerChannels } from './commands/channels.ts';
import { failUnexpected, reasonOf } from './output.ts';
import { describePlatforms } from './platforms.ts';
import { HERALD_VERSION } from '../shared/version.ts';

// Every failure is one line (docs/cli.md); HERALD_DEBUG=1 shows the stack of an unexpected one.
process.on('uncaughtException', failUnexpected);
process.on('unhandledRejection', failUnexpected);
// A reader that stops early (`herald download ... | head -1`) is not an error: stop writing, exit 0.
process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? process.exit(0) : failUnexpected(err)));

const program = new Command();
program
  .name('herald')
  .description('Herald: a self-hosted push notification hub, wire-compatible with Azure Notification Hubs')
  .version(HERALD_VERSION, '-V, --version', 'print the version')
  .configureOutput({
    // Commander's usage errors, as one line like every other failure.
    outputError: (text, write) => write(`herald: ${reasonOf(new Error(text.replace(/^error: /, '')))} (add --help for usage)\n`),
  })
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1))
  .addHelpText(
    'after',
    [
      '',
      `Platforms: ${describePlatforms()}.`,
      'Exit status: 0 all succeeded; 1 failed (one line on stderr); 2 ran, but not all succeeded;',
      '3 stopped waiting, the work goes on in the hub; 130 interrupted. See docs/cli.md.',
    ].join('\n'),
  );

registerServe(program);
registerHub(program);
registerJobs(program);
registerRegistry(program);
registerEmulators(program);
registerDevice(program);
registerSend(program);
registerChannels(program);

await program.parseAsync(process.argv);
