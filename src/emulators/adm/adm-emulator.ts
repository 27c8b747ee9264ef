/**
 * A local Amazon Device Messaging service: the Login with Amazon token endpoint, `POST /messaging/registrations/
 * {registrationId}/messages` with ADM's checks and `{"reason"}` answers, registration ids that an app instance
 * gets (`amzn1.adm-registration.v3.…`), and the control plane every emulator has (credentials, devices,
 * deliveries, expire, faults, stats).
 * Vendor doc: https://developer.amazon.com/docs/adm/send-message.html
 *
 * Send checks, in this order (Amazon documents none): 405 → 401 token → 400 InvalidType (the type headers) →
 * 400 InvalidRegistrationId (unknown, or another app's) → 410 Unregistered → 413 MessageTooLarge →
 * 400 InvalidData / InvalidConsolidationKey / InvalidExpiration / InvalidChecksum → 200 {"registrationID"}.
 * Throttling (429 with Retry-After), 500 and 503 come from injected faults.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { optionalString } from '../shared/control-plane.ts';
import { EmulatorCore, emulatorHandler, json } from '../shared/emulator-core.ts';
import { startServer, type Exchange, type Reply, type TlsOptions } from '../shared/server.ts';
import type { EmulatorState } from '../shared/state-file.ts';
import { AdmAuth, type AdmApp } from './adm-auth.ts';

export interface AdmEmulatorOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  clock?: Clock;
  /** Keep registration ids and security profiles across restarts (the sandbox's data directory). */
  state?: EmulatorState;
}

export interface AdmEmulator {
  url: string;
  core: EmulatorCore<Record<string, never>>;
  auth: AdmAuth;
  /** Same as `POST /_emulator/credentials` (body may name `package`): a security profile's client id and secret. */
  mintCredentials(body?: Record<string, unknown>): Promise<AdmApp>;
  /** Same as `POST /_emulator/devices` (body may name `package`): a registration id, as `ADM.getRegistrationId()` gives. */
  mintDevice(body?: Record<string, unknown>): Promise<{ handle: string; registrationId: string; package: string }>;
  /** True when a security profile with this client id was minted here (the sandbox keeps credentials that still work). */
  knowsCredentials(clientId: string): boolean;
  close(): Promise<void>;
}

export const DEFAULT_ADM_PACKAGE = 'com.example.app';
const SEND_PATH = /^\/messaging\/registrations\/([^/]+)\/messages$/;
const TYPE_VERSION = 'com.amazon.device.messaging.ADMMessage@1.0';
const ACCEPT_TYPE = 'com.amazon.device.messaging.ADMSendResult@1.0';

/** The default reason of an injected status (the faults' `reason` overrides it). */
const DEFAULT_REASONS: Readonly<Record<number, string>> = {
  400: 'InvalidData',
  401: 'AccessTokenExpired',
  403: 'Forbidden',
  410: 'Unregistered',
  413: 'MessageTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/** "a payload of up to 6KB". */
const MAX_BODY_BYTES = 6 * 1024;
const MAX_CONSOLIDATION_KEY = 64;
/** expiresAfter: 1 s to 31 days. */
const MAX_EXPIRES_AFTER = 31 * 86_400;

/**
 * ADM's checks of the message, written here on their own (not shared with the connector), so a test of the
 * connector against the emulator compares two readings of Amazon's rules. Returns ADM's reason, or undefined.
 */
function messageProblem(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'InvalidData';
  const m = message as Record<string, unknown>;
  if (Object.keys(m).some((k) => !['data', 'notification', 'priority', 'consolidationKey', 'expiresAfter', 'md5'].includes(k))) return 'InvalidData';
  // A data message, a notification message, or both.
  if (m.data === undefined && m.notification === undefined) return 'InvalidData';
  const data = m.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data) || Object.values(data).some((v) => typeof v !== 'string')) return 'InvalidData';
  const n = m.notification;
  if (n !== undefined && (typeof n !== 'object' || n === null || Array.isArray(n))) return 'InvalidData';
  if (m.priority !== undefined && m.priority !== 'normal' && m.priority !== 'high') return 'InvalidData';
  if (m.consolidationKey !== undefined && (typeof m.consolidationKey !== 'string' || m.consolidationKey === '' || m.consolidationKey.length > MAX_CONSOLIDATION_KEY)) return 'InvalidConsolidationKey';
  const e = m.expiresAfter;
  if (e !== undefined && !(typeof e === 'number' && Number.isInteger(e) && e >= 1 && e <= MAX_EXPIRES_AFTER)) return 'InvalidExpiration';
  if (m.md5 !== undefined) {
    // Amazon's ADMSampleMD5ChecksumCalculator: pairs sorted by key (UTF-8 code units), "k:v" joined by ",", MD5, base64.
    const pairs = Object.entries(data as Record<string, string>).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const expected = createHash('md5').update(Buffer.from(pairs.map(([k, v]) => `${k}:${v}`).join(','), 'utf8')).digest('base64');
    if (m.md5 !== expected) return 'InvalidChecksum';
  }
  return undefined;
}

