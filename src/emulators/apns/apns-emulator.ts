/**
 * A local APNs provider API (pns-protocols.md §2): HTTP/2 over TLS, `POST /3/device/{token}`, provider-token
 * and certificate auth, Apple's status/reason pairs, and the control plane of herald-contract.md.
 *
 * Deviation: the listener also accepts HTTP/1.1 so the control plane is reachable with any client; the
 * provider API itself answers HTTP/1.1 requests with 505 (real APNs does not negotiate HTTP/1.1 at all).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { ControlPlaneError, optionalString } from '../shared/control-plane.ts';
import { ApnsChannels, isChannelPath, MAX_CHANNELS_PER_APP, type ChannelState } from './apns-channels.ts';
import { EmulatorCore, emulatorHandler, json } from '../shared/emulator-core.ts';
import { startServer, type Exchange, type Reply, type TlsOptions } from '../shared/server.ts';
import { ApnsCredentials, type ApnsEnvironment, type AuthResult, type ConnectionAuth } from './apns-auth.ts';
import { APNS_REASONS, DEFAULT_FAULT_REASON, PUSH_TYPE_TOPIC_SUFFIX, type ApnsReason } from './apns-errors.ts';
import type { Clock } from '../../shared/clock.ts';
import { CERTIFICATE_ONLY, payloadProblem, PRIORITIES, TOKEN_AUTH_ONLY, TOKEN_KINDS, tokenFitsPushType, type ApnsTokenKind } from './apns-push-types.ts';
import type { EmulatorState } from '../shared/state-file.ts';

export interface ApnsEmulatorOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  /** The personality of this listener (§2.10.1): sandbox adds `apns-unique-id`; default sandbox. */
  environment?: ApnsEnvironment;
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS before the first successful token-auth push (§2.1); default 1. A client
   * that opens more streams before it has seen this setting gets them refused (RST_STREAM REFUSED_STREAM).
   */
  initialMaxConcurrentStreams?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS afterwards, and for certificate connections; default 1000. */
  maxConcurrentStreams?: number;
  /** Keep devices and minted credentials across restarts (the sandbox's data directory). */
  state?: EmulatorState;
  /** The emulator's time: token checks, 410 timestamps and fault latencies (a test can hold answers). */
  clock?: Clock;
  /** Broadcast channels an app may have in this environment; default Apple's 10,000. */
  maxChannelsPerApp?: number;
}

/** Per-connection state: provider-token history (§2.4), the stream limit, the certificate check. */
interface ConnectionState extends ConnectionAuth {
  raised: boolean;
  /** The certificate check's result, once made; null when the client presented no certificate. */
  certificate: AuthResult | null | undefined;
}

export interface ApnsDevice {
  environment: ApnsEnvironment;
  /** A device token, a Live Activity's update token, or an app's push-to-start token (apns-push-types.ts). */
  kind: ApnsTokenKind;
}

export interface ApnsEmulator {
  url: string;
  /** The environment this listener plays. */
  environment: ApnsEnvironment;
  /** PEM of the CA that signs minted client certificates. */
  clientCa: string;
  core: EmulatorCore<ApnsDevice>;
  /** Broadcast channels (apns-channels.ts): their state, and what `/_emulator/channels` serves. */
  channels: ApnsChannels;
  /** Same as `POST /_emulator/credentials`. */
  mintCredentials(body?: Record<string, unknown>): Promise<ApnsCredentialsResponse>;
  /** Same as `POST /_emulator/devices`. */
  mintDevice(body?: Record<string, unknown>): Promise<{ handle: string; topic: string; environment: ApnsEnvironment; kind: ApnsTokenKind }>;
  /** True when a token key with this key id was minted here (the sandbox keeps credentials that still work). */
  knowsCredentials(keyId: string): boolean;
  close(): Promise<void>;
}

export type ApnsCredentialsResponse =
  | { type: 'token'; keyId: string; teamId: string; key: string; topics?: string[]; environment?: ApnsEnvironment }
  | { type: 'certificate'; cert: string; key: string; teamId: string; topics: string[]; environment: ApnsEnvironment };

/** §2.6: VoIP pushes may carry 5120 bytes, everything else 4096. */
const MAX_PAYLOAD = 4096;
const MAX_VOIP_PAYLOAD = 5120;
const MAX_COLLAPSE_ID_BYTES = 64;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;
const DEFAULT_TOPIC = 'com.example.app';

function environmentField(body: Record<string, unknown>): ApnsEnvironment | undefined {
  const env = optionalString(body, 'environment');
  if (env !== undefined && env !== 'sandbox' && env !== 'production')
    throw new ControlPlaneError(400, 'environment must be sandbox or production');
  return env;
}

