/**
 * `herald registrations` and `herald installations`: the registry you can see (beyond Azure, which
 * offers only a bulk export), through the management API's queries.
 */
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { fail } from '../output.ts';
import { describePlatforms, platformOf } from '../platforms.ts';

interface QueryFlags extends ClientOptions {
  hub: string;
  tagExpression?: string;
  platform?: string;
  user?: string;
  installation?: string;
  handle?: string;
  updatedSince?: string;
  top?: string;
  all?: boolean;
  json?: boolean;
}

interface Page {
  items: Array<Record<string, unknown>>;
  total?: number;
  continuationToken?: string;
}

function query(o: QueryFlags, kind: 'registrations' | 'installations', token?: string): string {
  const q = new URLSearchParams();
  if (o.tagExpression) q.set('tagExpression', o.tagExpression);
  // The CLI's platform words (ios, android...) as the API's names; the others (gcm, adm, ...) as given.
  if (o.platform) q.set('platform', platformOf(o.platform) ?? o.platform.trim().toLowerCase());
  if (o.user) q.set('userId', o.user);
  if (o.installation && kind === 'registrations') q.set('installationId', o.installation);
  if (o.handle) q.set('handle', o.handle);
  if (o.updatedSince) q.set('updatedSince', o.updatedSince);
  q.set('top', o.top ?? '100');
  if (!token) q.set('count', 'true');
  if (token) q.set('continuationToken', token);
  return `/hubs/${encodeURIComponent(o.hub)}/${kind}?${q.toString()}`;
}

function line(kind: 'registrations' | 'installations', item: Record<string, unknown>): string {
  if (kind === 'registrations') {
    const handle = (item.handle as { value?: string } | undefined)?.value ?? '';
    return [item.registrationId, item.kind, handle.length > 48 ? `${handle.slice(0, 45)}...` : handle, ((item.tags as string[]) ?? []).join(',')].join('  ');
  }
  const channel = typeof item.pushChannel === 'string' ? item.pushChannel : (item.pushChannel as { endpoint?: string } | undefined)?.endpoint ?? '';
  return [item.installationId, item.platform, item.userId ?? '-', channel.length > 48 ? `${channel.slice(0, 45)}...` : channel, ((item.tags as string[]) ?? []).join(',')].join('  ');
}

function register(program: Command, kind: 'registrations' | 'installations'): void {
  const cmd = program
    .command(kind)
    .description(`list a hub's ${kind}, filtered (a tag expression, platform, user, handle, update time)`)
    .requiredOption('--hub <hub>', 'the hub')
    .option('--tag-expression <expr>', "e.g. 'UserId:42 && !Muted'")
    .option('--platform <platform>', `${describePlatforms()}, or gcm, adm, baidu, xiaomi, mpns`)
    .option('--user <id>', 'the installation user id')
    .option('--handle <handle>', 'a PNS handle (APNs token, channel URI, FCM token, Web Push endpoint)')
    .option('--updated-since <time>', 'ISO 8601 date and time')
    .option('--top <n>', 'page size, 1 to 1000', '100')
    .option('--all', 'every page, not only the first')
    .option('--url <url>', 'the hub to query (default: HERALD_URL, or the local hub of --data)')
    .option('--admin-key <key>', 'admin key (default: HERALD_ADMIN_KEY, or <data>/admin.key)')
    .option('--data <dir>', 'data directory of the local hub (default ./data)')
    .option('--json', 'one JSON object per item, one a line');
  if (kind === 'registrations') cmd.option('--installation <id>', "an installation's registrations");
  cmd.action(async (o: QueryFlags) => {
    try {
      const client = AdminClient.from(o);
      let page = await client.request<Page>('GET', query(o, kind));
      if (!o.json) process.stdout.write(`${page.total ?? page.items.length} ${kind} match.\n`);
      for (;;) {
        for (const item of page.items) process.stdout.write(`${o.json ? JSON.stringify(item) : line(kind, item)}\n`);
        if (!o.all || !page.continuationToken) break;
        page = await client.request<Page>('GET', query(o, kind, page.continuationToken));
      }
      if (!o.all && page.continuationToken && !o.json) process.stdout.write('(more: add --all)\n');
    } catch (err) {
      fail(err, o);
    }
  });
}

export function registerRegistry(program: Command): void {
  register(program, 'registrations');
  register(program, 'installations');
}
