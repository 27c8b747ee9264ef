/**
 * `herald hub rules` (a hub's authorization rules: list, add, regenerate a key, delete) and `herald hub
 * settings` (registration TTL and rate limits), over the management API's rule and hub routes.
 */
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { print } from '../output.ts';
import { run, withClient } from './hub.ts';

interface Common extends ClientOptions {
  json?: boolean;
}

interface RuleView {
  name: string;
  rights: string[];
  primaryKey: string;
  secondaryKey: string;
  createdAt?: string;
}

interface HubView {
  name: string;
  settings: { registrationTtlSeconds?: number | null; sendsPerSecond?: number | null; registrationsPerSecond?: number | null };
}

const RIGHTS = ['Listen', 'Send', 'Manage'] as const;

/** `Listen,Send` (any case) as the API's rights. */
function parseRights(value: string): string[] {
  const rights = value.split(',').map((r) => r.trim()).filter(Boolean);
  const known = rights.map((r) => RIGHTS.find((k) => k.toLowerCase() === r.toLowerCase()));
  const bad = rights.find((_, i) => known[i] === undefined);
  if (rights.length === 0 || bad !== undefined) throw new Error(`--rights must be a comma-separated list of ${RIGHTS.join(', ')}${bad ? `, got "${bad}"` : ''}`);
  return [...new Set(known as string[])];
}

const rulesPath = (hub: string) => `/hubs/${encodeURIComponent(hub)}/rules`;

function describeRule(r: RuleView): string {
  return `${r.name}  ${r.rights.join(', ')}`;
}

export function registerHubRules(hub: Command): void {
  const rules = hub.command('rules').description("a hub's authorization rules (SAS keys): list, add, regenerate, delete");

  withClient(rules.command('list <hub>', { isDefault: true }).description("list the hub's rules and their rights")).action(
    run(async (name: string, o: Common) => {
      const res = await AdminClient.from(o).request<{ rules: RuleView[] }>('GET', rulesPath(name));
      print(o, res, () => res.rules.map(describeRule).join('\n'));
    }),
  );

  withClient(
    rules
      .command('add <hub> <rule>')
      .description('add a rule with fresh keys (at most 12 per hub); prints its connection string')
      .requiredOption('--rights <rights>', 'comma-separated: Listen, Send, Manage (Manage needs the other two)'),
  ).action(
    run(async (name: string, rule: string, o: Common & { rights: string }) => {
      const client = AdminClient.from(o);
      const created = await client.request<RuleView>('POST', rulesPath(name), { name: rule, rights: parseRights(o.rights) });
      const strings = await client.request<{ primary: string }>('GET', `${rulesPath(name)}/${encodeURIComponent(rule)}/connection-strings`);
      print(o, { ...created, connectionString: strings.primary }, () => [`Rule "${created.name}" added to hub "${name}" (${created.rights.join(', ')}).`, `  ${strings.primary}`].join('\n'));
    }),
  );

  withClient(
    rules
      .command('regenerate <hub> <rule>')
      .description('replace the primary (default) or secondary key; tokens signed with the old key stop working at once')
      .option('--secondary', 'replace the secondary key'),
  ).action(
    run(async (name: string, rule: string, o: Common & { secondary?: boolean }) => {
      const key = o.secondary ? 'secondary' : 'primary';
      const client = AdminClient.from(o);
      const updated = await client.request<RuleView>('POST', `${rulesPath(name)}/${encodeURIComponent(rule)}/regenerate`, { key });
      const strings = await client.request<{ primary: string; secondary: string }>('GET', `${rulesPath(name)}/${encodeURIComponent(rule)}/connection-strings`);
      const connectionString = o.secondary ? strings.secondary : strings.primary;
      print(o, { ...updated, regenerated: key, connectionString }, () => [`New ${key} key for rule "${rule}" of hub "${name}".`, `  ${connectionString}`].join('\n'));
    }),
  );

  withClient(rules.command('delete <hub> <rule>').description('delete a rule: its keys stop working at once')).action(
    run(async (name: string, rule: string, o: Common) => {
      await AdminClient.from(o).request('DELETE', `${rulesPath(name)}/${encodeURIComponent(rule)}`);
      print(o, { deleted: rule }, () => `Rule "${rule}" deleted from hub "${name}".`);
    }),
  );
}

/** `never`/`none` (or `off`) as null, else a positive number; the API checks the ranges. */
function settingValue(value: string | undefined, flag: string, empty: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (['never', 'none', 'off'].includes(value.trim().toLowerCase())) return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number or "${empty}", got "${value}"`);
  return n;
}

function describeSettings(h: HubView): string {
  const s = h.settings;
  return [
    `Hub "${h.name}":`,
    `  registration TTL          ${s.registrationTtlSeconds == null ? 'never (registrations do not expire)' : `${s.registrationTtlSeconds} s`}`,
    `  sends per second          ${s.sendsPerSecond == null ? 'no limit' : s.sendsPerSecond}`,
    `  registrations per second  ${s.registrationsPerSecond == null ? 'no limit' : s.registrationsPerSecond}`,
  ].join('\n');
}

export function registerHubSettings(hub: Command): void {
  withClient(
    hub
      .command('settings <hub>')
      .description("show or change a hub's settings: registration TTL and rate limits of the Azure surface")
      .option('--registration-ttl <seconds>', 'registrations expire this long after their last update; "never" to keep them')
      .option('--sends-per-second <n>', 'at most this many sends per second (then 429 with Retry-After); "none" for no limit')
      .option('--registrations-per-second <n>', 'at most this many registration writes per second; "none" for no limit'),
  ).action(
    run(async (name: string, o: Common & { registrationTtl?: string; sendsPerSecond?: string; registrationsPerSecond?: string }) => {
      const settings = Object.fromEntries(
        Object.entries({
          registrationTtlSeconds: settingValue(o.registrationTtl, '--registration-ttl', 'never'),
          sendsPerSecond: settingValue(o.sendsPerSecond, '--sends-per-second', 'none'),
          registrationsPerSecond: settingValue(o.registrationsPerSecond, '--registrations-per-second', 'none'),
        }).filter(([, v]) => v !== undefined),
      );
      const client = AdminClient.from(o);
      const path = `/hubs/${encodeURIComponent(name)}`;
      const changed = Object.keys(settings).length > 0;
      const res = changed ? await client.request<HubView>('PATCH', path, { settings }) : await client.request<HubView>('GET', path);
      print(o, res, () => `${changed ? 'Changed. ' : ''}${describeSettings(res)}`);
    }),
  );
}
