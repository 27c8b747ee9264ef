/** `herald <command>`: the command line of the contract (shared/specs/herald-contract.md). */
import { Command } from 'commander';
import { registerHub } from './commands/hub.ts';
import { registerServe } from './commands/serve.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerRegistry } from './commands/registrations.ts';
import { registerEmulators } from './commands/emulators.ts';
import { registerDevice } from './commands/device.ts';
import { registerSend } from './commands/send.ts';
import { HERALD_VERSION } from '../shared/version.ts';

const program = new Command();
program
  .name('herald')
  .description('Herald: a self-hosted push notification hub, wire-compatible with Azure Notification Hubs')
  .version(HERALD_VERSION, '-V, --version', 'print the version')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

registerServe(program);
registerHub(program);
registerJobs(program);
registerRegistry(program);
registerEmulators(program);
registerDevice(program);
registerSend(program);

await program.parseAsync(process.argv);
