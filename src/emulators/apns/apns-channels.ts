/**
 * APNs broadcast channels (iOS 18; pns-protocols.md §2.9; Apple, "Sending channel management requests to
 * APNs" and "Sending broadcast push notification requests to APNs"):
 *
 *   POST   /1/apps/{bundleId}/channels       {"message-storage-policy":0|1,"push-type":"LiveActivity"} → 201 + apns-channel-id
 *   GET    /1/apps/{bundleId}/channels       apns-channel-id → 200 {"message-storage-policy","push-type"}
 *   GET    /1/apps/{bundleId}/all-channels   → 200 {"channels":[...]}
 *   DELETE /1/apps/{bundleId}/channels       apns-channel-id → 204
 *   POST   /4/broadcasts/apps/{bundleId}     apns-channel-id + a Live Activity payload → 200, to every subscriber
 *
 * Apple serves management on its own host and port (api-manage-broadcast[.sandbox].push.apple.com, 2196 and
 * 2195); the emulator serves both on its one listener. Every answer carries `apns-request-id`. At most 10,000
 * channels per app and environment (an emulator listener is one environment).
 *
 * The state is plain data the emulator owns (`ChannelState`), so it can be saved and loaded as it is.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { json } from '../shared/emulator-core.ts';
import type { EmulatorCore } from '../shared/emulator-core.ts';
import { ControlPlaneError } from '../shared/control-plane.ts';
import type { Exchange, Reply } from '../shared/server.ts';
import { payloadProblem, type ApnsTokenKind } from './apns-push-types.ts';

/** Apple: "You can create up to 10,000 channels per app and environment" (UNCONFIRMED wording, the number is Apple's). */
export const MAX_CHANNELS_PER_APP = 10_000;

/**
 * Reasons of channel management and broadcast answers. Apple's table names them; the statuses of
 * ChannelNotRegistered and CannotCreateChannelConfig are UNCONFIRMED (400 like the rest of the table).
 */
export const CHANNEL_REASONS = {
  BadChannelId: 400,
  MissingChannelId: 400,
  ChannelNotRegistered: 400,
  CannotCreateChannelConfig: 400, // the app has its 10,000 channels
  InvalidPolicy: 400, // message-storage-policy not 0 or 1
  InvalidPushType: 400,
  BadPriority: 400,
  BadExpirationDate: 400,
  BadPayload: 400,
  PayloadEmpty: 400,
  PayloadTooLarge: 413,
  TopicMismatch: 400, // the credentials may not push to this bundle id
  BadPath: 404,
  MethodNotAllowed: 405,
} as const;
export type ChannelReason = keyof typeof CHANNEL_REASONS;

export interface ChannelRecord {
  bundleId: string;
  channelId: string;
  /** 0: no storage; 1: APNs keeps the most recent message for devices that subscribe or come online later. */
  messageStoragePolicy: 0 | 1;
  createdAt: number;
  /** Device keys (tokens) subscribed, in order. */
  subscribers: string[];
  /** The most recent broadcast, kept when the policy is 1. */
  lastMessage?: { headers: Record<string, string>; payload: string };
}

