import type { Command } from 'commander';
import type { RunningHerald } from '../../main.ts';
import { fail, onUnexpected } from '../output.ts';

interface ServeOptions {
  data?: string;
  port?: string;
  tlsPort?: string;
  host?: string;
  sandbox?: boolean;
  config?: string;
  store?: string;
  json?: boolean;
}

async function banner(h: RunningHerald, sandbox: boolean, json: boolean, sandboxHub: string): Promise<string> {
  const strings = sandbox ? await h.connectionStrings(sandboxHub) : undefined;
  if (json) {
    return JSON.stringify({ httpUrl: h.httpUrl, httpsUrl: h.httpsUrl, dataDir: h.dataDir, caCertPath: h.caCertPath, emulators: h.emulatorUrls, ...(strings ? { hub: sandboxHub, connectionStrings: strings } : {}) });
  }
  const lines = [`Herald is running${sandbox ? ' in sandbox mode' : ''}.`];
  if (h.httpsUrl) lines.push(`  Azure endpoint (HTTPS)  ${h.httpsUrl}/`);
  if (h.httpUrl) lines.push(`  Plain HTTP              ${h.httpUrl}/`);
  lines.push(`  Data directory          ${h.dataDir}`);
  if (strings) {
    lines.push('', `Hub "${sandboxHub}" connection strings:`, `  Full    ${strings.full}`, `  Listen  ${strings.listen}`);
  }
  if (h.emulatorUrls) {
    lines.push('', 'PNS emulators (control plane under <url>/_emulator/):', ...Object.entries(h.emulatorUrls).map(([p, u]) => `  ${p.padEnd(8)}${u}`));
  }
  if (h.caCertPath) {
    lines.push('', 'A Node client trusts this hub with:', `  export NODE_EXTRA_CA_CERTS=${h.caCertPath}`);
  }
  lines.push('', 'Manage hubs with "npx herald hub --help". Stop with Ctrl+C.', '');
  return lines.join('\n');
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the hub (npm start = herald serve --sandbox)')
    .option('--data <dir>', 'data directory (default ./data, or HERALD_DATA)')
    .option('--port <n>', 'plain HTTP port (default 8080, or HERALD_PORT)')
    .option('--tls-port <n>', 'HTTPS port, the one in connection strings (default 8443, or HERALD_TLS_PORT)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--sandbox', 'ensure a hub named "sandbox" exists and print its connection strings')
    .option('--config <file>', 'YAML configuration file (or HERALD_CONFIG)')
    .option('--store <url>', 'postgres://user:password@host:port/db: a shared PostgreSQL store (or HERALD_STORE); default: embedded SQLite in the data directory')
    .option('--json', 'print the start-up facts as one JSON line')
    .action(async (opts: ServeOptions) => {
      let herald: RunningHerald;
      let started: string;
      try {
        // Loaded here, not at the top: every other command starts without the hub's code (fastify, the stores...).
        const [{ loadConfig }, { SANDBOX_HUB, startHerald }] = await Promise.all([import('../../config/load.ts'), import('../../main.ts')]);
        const config = loadConfig({
          file: opts.config ?? process.env.HERALD_CONFIG,
          env: process.env,
          flags: {
            'data.dir': opts.data,
            'server.port': opts.port,
            'server.tlsPort': opts.tlsPort,
            'server.host': opts.host,
            sandbox: opts.sandbox,
            'store.url': opts.store,
          },
        });
        herald = await startHerald(config);
        started = await banner(herald, config.sandbox, opts.json === true, SANDBOX_HUB);
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
        if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
          fail(new Error(`cannot listen on ${e.address ?? ''}:${e.port ?? ''}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}`));
        }
        fail(err);
      }
      let signals = 0;
      const stop = (signal: string) => {
        signals += 1;
        if (signals > 1) {
          herald.logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        herald.logger.info({ signal }, 'signal received');
        herald.close().then(
          () => process.exit(0),
          (err) => {
            herald.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      onUnexpected((err) => herald.logger.fatal({ err }, 'unexpected error: exiting'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      // Printed once the signals are handled: a supervisor may stop Herald as soon as it sees the banner.
      process.stdout.write(`${started}\n`);
    });
}
