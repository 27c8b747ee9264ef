/**
 * A local Web Push service (RFC 8030 delivery, RFC 8292 VAPID, RFC 8291 encryption; pns-protocols.md §4)
 * with the control plane of herald-contract.md. Subscriptions live at `{url}/push/{id}`; the emulator keeps
 * each one's private key and logs the decrypted plaintext.
 */
import { createECDH, randomBytes } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { ControlPlaneError, optionalString, parseObject } from '../shared/control-plane.ts';
import { EmulatorCore, emulatorHandler, json } from '../shared/emulator-core.ts';
import { startServer, type Exchange, type Reply, type TlsOptions } from '../shared/server.ts';
import { decryptAes128gcm, decryptAesgcm, mintSubscriptionKeys, type SubscriptionKeys } from './webpush-crypto.ts';
import { webPushError, type WebPushErrno } from './webpush-errors.ts';
import { checkVapid, p256PublicKey } from './webpush-vapid.ts';
import { isUrgency, PendingMessages, type Urgency } from './webpush-pending.ts';
import type { DeviceCodec, EmulatorState } from '../shared/state-file.ts';

export interface WebPushEmulatorOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  /**
   * Status for an expired subscription: RFC 8030 §7.3 says 404, every major service answers 410 (§4.1).
   * Default 410.
   */
  expiredStatus?: 404 | 410;
  /** Time for TTLs of pending messages and VAPID expiry; default the system clock. */
  clock?: Clock;
  /** Keep subscriptions across restarts (the sandbox's data directory); VAPID keys need no state. */
  state?: EmulatorState;
}

export interface WebPushSubscription {
  keys: SubscriptionKeys;
  /** The applicationServerKey the subscription was created with (a restricted subscription, RFC 8292 §3). */
  applicationServerKey: Buffer | undefined;
}

export interface MintedSubscription {
  handle: string;
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

export interface WebPushEmulator {
  url: string;
  core: EmulatorCore<WebPushSubscription>;
  /** Messages held for devices that are offline or take only higher urgencies (control plane: state, pending). */
  pending: PendingMessages;
  /** Same as `POST /_emulator/credentials`: a VAPID key pair in web-push's format. */
  mintCredentials(body?: Record<string, unknown>): Promise<{ publicKey: string; privateKey: string; subject: string }>;
  /** Same as `POST /_emulator/devices`: a PushSubscription as a browser would hand it to the app. */
  mintDevice(body?: Record<string, unknown>): Promise<MintedSubscription>;
  close(): Promise<void>;
}

/** RFC 8030 §7.2: a push service MUST NOT answer 413 to bodies of 4096 bytes or less. */
const MAX_BODY = 4096;
/** Autopush caps TTL at 30 days and rejects more (errno 112, §4.1). */
const MAX_TTL = 2_592_000;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
/** RFC 8030 §5.4: a topic is at most 32 characters of the URL- and filename-safe base64 alphabet. */
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** Random bytes drawn in blocks: one draw per message id costs more than the rest of the answer. */
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/** A fresh message id: 16 random bytes, base64url, as the id in the Location of a created message. */
function messageId(): string {
  if (randomOffset + 16 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomOffset = 0;
  }
  randomOffset += 16;
  return randomPool.toString('base64url', randomOffset - 16, randomOffset);
}

/** A subscription's keys as base64url text in the state file: the private key is what decrypts pushes. */
const subscriptionCodec: DeviceCodec<WebPushSubscription> = {
  encode: (s) => ({
    privateKey: s.keys.ecdh.getPrivateKey().toString('base64url'),
    auth: s.keys.auth.toString('base64url'),
    applicationServerKey: s.applicationServerKey?.toString('base64url') ?? null,
  }),
  decode: (data) => {
    const d = data as { privateKey: string; auth: string; applicationServerKey: string | null };
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(d.privateKey, 'base64url'));
    return {
      keys: { ecdh, auth: Buffer.from(d.auth, 'base64url'), publicKey: ecdh.getPublicKey() },
      applicationServerKey: d.applicationServerKey === null ? undefined : Buffer.from(d.applicationServerKey, 'base64url'),
    };
  },
};

