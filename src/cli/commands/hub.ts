import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { fail, print } from '../output.ts';
import { describePlatforms, requirePlatform } from '../platforms.ts';
import { registerHubRules, registerHubSettings } from './hub-manage.ts';

interface Common extends ClientOptions {
  json?: boolean;
}

interface HubView {
  name: string;
  createdAt: string;
}

interface CredentialView {
  platform: string;
  endpoint: string | null;
  summary: Record<string, string>;
  updatedAt: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readText(path, what));
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Options common to every command that talks to a running hub. */
export function withClient(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'the hub to manage (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
    .option('--data <dir>', 'data directory of the local hub (default ./data)')
    .option('--json', 'machine-readable output');
}

export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    const opts = args.find((a): a is Common => typeof a === 'object' && a !== null && !Array.isArray(a) && !('commands' in a)) ?? {};
    try {
      await fn(...args);
    } catch (err) {
      fail(err, opts);
    }
  };
}

interface CredentialFlags extends Common {
  platform?: string;
  file?: string;
  endpoint?: string;
  environment?: string;
  keyId?: string;
  teamId?: string;
  bundleId?: string;
  keyFile?: string;
  certificateFile?: string;
  privateKeyFile?: string;
  serviceAccount?: string;
  clientId?: string;
  clientSecret?: string;
  tenantId?: string;
  subject?: string;
  publicKey?: string;
  privateKey?: string;
  delete?: boolean;
}

/** Turns the flags into the management API's credentials body (docs/configuration.md lists them). */
function credentialsBody(platform: string, o: CredentialFlags): Record<string, unknown> | undefined {
  const body: Record<string, unknown> = o.file ? (readJson(o.file, 'credentials file') as Record<string, unknown>) : {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) body[key] = value;
  };
  set('endpoint', o.endpoint);
  switch (platform) {
    case 'apns':
      if (o.keyFile || o.keyId) body.auth ??= 'token';
      if (o.certificateFile) body.auth ??= 'certificate';
      set('environment', o.environment);
      set('keyId', o.keyId);
      set('teamId', o.teamId);
      set('bundleId', o.bundleId);
      set('key', o.keyFile && readText(o.keyFile, 'APNs key file'));
      set('certificate', o.certificateFile && readText(o.certificateFile, 'APNs certificate file'));
      set('privateKey', o.privateKeyFile && readText(o.privateKeyFile, 'APNs private key file'));
      break;
    case 'fcmv1':
      set('serviceAccount', o.serviceAccount && readJson(o.serviceAccount, 'service-account file'));
      break;
    case 'wns':
      set('clientId', o.clientId);
      set('clientSecret', o.clientSecret);
      set('tenantId', o.tenantId);
      break;
    case 'adm':
      set('clientId', o.clientId);
      set('clientSecret', o.clientSecret);
      break;
    case 'browser':
      set('subject', o.subject);
      set('publicKey', o.publicKey);
      set('privateKey', o.privateKey);
      break;
  }
  return Object.keys(body).length === 0 ? undefined : body;
}

function describeCredential(c: CredentialView): string {
  const facts = Object.entries(c.summary).map(([k, v]) => `${k}=${v}`);
  return `${c.platform}  ${facts.join('  ')}${c.endpoint ? `  endpoint=${c.endpoint}` : ''}  (updated ${c.updatedAt})`;
}