function topicsField(body: Record<string, unknown>): string[] | undefined {
  const topic = optionalString(body, 'topic');
  const topics = body.topics;
  if (topics !== undefined && (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string' || t === '')))
    throw new ControlPlaneError(400, 'topics must be an array of bundle ids');
  if (topic !== undefined) return [topic, ...((topics as string[] | undefined) ?? [])];
  return topics as string[] | undefined;
}

export async function startApnsEmulator(opts: ApnsEmulatorOptions = {}): Promise<ApnsEmulator> {
  const environment = opts.environment ?? 'sandbox';
  const credentials = new ApnsCredentials(environment);
  const core = new EmulatorCore<ApnsDevice>(opts.clock);
  if (opts.state) {
    let saved: unknown;
    opts.state.section('credentials', { save: () => credentials.exportState(), load: (data) => (saved = data) });
    if (saved !== undefined) await credentials.importState(saved);
    core.persist(opts.state);
  }
  const clientCa = await credentials.clientCaPem();
  const connections = new WeakMap<http2.ServerHttp2Session, ConnectionState>();
  const maxStreams = opts.maxConcurrentStreams ?? 1000;
  const channels = new ApnsChannels(core, opts.maxChannelsPerApp ?? MAX_CHANNELS_PER_APP);
  // Broadcast channels outlive a sandbox restart like devices do: apps keep their channel ids.
  opts.state?.section('channels', { save: () => channels.state, load: (data) => Object.assign(channels.state.channels, (data as ChannelState).channels) });

  const mintCredentials = async (body: Record<string, unknown> = {}): Promise<ApnsCredentialsResponse> => {
    const type = optionalString(body, 'type') ?? 'token';
    const teamId = optionalString(body, 'teamId');
    const topics = topicsField(body);
    const env = environmentField(body);
    if (type === 'token') {
      const key = credentials.mintKey({ teamId, topics, environment: env });
      core.saveState();
      return { type, ...key, ...(topics ? { topics } : {}), ...(env ? { environment: env } : {}) };
    }
    if (type === 'certificate') {
      const certTopics = topics ?? [DEFAULT_TOPIC];
      const certEnv = env ?? environment;
      const minted = await credentials.mintCertificate({ teamId, topics: certTopics, environment: certEnv });
      core.saveState();
      return { type, ...minted, topics: certTopics, environment: certEnv };
    }
    throw new ControlPlaneError(400, 'type must be token or certificate');
  };

  const mintDevice = async (body: Record<string, unknown> = {}) => {
    const topic = optionalString(body, 'topic') ?? DEFAULT_TOPIC;
    const env = environmentField(body) ?? environment;
    const kind = (optionalString(body, 'kind') ?? 'device') as ApnsTokenKind;
    if (!TOKEN_KINDS.includes(kind)) throw new ControlPlaneError(400, `kind must be one of ${TOKEN_KINDS.join(', ')}`);
    // Today's tokens are 32 bytes shown as 64 hex characters (§2.2); ActivityKit's tokens look the same.
    const handle = randomBytes(32).toString('hex');
    core.registry.add(handle, handle, { topic }, { environment: env, kind });
    return { handle, topic, environment: env, kind };
  };

  function fail(reason: ApnsReason, apnsId: string, extra: Record<string, unknown> = {}): Reply {
    return json(APNS_REASONS[reason], { reason, ...extra }, { 'apns-id': apnsId });
  }

  function authenticate(ex: Exchange, conn: ConnectionState): AuthResult {
    // The peer certificate is fixed for the connection's life, so it is read and checked once per connection.
    if (conn.certificate === undefined) {
      const socket = ex.socket as TLSSocket;
      conn.certificate =
        (typeof socket.getPeerCertificate === 'function' && credentials.checkCertificate(socket.getPeerCertificate(), socket.authorized)) ||
        null;
    }
    if (conn.certificate) return conn.certificate;
    return credentials.checkToken(ex.headers.authorization, conn, core.clock.now());
  }

  function connectionOf(session: http2.ServerHttp2Session): ConnectionState {
    let conn = connections.get(session);
    if (!conn) {
      conn = { bound: undefined, token: undefined, tokenSince: 0, raised: false, certificate: undefined };
      connections.set(session, conn);
    }
    return conn;
  }

  /** The checks of §2.10.3, in that order (Apple does not document an order). */
  async function send(ex: Exchange): Promise<Reply> {
    const given = ex.headers['apns-id'];
    const apnsId = typeof given === 'string' && UUID.test(given) ? given : randomUUID();
    if (ex.httpVersion !== '2' || !ex.session) {
      return { status: 505, headers: { 'content-type': 'text/plain' }, body: 'APNs speaks HTTP/2 only' };
    }
    if (isChannelPath(ex.path)) {
      const auth = authenticate(ex, connectionOf(ex.session));
      if (!auth.ok) return json(APNS_REASONS[auth.reason], { reason: auth.reason }, { 'apns-request-id': randomUUID() });
      return channels.handle(ex, auth.kind === 'token' ? auth.key.topics : auth.cert.topics);
    }
    if (ex.method !== 'POST') return fail('MethodNotAllowed', apnsId);
    if (ex.path === '/3/device' || ex.path === '/3/device/') return fail('MissingDeviceToken', apnsId);
    const pathMatch = /^\/3\/device\/([^/]+)$/.exec(ex.path);
    if (!pathMatch) return fail('BadPath', apnsId);
    const encoded = pathMatch[1] ?? '';
    const token = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;

    if (hasDuplicateHeader(ex.rawHeaders)) return fail('DuplicateHeaders', apnsId);

    const conn = connectionOf(ex.session);
    const auth = authenticate(ex, conn);
    if (!auth.ok) return fail(auth.reason, apnsId);

    if (given !== undefined && !UUID.test(String(given))) return fail('BadMessageId', apnsId);
    const priority = headerOf(ex, 'apns-priority');
    if (priority !== undefined && priority !== '10' && priority !== '5' && priority !== '1') return fail('BadPriority', apnsId);
    const expiration = headerOf(ex, 'apns-expiration');
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return fail('BadExpirationDate', apnsId);
    const collapseId = headerOf(ex, 'apns-collapse-id');
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > MAX_COLLAPSE_ID_BYTES) return fail('BadCollapseId', apnsId);
    const pushType = headerOf(ex, 'apns-push-type');
    if (pushType !== undefined && !Object.hasOwn(PUSH_TYPE_TOPIC_SUFFIX, pushType)) return fail('InvalidPushType', apnsId);
    // §2.2, §2.5: location, Live Activity, widget and control pushes need token auth; MDM its certificate.
    if (pushType !== undefined && TOKEN_AUTH_ONLY.has(pushType) && auth.kind === 'certificate') return fail('InvalidPushType', apnsId);
    if (pushType !== undefined && CERTIFICATE_ONLY.has(pushType) && auth.kind === 'token') return fail('InvalidPushType', apnsId);
    // §2.2: background pushes must be sent at priority 5 (absent means 10); pushtotalk at 10.
    const allowed = pushType === undefined ? undefined : PRIORITIES[pushType];
    if (allowed && !allowed.includes(priority ?? '10')) return fail('BadPriority', apnsId);

    let topic = headerOf(ex, 'apns-topic');
    if (topic === undefined) {
      // §2.5: a certificate's default topic is its subject UID, unless it lists several topics.
      if (auth.kind === 'token' || auth.cert.topics.length !== 1) return fail('MissingTopic', apnsId);
      topic = auth.cert.topics[0]!;
    }
    const suffix = pushType ? PUSH_TYPE_TOPIC_SUFFIX[pushType] : undefined;
    if (suffix && !topic.endsWith(suffix)) return fail('BadTopic', apnsId);
    const bundle = bundleOf(topic);
    if (bundle === '') return fail('BadTopic', apnsId);
    const topics = auth.kind === 'token' ? auth.key.topics : auth.cert.topics;
    if (topics && !topics.includes(bundle)) return fail('TopicDisallowed', apnsId);

    if (ex.body.length === 0) return fail('PayloadEmpty', apnsId);
    const limit = pushType === 'voip' || topic.endsWith('.voip') ? MAX_VOIP_PAYLOAD : MAX_PAYLOAD;
    if (ex.body.length > limit) return fail('PayloadTooLarge', apnsId);

    const device = HEX.test(token) ? core.registry.find(token.toLowerCase()) : undefined;
    if (!device || device.extra.environment !== environment) return fail('BadDeviceToken', apnsId);
    if (device.app.topic !== bundle) return fail('DeviceTokenNotForTopic', apnsId);
    // An activity's token answers to <bundle>.push-type.liveactivity only, a device token never does.
    if (!tokenFitsPushType(device.extra.kind, pushType ?? 'alert')) return fail('DeviceTokenNotForTopic', apnsId);
    if (core.registry.isExpired(device)) {
      // §2.7: 410 carries the time the token became invalid, in milliseconds.
      const reason = device.expiredReason === 'ExpiredToken' ? 'ExpiredToken' : 'Unregistered';
      return fail(reason, apnsId, { timestamp: device.expiredAt });
    }

    const problem = payloadProblem(pushType ?? 'alert', parseJson(ex.body), device.extra.kind);
    if (problem) return fail('BadPayload', apnsId, { detail: problem });

    core.deliveries.record(device.key, ex.headers, ex.body, { 'apns-id': apnsId });
    if (!conn.raised) {
      // §2.1: one stream until a token-auth push succeeds, then the normal limit.
      conn.raised = true;
      ex.session.settings({ maxConcurrentStreams: maxStreams });
    }
    const headers: Record<string, string> = { 'apns-id': apnsId };
    if (environment === 'sandbox') headers['apns-unique-id'] = randomUUID();
    return { status: 200, headers };
  }

  /** `GET /_emulator/channels`; `POST /_emulator/channels/{channelId}/subscribers` {"handle"}. */
  const route = async (sub: string, ex: Exchange, body: () => Record<string, unknown>): Promise<Reply | undefined> => {
    if (sub === 'channels') {
      if (ex.method !== 'GET') throw new ControlPlaneError(405, 'use GET');
      return json(200, { channels: channels.list() });
    }
    const m = /^channels\/([^/]+)\/subscribers$/.exec(sub);
    if (!m) return undefined;
    if (ex.method !== 'POST') throw new ControlPlaneError(405, 'use POST');
    const handle = optionalString(body(), 'handle');
    if (handle === undefined) throw new ControlPlaneError(400, 'handle is required');
    return json(201, channels.subscribe(decodeURIComponent(m[1]!), handle));
  };

  const handler = emulatorHandler(core, { mintCredentials, mintDevice, route }, {
    protocol: send,
    faultable: (ex) => ex.path.startsWith('/3/') || isChannelPath(ex.path),
    renderFault: (fault, ex) => {
      const status = fault.status ?? 500;
      const reason = fault.reason ?? DEFAULT_FAULT_REASON[status] ?? 'InternalServerError';
      // Channel management and broadcasts answer with apns-request-id, pushes with apns-id.
      const idHeader = isChannelPath(ex.path) ? 'apns-request-id' : 'apns-id';
      const given = ex.headers[idHeader];
      const id = typeof given === 'string' ? given : randomUUID();
      return json(status, { reason, ...(status === 410 ? { timestamp: core.clock.now() } : {}) }, { [idHeader]: id });
    },
    beforeDrop: (fault, ex) => {
      // §2.1: GOAWAY's opaque data carries {"reason": ...}, e.g. Shutdown.
      ex.session?.goaway(0, 0, Buffer.from(JSON.stringify({ reason: fault.reason ?? 'Shutdown' })));
    },
  });

  const server = await startServer(
    {
      host: opts.host,
      port: opts.port,
      tls: opts.tls,
      clientCa: opts.tls ? clientCa : undefined,
      settings: { maxConcurrentStreams: opts.initialMaxConcurrentStreams ?? 1 },
      onSession: (session) => {
        // Certificate connections are authenticated by the handshake, so they get the normal limit at once.
        const socket = session.socket as TLSSocket;
        if (socket.authorized) {
          connections.set(session, { bound: undefined, token: undefined, tokenSince: 0, raised: true, certificate: undefined });
          session.settings({ maxConcurrentStreams: maxStreams });
        }
      },
    },
    handler,
  );
  const knowsCredentials = (keyId: string) => credentials.knowsKey(keyId);
  return { url: server.url, environment, clientCa, core, channels, mintCredentials, mintDevice, knowsCredentials, close: server.close };
}

/** The body as JSON, or undefined when it is not JSON. */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A request header sent once, as a string. */
function headerOf(ex: Exchange, name: string): string | undefined {
  const v = ex.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Push-type topic suffixes, longest first, so `.voip-ptt` wins over a shorter suffix it ends with. */
const TOPIC_SUFFIXES = Object.values(PUSH_TYPE_TOPIC_SUFFIX)
  .filter((s): s is string => !!s)
  .sort((a, b) => b.length - a.length);

/** The bundle id a topic belongs to: the topic without its push-type suffix (§2.3). */
function bundleOf(topic: string): string {
  for (const s of TOPIC_SUFFIXES) if (topic.endsWith(s)) return topic.slice(0, -s.length);
  return topic;
}

/**
 * §2.10.3 DuplicateHeaders: a header name (pseudo-headers aside) sent twice. Only HTTP/2 requests get here,
 * and HTTP/2 field names are lower-case (RFC 9113 §8.2.1; nghttp2 resets a stream that breaks this), so
 * names compare as they are. A request has about a dozen headers.
 */
function hasDuplicateHeader(rawHeaders: string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.startsWith(':')) continue;
    for (let j = 0; j < i; j += 2) if (rawHeaders[j] === name) return true;
  }
  return false;
}