export async function startWebPushEmulator(opts: WebPushEmulatorOptions = {}): Promise<WebPushEmulator> {
  const core = new EmulatorCore<WebPushSubscription>(opts.clock);
  const pending = new PendingMessages(core.clock);
  if (opts.state) core.persist(opts.state, subscriptionCodec);
  const expiredStatus = opts.expiredStatus ?? 410;
  let baseUrl = '';

  const mintCredentials = async () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return {
      publicKey: ecdh.getPublicKey().toString('base64url'),
      // A private scalar with leading zero bytes must still be 32 bytes long (web-push checks).
      privateKey: Buffer.concat([Buffer.alloc(32), ecdh.getPrivateKey()]).subarray(-32).toString('base64url'),
      subject: 'mailto:sandbox@example.com',
    };
  };

  const mintDevice = async (body: Record<string, unknown> = {}): Promise<MintedSubscription> => {
    const serverKey = optionalString(body, 'applicationServerKey');
    let applicationServerKey: Buffer | undefined;
    if (serverKey !== undefined) {
      applicationServerKey = Buffer.from(serverKey, 'base64url');
      try {
        p256PublicKey(applicationServerKey);
      } catch {
        throw new ControlPlaneError(400, 'applicationServerKey must be a base64url uncompressed P-256 public key');
      }
    }
    const id = randomBytes(32).toString('base64url');
    const endpoint = `${baseUrl}/push/${id}`;
    const keys = mintSubscriptionKeys();
    core.registry.add(id, endpoint, {}, { keys, applicationServerKey });
    return {
      handle: endpoint,
      endpoint,
      expirationTime: null,
      keys: { p256dh: keys.ecdh.getPublicKey().toString('base64url'), auth: keys.auth.toString('base64url') },
    };
  };

  function fail(status: number, which: WebPushErrno, message: string, headers: Record<string, string> = {}): Reply {
    return json(status, webPushError(status, which, message), headers);
  }

  function header(ex: Exchange, name: string): string | undefined {
    const v = ex.headers[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** §4.5.2: 404 → 410 → 401/403 → 400 → 413 → decrypt → 201. */
  async function push(ex: Exchange): Promise<Reply> {
    const match = /^\/push\/([A-Za-z0-9_-]+)$/.exec(ex.path);
    if (!match) return fail(404, 'GONE', 'No such push resource');
    if (ex.method !== 'POST') return fail(405, 'UNKNOWN', 'Use POST to send a push message');
    const sub = core.registry.find(match[1]!);
    if (!sub) return fail(404, 'GONE', 'Subscription not found');
    if (core.registry.isExpired(sub)) {
      return fail(expiredStatus, expiredStatus === 410 ? 'EXPIRED' : 'GONE', 'Subscription has expired or was unsubscribed');
    }

    // The JWT audience is the origin the sender addressed (scheme, host and port, §4.4).
    const origin = `${ex.secure ? 'https' : 'http'}://${header(ex, 'host') ?? header(ex, ':authority') ?? ''}`;
    const vapid = checkVapid(header(ex, 'authorization'), header(ex, 'crypto-key'), origin, sub.extra.applicationServerKey, core.clock.now());
    if (!vapid.ok) return fail(vapid.status, 'BAD_AUTH', vapid.message);

    const ttlText = header(ex, 'ttl');
    if (ttlText === undefined) return fail(400, 'BAD_HEADERS', 'Missing TTL header');
    if (!/^\d+$/.test(ttlText) || Number(ttlText) > MAX_TTL) return fail(400, 'BAD_TTL', `TTL must be an integer 0..${MAX_TTL}`);
    const urgency = header(ex, 'urgency');
    if (urgency !== undefined && !URGENCIES.has(urgency)) return fail(400, 'BAD_HEADERS', 'Urgency must be very-low, low, normal or high');
    const topic = header(ex, 'topic');
    if (topic !== undefined && !TOPIC.test(topic)) return fail(400, 'BAD_TOPIC', 'Topic must be 1..32 URL-safe base64 characters');
    const encoding = header(ex, 'content-encoding');
    if (ex.body.length > 0 && encoding !== 'aes128gcm' && encoding !== 'aesgcm')
      return fail(400, 'BAD_HEADERS', 'Content-Encoding must be aes128gcm (or legacy aesgcm)');
    if (ex.body.length > MAX_BODY) return fail(413, 'TOO_LARGE', `Body larger than ${MAX_BODY} bytes`);

    let plaintext: Buffer = Buffer.alloc(0);
    if (ex.body.length > 0) {
      try {
        plaintext =
          encoding === 'aes128gcm'
            ? decryptAes128gcm(ex.body, sub.extra.keys)
            : decryptAesgcm(ex.body, header(ex, 'encryption'), header(ex, 'crypto-key'), sub.extra.keys);
      } catch (err) {
        return fail(400, 'BAD_HEADERS', `The message does not decrypt with the subscription keys: ${(err as Error).message}`);
      }
    }
    // §5.3: a message without Urgency is normal. A device that cannot take it now gets it later, or
    // never when its TTL runs out first; a newer message with the same Topic replaces it (§5.4).
    const level: Urgency = isUrgency(urgency) ? urgency : 'normal';
    const id = messageId();
    if (pending.takesNow(sub.key, level)) core.deliveries.record(sub.key, ex.headers, plaintext);
    else pending.hold(sub.key, { id, receivedAt: core.clock.now(), ttlSeconds: Number(ttlText), urgency: level, topic, headers: { ...ex.headers }, plaintext: Buffer.from(plaintext) });
    return {
      status: 201,
      headers: { location: `${origin}/message/${id}`, ttl: ttlText },
    };
  }

  /**
   * `POST /_emulator/devices/{handle}/state` `{"online": false, "minUrgency": "high"}`: the device goes
   * offline or takes only some urgencies; what it takes again is delivered at once, in arrival order.
   * `GET /_emulator/pending?handle=H`: what waits for it, and how many messages a newer one replaced.
   */
  async function route(sub: string, ex: Exchange): Promise<Reply | undefined> {
    const state = /^devices\/(.+)\/state$/.exec(sub);
    if (state) {
      if (ex.method !== 'POST') throw new ControlPlaneError(405, 'use POST');
      const device = core.registry.find(decodeURIComponent(state[1]!));
      if (!device) throw new ControlPlaneError(404, 'unknown handle');
      const body = parseObject(ex.body);
      if (body.online !== undefined && typeof body.online !== 'boolean') throw new ControlPlaneError(400, 'online must be true or false');
      if (body.minUrgency !== undefined && !isUrgency(body.minUrgency)) throw new ControlPlaneError(400, 'minUrgency must be very-low, low, normal or high');
      const was = pending.state(device.key);
      const next = { online: (body.online as boolean | undefined) ?? was.online, minUrgency: (body.minUrgency as Urgency | undefined) ?? was.minUrgency };
      const now = pending.setState(device.key, next);
      for (const m of now) core.deliveries.record(device.key, m.headers, m.plaintext);
      return json(200, { handle: device.handle, ...next, delivered: now.length });
    }
    if (sub === 'pending') {
      if (ex.method !== 'GET') throw new ControlPlaneError(405, 'use GET');
      const device = core.registry.find(ex.query.get('handle') ?? '');
      if (!device) throw new ControlPlaneError(404, 'unknown handle');
      return json(200, { handle: device.handle, ...pending.view(device.key) });
    }
    return undefined;
  }

  const handler = emulatorHandler(core, { mintCredentials, mintDevice, route }, {
    protocol: push,
    faultable: (ex) => ex.path.startsWith('/push/'),
    renderFault: (fault) => {
      const status = fault.status ?? 500;
      const which: WebPushErrno = status === 429 || status >= 500 ? 'BACK_OFF' : status === 410 ? 'EXPIRED' : 'UNKNOWN';
      return fail(status, which, fault.reason ?? 'Injected fault');
    },
  });
  const server = await startServer({ host: opts.host, port: opts.port, tls: opts.tls }, handler);
  baseUrl = server.url;
  return { url: server.url, core, pending, mintCredentials, mintDevice, close: server.close };
}