export function registerHub(program: Command): void {
  const hub = program.command('hub').description('create, list and delete hubs; connection strings; PNS credentials; rules; settings');

  withClient(hub.command('create <name>').description('create a hub with the two default rules and fresh keys')).action(
    run(async (name: string, o: Common) => {
      const res = await AdminClient.from(o).request<{ hub: HubView; connectionStrings: { full: string; listen: string } }>('POST', '/hubs', { name });
      print(o, res, () => [`Hub "${res.hub.name}" created.`, `  Full    ${res.connectionStrings.full}`, `  Listen  ${res.connectionStrings.listen}`].join('\n'));
    }),
  );

  withClient(hub.command('list').description('list the hubs')).action(
    run(async (o: Common) => {
      const res = await AdminClient.from(o).request<{ hubs: HubView[] }>('GET', '/hubs');
      print(o, res, () => (res.hubs.length === 0 ? 'No hubs.' : res.hubs.map((h) => `${h.name}  (created ${h.createdAt})`).join('\n')));
    }),
  );

  withClient(hub.command('delete <name>').description('delete a hub with its rules and credentials')).action(
    run(async (name: string, o: Common) => {
      await AdminClient.from(o).request('DELETE', `/hubs/${encodeURIComponent(name)}`);
      print(o, { deleted: name }, () => `Hub "${name}" deleted.`);
    }),
  );

  withClient(
    hub
      .command('connection-string <name>')
      .description('print an Azure-format connection string for the hub')
      .option('--rule <rule>', 'authorization rule', 'DefaultFullSharedAccessSignature')
      .option('--secondary', 'use the secondary key'),
  ).action(
    run(async (name: string, o: Common & { rule: string; secondary?: boolean }) => {
      const res = await AdminClient.from(o).request<{ rule: string; primary: string; secondary: string }>(
        'GET',
        `/hubs/${encodeURIComponent(name)}/rules/${encodeURIComponent(o.rule)}/connection-strings`,
      );
      const chosen = o.secondary ? res.secondary : res.primary;
      print(o, { hub: name, rule: res.rule, connectionString: chosen }, () => chosen);
    }),
  );

  withClient(
    hub
      .command('credentials <name>')
      .description("show or set a hub's PNS credentials (without --platform: list them)")
      .option('--platform <platform>', describePlatforms())
      .option('--file <json>', 'the whole credentials object as a JSON file')
      .option('--endpoint <url>', 'send to this URL instead of the vendor (an emulator, a test server)')
      .option('--environment <env>', 'apns: production | development')
      .option('--key-id <id>', 'apns token auth: the key id')
      .option('--team-id <id>', 'apns token auth: the team id')
      .option('--bundle-id <id>', 'apns token auth: the app bundle id (the topic)')
      .option('--key-file <p8>', 'apns token auth: the .p8 signing key')
      .option('--certificate-file <pem>', 'apns certificate auth: the certificate')
      .option('--private-key-file <pem>', 'apns certificate auth: its private key')
      .option('--service-account <json>', 'fcmv1: the service-account JSON file')
      .option('--client-id <id>', 'wns: client (package) id; adm: security profile client id')
      .option('--client-secret <secret>', 'wns, adm: client secret')
      .option('--tenant-id <id>', 'wns: Microsoft Entra tenant (the client-credentials flow)')
      .option('--subject <contact>', 'browser: VAPID subject (mailto: or https:)')
      .option('--public-key <b64url>', 'browser: VAPID public key')
      .option('--private-key <b64url>', 'browser: VAPID private key')
      .option('--delete', "remove the platform's credentials"),
  ).action(
    run(async (name: string, o: CredentialFlags) => {
      const client = AdminClient.from(o);
      const base = `/hubs/${encodeURIComponent(name)}/credentials`;
      if (!o.platform) {
        const res = await client.request<{ credentials: CredentialView[] }>('GET', base);
        print(o, res, () => (res.credentials.length === 0 ? `Hub "${name}" has no PNS credentials.` : res.credentials.map(describeCredential).join('\n')));
        return;
      }
      const platform = requirePlatform(o.platform, '--platform');
      const path = `${base}/${encodeURIComponent(platform)}`;
      if (o.delete) {
        await client.request('DELETE', path);
        print(o, { deleted: platform }, () => `Removed the ${platform} credentials of hub "${name}".`);
        return;
      }
      const body = credentialsBody(platform, o);
      const res = await client.request<CredentialView>(body ? 'PUT' : 'GET', path, body);
      print(o, res, () => (body ? `Set: ${describeCredential(res)}` : describeCredential(res)));
    }),
  );

  registerHubRules(hub);
  registerHubSettings(hub);
}