export interface ChannelState {
  /** By channel id. */
  channels: Record<string, ChannelRecord>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PAYLOAD = 4096;

export function isChannelPath(path: string): boolean {
  return path.startsWith('/1/apps/') || path.startsWith('/4/broadcasts/');
}

function headerOf(ex: Exchange, name: string): string | undefined {
  const v = ex.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export class ApnsChannels {
  readonly state: ChannelState = { channels: Object.create(null) as Record<string, ChannelRecord> };

  constructor(
    private readonly core: EmulatorCore<{ kind: ApnsTokenKind }>,
    private readonly maxPerApp = MAX_CHANNELS_PER_APP,
  ) {}

  /** A management or broadcast request of an authenticated sender that may push to `allowedTopics` (undefined: any). */
  handle(ex: Exchange, allowedTopics: readonly string[] | undefined): Reply {
    const given = headerOf(ex, 'apns-request-id');
    const requestId = given !== undefined && UUID.test(given) ? given : randomUUID();
    const fail = (reason: ChannelReason, detail?: string): Reply =>
      json(CHANNEL_REASONS[reason], { reason, ...(detail ? { detail } : {}) }, { 'apns-request-id': requestId });

    const m = /^\/1\/apps\/([^/]+)\/(channels|all-channels)$/.exec(ex.path) ?? /^\/4\/broadcasts\/apps\/([^/]+)()$/.exec(ex.path);
    if (!m) return fail('BadPath');
    const bundleId = decodeURIComponent(m[1]!);
    if (allowedTopics && !allowedTopics.includes(bundleId)) return fail('TopicMismatch');
    const ok = (status: number, extra: Record<string, string> = {}, body?: unknown): Reply =>
      body === undefined ? { status, headers: { 'apns-request-id': requestId, ...extra } } : json(status, body, { 'apns-request-id': requestId, ...extra });

    const channelOf = (): ChannelRecord | ChannelReason => {
      const id = headerOf(ex, 'apns-channel-id');
      if (id === undefined || id === '') return 'MissingChannelId';
      if (!BASE64.test(id)) return 'BadChannelId';
      const c = this.state.channels[id];
      return c && c.bundleId === bundleId ? c : 'ChannelNotRegistered';
    };

    if (m[2] === 'all-channels') {
      if (ex.method !== 'GET') return fail('MethodNotAllowed');
      return ok(200, {}, { channels: Object.values(this.state.channels).filter((c) => c.bundleId === bundleId).map((c) => c.channelId) });
    }
    if (m[2] === 'channels') {
      if (ex.method === 'POST') return this.create(ex, bundleId, fail, ok);
      if (ex.method !== 'GET' && ex.method !== 'DELETE') return fail('MethodNotAllowed');
      const c = channelOf();
      if (typeof c === 'string') return fail(c);
      if (ex.method === 'DELETE') {
        delete this.state.channels[c.channelId];
        this.core.saveState();
        return ok(204);
      }
      return ok(200, {}, { 'message-storage-policy': c.messageStoragePolicy, 'push-type': 'LiveActivity' });
    }
    // A broadcast.
    if (ex.method !== 'POST') return fail('MethodNotAllowed');
    const c = channelOf();
    if (typeof c === 'string') return fail(c);
    const pushType = headerOf(ex, 'apns-push-type');
    if (pushType !== undefined && pushType !== 'liveactivity') return fail('InvalidPushType', 'channels carry Live Activity pushes only');
    const priority = headerOf(ex, 'apns-priority');
    if (priority !== undefined && priority !== '5' && priority !== '10') return fail('BadPriority');
    const expiration = headerOf(ex, 'apns-expiration');
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return fail('BadExpirationDate');
    // A channel that stores nothing cannot hold a message for later.
    if (c.messageStoragePolicy === 0 && expiration !== undefined && expiration !== '0') return fail('BadExpirationDate', 'a no-storage channel takes apns-expiration 0');
    if (ex.body.length === 0) return fail('PayloadEmpty');
    if (ex.body.length > MAX_PAYLOAD) return fail('PayloadTooLarge');
    let parsed: unknown;
    try {
      parsed = JSON.parse(ex.body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    // Broadcasts update and end activities that subscribed; starting one goes to a push-to-start token.
    const problem = payloadProblem('liveactivity', parsed, 'liveactivity');
    if (problem) return fail('BadPayload', problem);

    const overrides = { 'apns-request-id': requestId, 'apns-channel-id': c.channelId };
    for (const key of c.subscribers) {
      const device = this.core.registry.find(key);
      if (device && !this.core.registry.isExpired(device)) this.core.deliveries.record(key, ex.headers, ex.body, overrides);
    }
    if (c.messageStoragePolicy === 1) {
      c.lastMessage = { headers: { ...(stringHeaders(ex)), ...overrides }, payload: ex.body.toString('utf8') };
      this.core.saveState();
    }
    return ok(200, { 'apns-unique-id': randomUUID() });
  }

  private create(ex: Exchange, bundleId: string, fail: (r: ChannelReason, d?: string) => Reply, ok: (s: number, h?: Record<string, string>) => Reply): Reply {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(ex.body.toString('utf8') || '{}');
      body = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return fail('BadPayload', 'the body is not JSON');
    }
    const policy = body['message-storage-policy'];
    if (policy !== 0 && policy !== 1) return fail('InvalidPolicy', 'message-storage-policy is 0 (no storage) or 1 (most recent message)');
    const type = body['push-type'];
    if (typeof type !== 'string' || type.toLowerCase() !== 'liveactivity') return fail('InvalidPushType', 'push-type is LiveActivity');
    let count = 0;
    for (const id in this.state.channels) if (this.state.channels[id]!.bundleId === bundleId) count++;
    if (count >= this.maxPerApp) return fail('CannotCreateChannelConfig', `an app has at most ${this.maxPerApp} channels per environment`);
    const channelId = randomBytes(16).toString('base64');
    this.state.channels[channelId] = { bundleId, channelId, messageStoragePolicy: policy, createdAt: this.core.clock.now(), subscribers: [] };
    this.core.saveState();
    return ok(201, { 'apns-channel-id': channelId });
  }

  /** Control plane: a simulated device's Live Activity subscribes to a channel (ActivityKit `.channel(id)`). */
  subscribe(channelId: string, handle: string): { channelId: string; handle: string; storedMessageDelivered: boolean } {
    const c = this.state.channels[channelId];
    if (!c) throw new ControlPlaneError(404, 'unknown channel');
    const device = this.core.registry.find(handle);
    if (!device) throw new ControlPlaneError(404, 'unknown handle');
    if (device.app.topic !== c.bundleId) throw new ControlPlaneError(400, `the device belongs to ${device.app.topic ?? 'another app'}, the channel to ${c.bundleId}`);
    if (!c.subscribers.includes(device.key)) {
      c.subscribers.push(device.key);
      this.core.saveState();
    }
    // Policy 1: a device that subscribes late gets the most recent message.
    if (c.lastMessage) this.core.deliveries.record(device.key, c.lastMessage.headers, Buffer.from(c.lastMessage.payload));
    return { channelId, handle: device.handle, storedMessageDelivered: c.lastMessage !== undefined };
  }

  list(): Array<Omit<ChannelRecord, 'lastMessage'>> {
    return Object.values(this.state.channels).map(({ lastMessage: _l, ...c }) => ({ ...c, subscribers: [...c.subscribers] }));
  }
}

function stringHeaders(ex: Exchange): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ex.headers)) if (typeof v === 'string' && !k.startsWith(':') && k !== 'authorization') out[k] = v;
  return out;
}
