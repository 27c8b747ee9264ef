/**
 * A local WNS (pns-protocols.md §1): both token endpoints, channel URIs `{url}/?token=...` that expire after
 * 30 days, the X-WNS-* header rules, the 5000-byte limit, the status headers, and the control plane of
 * herald-contract.md.
 *
 * Send checks run in the order of §1.9.3 (Microsoft documents none): 405 → 401 → 404 → 410 → 403 → 400 →
 * 413 → throttling (406 or 429, injected as faults) → 200.
 */
import { randomBytes } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Clock } from '../../shared/clock.ts';
import { optionalString } from '../shared/control-plane.ts';
import { EmulatorCore, emulatorHandler, json } from '../shared/emulator-core.ts';
import { startServer, type Exchange, type Reply, type TlsOptions } from '../shared/server.ts';
import { WnsAuth, type WnsApp } from './wns-auth.ts';
import { describeStatus } from './wns-errors.ts';
import type { EmulatorState } from '../shared/state-file.ts';

export interface WnsEmulatorOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  /** Time source, so a test can let channels reach their 30-day expiry. */
  clock?: Clock;
  /** Keep channels and minted apps across restarts (the sandbox's data directory). */
  state?: EmulatorState;
}

export interface WnsChannel {
  expiresAt: number;
}

export interface WnsEmulator {
  url: string;
  core: EmulatorCore<WnsChannel>;
  /** Same as `POST /_emulator/credentials` (body may name `package`). */
  mintCredentials(body?: Record<string, unknown>): Promise<WnsApp>;
  /** Same as `POST /_emulator/devices` (body may name `package`): a channel URI. */
  mintDevice(body?: Record<string, unknown>): Promise<{ handle: string; channelUri: string; expiresAt: string; package: string }>;
  /** True when an app with this client id was minted here. */
  knowsCredentials(clientId: string): boolean;
  close(): Promise<void>;
}

