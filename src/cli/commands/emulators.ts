import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { fail } from '../output.ts';

interface EmulatorOptions {
  data?: string;
  host?: string;
  apnsPort?: string;
  fcmPort?: string;
  wnsPort?: string;
  webpushPort?: string;
  admPort?: string;
  json?: boolean;
}

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number (0 to 65535)`);
  return n;
}

export function registerEmulators(program: Command): void {
  program
    .command('emulators')
    .description('run the local PNS emulators alone (APNs, FCM v1, WNS, Web Push, ADM), with the development CA of --data')
    .option('--data <dir>', 'data directory whose tls/ holds the development CA (default ./data, or HERALD_DATA)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--apns-port <n>', 'APNs port (default: any free port)')
    .option('--fcm-port <n>', 'FCM v1 port')
    .option('--wns-port <n>', 'WNS port')
    .option('--webpush-port <n>', 'Web Push port')
    .option('--adm-port <n>', 'ADM (Kindle) port')
    .option('--json', 'print the URLs as one JSON line')
    .action(async (o: EmulatorOptions) => {
      try {
        const [{ startEmulators }, { ensureDevCa }] = await Promise.all([import('../../emulators/index.ts'), import('../../tls/dev-ca.ts')]);
        const data = resolve(o.data ?? process.env.HERALD_DATA ?? './data');
        const ca = await ensureDevCa(join(data, 'tls'), ['localhost', '127.0.0.1', '::1', o.host ?? '127.0.0.1']);
        const ports = {
          apns: port(o.apnsPort, '--apns-port'),
          fcmv1: port(o.fcmPort, '--fcm-port'),
          wns: port(o.wnsPort, '--wns-port'),
          browser: port(o.webpushPort, '--webpush-port'),
          adm: port(o.admPort, '--adm-port'),
        };
        const running = await startEmulators({
          host: o.host ?? '127.0.0.1',
          tls: { cert: ca.cert, key: ca.key },
          ports: Object.fromEntries(Object.entries(ports).filter(([, v]) => v !== undefined)),
        });
        // Like `serve --json`: one line, so a script can read it while the process keeps running.
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ emulators: running.urls, caCertPath: ca.caCertPath })}\n`
            : `${[
                'PNS emulators are running (control plane under <url>/_emulator/):',
                ...Object.entries(running.urls).map(([p, u]) => `  ${p.padEnd(8)}${u}`),
                '',
                `Clients trust them with NODE_EXTRA_CA_CERTS=${ca.caCertPath}. Stop with Ctrl+C.`,
              ].join('\n')}\n`,
        );
        const stop = () => running.close().then(() => process.exit(0), () => process.exit(1));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (err) {
        fail(err, { json: o.json === true });
      }
    });
}
