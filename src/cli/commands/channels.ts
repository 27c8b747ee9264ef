/**
 * `herald channels`: APNs broadcast channels of a hub (iOS 18 Live Activities; issue 14 item 2), through the
 * management API's /hubs/{hub}/apns/channels. APNs keeps the channels; Herald passes the requests on with
 * the hub's APNs credentials.
 */
import type { Command } from 'commander';
import { AdminClient, type ClientOptions } from '../admin-client.ts';
import { print } from '../output.ts';
import { run, withClient } from './hub.ts';

interface Common extends ClientOptions {
  json?: boolean;
}

interface BroadcastFlags extends Common {
  payload?: string;
  event?: string;
  contentState?: string;
  staleDate?: string;
  dismissalDate?: string;
  priority?: string;
  expiration?: string;
}

/** `none`/`0`: APNs keeps nothing; `most-recent`/`1`: it keeps the latest message for late subscribers. */
const POLICIES: Readonly<Record<string, 0 | 1>> = { none: 0, '0': 0, 'most-recent': 1, '1': 1 };

function jsonObject(text: string, flag: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${flag} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${flag} must be a JSON object`);
  return v as Record<string, unknown>;
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,12}$/.test(text)) throw new Error(`${flag} must be seconds since 1970, e.g. ${Math.floor(Date.now() / 1000) + 600}`);
  return Number(text);
}

/** The broadcast's APNs payload: `--payload` as given, or one built from `--event` and `--content-state`. */
function broadcastPayload(o: BroadcastFlags): Record<string, unknown> {
  if (o.payload !== undefined) {
    if (o.event !== undefined || o.contentState !== undefined) throw new Error('give either --payload or --event/--content-state, not both');
    return jsonObject(o.payload, '--payload');
  }
  if (o.event !== 'update' && o.event !== 'end') throw new Error('--event must be update or end (or give the whole --payload)');
  const aps: Record<string, unknown> = { event: o.event, timestamp: Math.floor(Date.now() / 1000) };
  if (o.contentState !== undefined) aps['content-state'] = jsonObject(o.contentState, '--content-state');
  const stale = seconds(o.staleDate, '--stale-date');
  const dismissal = seconds(o.dismissalDate, '--dismissal-date');
  if (stale !== undefined) aps['stale-date'] = stale;
  if (dismissal !== undefined) aps['dismissal-date'] = dismissal;
  return { aps };
}

export function registerChannels(program: Command): void {
  const channels = program.command('channels').description("APNs broadcast channels of a hub's app (Live Activities, iOS 18)");
  const base = (hub: string) => `/hubs/${encodeURIComponent(hub)}/apns/channels`;

  withClient(
    channels
      .command('create <hub>')
      .description('create a channel; prints its id')
      .option('--storage <policy>', 'message storage: none (0) or most-recent (1)', 'none'),
  ).action(
    run(async (hub: string, o: Common & { storage: string }) => {
      const policy = POLICIES[o.storage.toLowerCase()];
      if (policy === undefined) throw new Error(`--storage must be none or most-recent (0 or 1), not "${o.storage}"`);
      const res = await AdminClient.from(o).request<{ channelId: string }>('POST', base(hub), { messageStoragePolicy: policy });
      print(o, res, () => res.channelId);
    }),
  );

  withClient(channels.command('list <hub>').description("list the app's channels")).action(
    run(async (hub: string, o: Common) => {
      const res = await AdminClient.from(o).request<{ channels: string[] }>('GET', base(hub));
      print(o, res, () => (res.channels.length === 0 ? 'No channels.' : res.channels.join('\n')));
    }),
  );

  withClient(channels.command('show <hub> <channelId>').description("a channel's message storage policy")).action(
    run(async (hub: string, id: string, o: Common) => {
      const res = await AdminClient.from(o).request<{ channelId: string; messageStoragePolicy: number }>('GET', `${base(hub)}/${encodeURIComponent(id)}`);
      print(o, res, () => `${res.channelId}  storage: ${res.messageStoragePolicy === 1 ? 'most-recent' : 'none'}`);
    }),
  );

  withClient(channels.command('delete <hub> <channelId>').description('delete a channel')).action(
    run(async (hub: string, id: string, o: Common) => {
      await AdminClient.from(o).request('DELETE', `${base(hub)}/${encodeURIComponent(id)}`);
      print(o, { deleted: id }, () => `Channel ${id} deleted.`);
    }),
  );

  withClient(
    channels
      .command('broadcast <hub> <channelId>')
      .description('send a Live Activity update or end to every device subscribed to the channel')
      .option('--payload <json>', 'the whole APNs payload, {"aps":{...}}')
      .option('--event <event>', 'update or end (the payload is built, with timestamp now)')
      .option('--content-state <json>', "the activity's new content state")
      .option('--stale-date <seconds>', 'aps.stale-date')
      .option('--dismissal-date <seconds>', 'aps.dismissal-date (end)')
      .option('--priority <n>', '5 or 10 (default 10)')
      .option('--expiration <seconds>', 'apns-expiration; 0 on a no-storage channel'),
  ).action(
    run(async (hub: string, id: string, o: BroadcastFlags) => {
      const body: Record<string, unknown> = { payload: broadcastPayload(o) };
      if (o.priority !== undefined) {
        if (o.priority !== '5' && o.priority !== '10') throw new Error('--priority must be 5 or 10');
        body.priority = Number(o.priority);
      }
      const expiration = seconds(o.expiration, '--expiration');
      if (expiration !== undefined) body.expiration = expiration;
      const res = await AdminClient.from(o).request<{ channelId: string; requestId?: string }>('POST', `${base(hub)}/${encodeURIComponent(id)}/broadcasts`, body);
      print(o, res, () => `Broadcast on ${res.channelId}${res.requestId ? ` (apns-request-id ${res.requestId})` : ''}.`);
    }),
  );
}