/** §1.3: channels expire after 30 days. */
const CHANNEL_LIFETIME_MS = 30 * 86_400_000;
/** §1.4: payloads above 5000 bytes get 413. */
const MAX_PAYLOAD = 5000;
const DEFAULT_PACKAGE = 'Herald.Sandbox_8wekyb3d8bbwe';
const TYPES = new Set(['wns/toast', 'wns/tile', 'wns/badge', 'wns/raw']);
/** §1.7: badge glyphs. */
const GLYPHS = new Set(['none', 'activity', 'alarm', 'alert', 'attention', 'available', 'away', 'busy', 'error', 'newMessage', 'paused', 'playing', 'unavailable']);
const ENTRA_TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;
/** The Windows App SDK channel request (see requestChannel). */
const CHANNELS_PATH = '/_emulator/channels';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function header(ex: Exchange, name: string): string | undefined {
  const v = ex.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** §1.4 header rules; returns the error description, or undefined when the headers are fine. */
function checkHeaders(ex: Exchange): string | undefined {
  const type = header(ex, 'x-wns-type');
  if (!type || !TYPES.has(type)) return 'X-WNS-Type must be wns/toast, wns/tile, wns/badge or wns/raw.';
  const contentType = (header(ex, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const expected = type === 'wns/raw' ? 'application/octet-stream' : 'text/xml';
  if (contentType !== expected) return `Content-Type must be ${expected} for ${type}.`;
  const cache = header(ex, 'x-wns-cache-policy');
  if (cache !== undefined && cache !== 'cache' && cache !== 'no-cache') return 'X-WNS-Cache-Policy must be cache or no-cache.';
  const forStatus = header(ex, 'x-wns-requestforstatus');
  if (forStatus !== undefined && !/^(true|false)$/i.test(forStatus)) return 'X-WNS-RequestForStatus must be true or false.';
  for (const name of ['x-wns-tag', 'x-wns-group']) {
    const v = header(ex, name);
    if (v !== undefined && !/^[A-Za-z0-9]{1,16}$/.test(v)) return `${name} must be at most 16 alphanumeric characters.`;
  }
  const ttl = header(ex, 'x-wns-ttl');
  if (ttl !== undefined && !/^\d+$/.test(ttl)) return 'X-WNS-TTL must be a number of seconds.';
  const priority = header(ex, 'x-wns-priority');
  if (priority !== undefined && !/^[1-4]$/.test(priority)) return 'X-WNS-PRIORITY must be 1, 2, 3 or 4.';
  // §1.4: SuppressPopup is for Windows Phone channels only; these channels are Windows channels.
  if (header(ex, 'x-wns-suppresspopup') !== undefined) return 'X-WNS-SuppressPopup is not valid on a Windows channel.';
  return undefined;
}

/** §1.7: well-formed XML whose root matches the type; badge values checked. Deeper schema is left to the client. */
function checkPayload(type: string, body: Buffer): string | undefined {
  if (type === 'wns/raw') return undefined;
  const xml = body.toString('utf8');
  if (xml.trim() === '' || XMLValidator.validate(xml) !== true) return 'The payload is not well-formed XML.';
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml) as Record<string, unknown>;
  const root = type.slice('wns/'.length);
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?'));
  if (roots.length !== 1 || roots[0] !== root) return `The root element must be <${root}> for ${type}.`;
  if (type === 'wns/badge') {
    const badge = doc.badge;
    const value = typeof badge === 'object' && badge !== null ? (badge as Record<string, unknown>)['@value'] : undefined;
    const text = String(value ?? '');
    if (!GLYPHS.has(text) && !/^\d+$/.test(text)) return 'The badge value must be a number or a glyph name.';
  }
  return undefined;
}

export async function startWnsEmulator(opts: WnsEmulatorOptions = {}): Promise<WnsEmulator> {
  const core = new EmulatorCore<WnsChannel>(opts.clock);
  const auth = new WnsAuth();
  let baseUrl = '';
  let traces = 0;

  if (opts.state) {
    opts.state.section('credentials', { save: () => auth.exportState(), load: (data) => auth.importState(data) });
    core.persist(opts.state);
  }
  const mintCredentials = async (body: Record<string, unknown> = {}) => {
    const app = auth.mintApp(optionalString(body, 'package') ?? DEFAULT_PACKAGE);
    core.saveState();
    return app;
  };
  const mintChannel = (pkg: string) => {
    // The token is opaque base64 (with +, / and =), so it is percent-encoded in the URI (§1.3).
    const token = `AwYAAAB${randomBytes(96).toString('base64')}`;
    const channelUri = `${baseUrl}/?token=${encodeURIComponent(token)}`;
    const expiresAt = core.clock.now() + CHANNEL_LIFETIME_MS;
    core.registry.add(token, channelUri, { package: pkg }, { expiresAt });
    return { channelUri, expiresAt };
  };
  const mintDevice = async (body: Record<string, unknown> = {}) => {
    const pkg = optionalString(body, 'package') ?? DEFAULT_PACKAGE;
    const { channelUri, expiresAt } = mintChannel(pkg);
    return { handle: channelUri, channelUri, expiresAt: new Date(expiresAt).toISOString(), package: pkg };
  };

  /**
   * `POST /_emulator/channels {"remoteId"}`: the channel request of a Windows App SDK app,
   * PushNotificationManager.CreateChannelAsync(remoteId), where remoteId is the Azure AppId (the Entra
   * application id, a GUID) of the app's server. The answer mirrors PushNotificationCreateChannelResult:
   * `status` CompletedSuccess with the channel's `uri` and `expirationTime` (30 days), or CompletedFailure.
   */
  function requestChannel(ex: Exchange): Reply {
    if (ex.method !== 'POST') return json(405, { error: 'use POST' });
    let body: unknown;
    try {
      body = ex.body.length === 0 ? {} : JSON.parse(ex.body.toString('utf8'));
    } catch {
      return json(400, { error: 'body is not valid JSON' });
    }
    const remoteId = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).remoteId : undefined;
    if (typeof remoteId !== 'string' || !GUID.test(remoteId)) {
      return json(400, { status: 'CompletedFailure', error: 'remoteId must be the Azure AppId: the application (client) id of the Microsoft Entra app, a GUID' });
    }
    const app = auth.appOfRemoteId(remoteId);
    if (!app) return json(404, { status: 'CompletedFailure', error: `no Microsoft Entra app with application id ${remoteId} was minted by this emulator` });
    const { channelUri, expiresAt } = mintChannel(app.package);
    const expirationTime = new Date(expiresAt).toISOString();
    return json(201, { status: 'CompletedSuccess', channel: { uri: channelUri, expirationTime }, handle: channelUri, channelUri, expiresAt: expirationTime, package: app.package });
  }

  /** The headers every answer carries (§1.5); `MS-CV` is echoed with a new suffix, or generated. */
  function baseHeaders(ex: Exchange): Record<string, string> {
    const cv = header(ex, 'ms-cv');
    return {
      'x-wns-msg-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-wns-debug-trace': `EMU-${String(++traces).padStart(6, '0')}`,
      'ms-cv': cv ? `${cv}.0` : `${randomBytes(12).toString('base64url')}.0`,
    };
  }

  function fail(ex: Exchange, status: number, description = describeStatus(status), extra: Record<string, string> = {}): Reply {
    return { status, headers: { ...baseHeaders(ex), 'x-wns-error-description': description, ...extra } };
  }

  function send(ex: Exchange): Reply {
    if (ex.method !== 'POST') return fail(ex, 405);
    const now = core.clock.now();
    const appOfToken = auth.lookup(header(ex, 'authorization'), now);
    if (!appOfToken) return fail(ex, 401, 'The access token is missing, invalid or expired.');
    const channel = core.registry.find(ex.query.get('token') ?? '');
    if (!channel) return fail(ex, 404);
    if (core.registry.isExpired(channel) || channel.extra.expiresAt <= now) return fail(ex, 410);
    if (channel.app.package !== appOfToken) return fail(ex, 403);
    const headerError = checkHeaders(ex);
    if (headerError) return fail(ex, 400, headerError);
    if (ex.body.length > MAX_PAYLOAD) return fail(ex, 413);
    const payloadError = checkPayload(header(ex, 'x-wns-type')!, ex.body);
    if (payloadError) return fail(ex, 400, payloadError);

    core.deliveries.record(channel.key, ex.headers, ex.body);
    // The wns npm library only accepts a 200 that carries the legacy X-WNS-NotificationStatus too (§1.5).
    const headers: Record<string, string> = { ...baseHeaders(ex), 'x-wns-status': 'received', 'x-wns-notificationstatus': 'received' };
    if (/^true$/i.test(header(ex, 'x-wns-requestforstatus') ?? '')) headers['x-wns-deviceconnectionstatus'] = 'connected';
    return { status: 200, headers };
  }

  async function protocol(ex: Exchange): Promise<Reply> {
    const form = (): URLSearchParams => new URLSearchParams(ex.body.toString('utf8'));
    if (ex.path === '/accesstoken.srf') {
      return ex.method === 'POST' ? auth.liveToken(form(), core.clock.now()) : { status: 405 };
    }
    const entra = ENTRA_TOKEN_PATH.exec(ex.path);
    if (entra) return ex.method === 'POST' ? auth.entraToken(decodeURIComponent(entra[1]!), form(), core.clock.now()) : { status: 405 };
    if (ex.path === '/' || ex.path === '/w/') return send(ex);
    return fail(ex, 404);
  }

  const handler = emulatorHandler(core, { mintCredentials, mintDevice }, {
    protocol,
    faultable: (ex) => ex.path === '/' || ex.path === '/w/',
    renderFault: (fault, ex) => {
      const status = fault.status ?? 500;
      // A 200 fault reports a notification WNS accepted but dropped or throttled per channel (§1.6).
      if (status === 200) {
        const state = fault.reason ?? 'dropped';
        return { status, headers: { ...baseHeaders(ex), 'x-wns-status': state, 'x-wns-notificationstatus': state } };
      }
      return fail(ex, status, fault.reason ?? describeStatus(status));
    },
  });
  const server = await startServer({ host: opts.host, port: opts.port, tls: opts.tls }, async (ex) => (ex.path === CHANNELS_PATH ? requestChannel(ex) : handler(ex)));
  baseUrl = server.url;
  const knowsCredentials = (clientId: string) => auth.knowsApp(clientId);
  return { url: server.url, core, mintCredentials, mintDevice, knowsCredentials, close: server.close };
}