function header(ex: Exchange, name: string): string | undefined {
  const v = ex.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export async function startAdmEmulator(opts: AdmEmulatorOptions = {}): Promise<AdmEmulator> {
  const core = new EmulatorCore<Record<string, never>>(opts.clock);
  const auth = new AdmAuth();
  if (opts.state) {
    opts.state.section('credentials', { save: () => auth.exportState(), load: (data) => auth.importState(data) });
    core.persist(opts.state);
  }

  const mintCredentials = async (body: Record<string, unknown> = {}) => {
    const app = auth.mintApp(optionalString(body, 'package') ?? DEFAULT_ADM_PACKAGE);
    core.saveState();
    return app;
  };
  const mintDevice = async (body: Record<string, unknown> = {}) => {
    const pkg = optionalString(body, 'package') ?? DEFAULT_ADM_PACKAGE;
    const registrationId = `amzn1.adm-registration.v3.${randomBytes(96).toString('base64url')}`;
    core.registry.add(registrationId, registrationId, { package: pkg }, {});
    return { handle: registrationId, registrationId, package: pkg };
  };

  const answer = (status: number, body: unknown, extra: Record<string, string> = {}): Reply =>
    json(status, body, { 'x-amzn-requestid': randomUUID(), 'x-amzn-type-version': ACCEPT_TYPE, ...extra });
  const fail = (status: number, reason: string): Reply => answer(status, { reason });

  function send(ex: Exchange, registrationId: string): Reply {
    if (ex.method !== 'POST') return { status: 405, headers: { allow: 'POST' } };
    const now = core.clock.now();
    const app = auth.lookup(header(ex, 'authorization'), now);
    if (app === 'expired') return fail(401, 'AccessTokenExpired');
    if (!app) return fail(401, 'Unauthorized');
    if (header(ex, 'x-amzn-type-version') !== TYPE_VERSION || header(ex, 'x-amzn-accept-type') !== ACCEPT_TYPE) return fail(400, 'InvalidType');
    const device = core.registry.find(registrationId);
    if (!device || device.app.package !== app.package) return fail(400, 'InvalidRegistrationId');
    if (core.registry.isExpired(device)) return fail(410, device.expiredReason ?? 'Unregistered');
    if (ex.body.length > MAX_BODY_BYTES) return fail(413, 'MessageTooLarge');
    if (!/^application\/json\b/i.test(header(ex, 'content-type') ?? '')) return fail(400, 'InvalidData');
    let message: unknown;
    try {
      message = JSON.parse(ex.body.toString('utf8'));
    } catch {
      return fail(400, 'InvalidData');
    }
    const problem = messageProblem(message);
    if (problem) return fail(400, problem);
    core.deliveries.record(device.key, ex.headers, ex.body);
    return answer(200, { registrationID: device.handle });
  }

  async function protocol(ex: Exchange): Promise<Reply> {
    // Amazon's samples write /auth/O2/token; both spellings reach the token endpoint.
    if (ex.path.toLowerCase() === '/auth/o2/token') {
      return ex.method === 'POST' ? auth.token(new URLSearchParams(ex.body.toString('utf8')), core.clock.now()) : { status: 405, headers: { allow: 'POST' } };
    }
    const m = SEND_PATH.exec(ex.path);
    if (m) return send(ex, decodeURIComponent(m[1]!));
    return json(404, { reason: 'NotFound' });
  }

  const handler = emulatorHandler(core, { mintCredentials, mintDevice }, {
    protocol,
    faultable: (ex) => SEND_PATH.test(ex.path),
    renderFault: (fault) => fail(fault.status ?? 500, fault.reason ?? DEFAULT_REASONS[fault.status ?? 500] ?? 'InternalServerError'),
  });
  const server = await startServer({ host: opts.host, port: opts.port, tls: opts.tls }, handler);
  const knowsCredentials = (clientId: string) => auth.apps.has(clientId);
  return { url: server.url, core, auth, mintCredentials, mintDevice, knowsCredentials, close: server.close };
}
