/**
 * APNs broadcast channels as the management API and CLI use them (issue 14 item 2): the contract the APNs
 * connector implements, so api/ never imports a concrete connector (house style: only main.ts does).
 * Every call answers APNs's own status and reason as data; only a request that never got an answer is
 * `{ ok: false }`.
 */
import type { PnsCredentials } from '../hubs/credentials.ts';

/** Apple: 0 keeps nothing, 1 keeps the most recent message for devices that are offline or subscribe later. */
export type MessageStoragePolicy = 0 | 1;

export type ChannelAnswer =
  | { ok: true; status: number; requestId?: string; channelId?: string; body: Record<string, unknown> | undefined; reason?: string }
  | { ok: false; error: string };

export interface BroadcastChannels {
  createChannel(c: PnsCredentials, policy: MessageStoragePolicy): Promise<ChannelAnswer>;
  readChannel(c: PnsCredentials, channelId: string): Promise<ChannelAnswer>;
  listChannels(c: PnsCredentials): Promise<ChannelAnswer>;
  deleteChannel(c: PnsCredentials, channelId: string): Promise<ChannelAnswer>;
  /** `POST /4/broadcasts/apps/{bundleId}` with `apns-channel-id`; the payload is a Live Activity update or end. */
  broadcast(c: PnsCredentials, channelId: string, payload: Buffer, headers: Record<string, string>): Promise<ChannelAnswer>;
}
