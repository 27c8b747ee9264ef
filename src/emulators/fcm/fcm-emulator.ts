/**
 * A local FCM HTTP v1 service (pns-protocols.md §3): the OAuth token endpoint (`/token`, and the older
 * `/oauth2/v4/token`), `POST /v1/projects/{p}/messages:send`, google.rpc.Status errors with FcmError details,
 * and the control plane of herald-contract.md. HTTP/1.1 and HTTP/2 (MAX_CONCURRENT_STREAMS 100, §3.2).
 *
 * Not modelled: topic subscriptions (topic and condition sends are validated and answered, not fanned out),
 * project quotas (inject 429 QUOTA_EXCEEDED through faults), the legacy `/fcm/send` API (shut down, §3.8).
 */
import { randomBytes } from 'node:crypto';
import { ControlPlaneError, optionalString } from '../shared/control-plane.ts';
import { EmulatorCore, emulatorHandler, json } from '../shared/emulator-core.ts';
import { startServer, type Exchange, type Reply, type TlsOptions } from '../shared/server.ts';
import { FcmAuth, SEND_SCOPES, type ServiceAccountJson } from './fcm-auth.ts';
import { DEFAULT_FAULT_CODE, fcmError, rpcError } from './fcm-errors.ts';
import { checkMessage } from './fcm-message.ts';
import type { EmulatorState } from '../shared/state-file.ts';

export interface FcmEmulatorOptions {
  host?: string;
  port?: number;
  tls?: TlsOptions;
  /** Keep devices and minted service accounts across restarts (the sandbox's data directory). */
  state?: EmulatorState;
}

export interface FcmEmulator {
  url: string;
  /** Where the service-account JSON's `token_uri` points. */
  tokenUri: string;
  core: EmulatorCore<null>;
  /** Same as `POST /_emulator/credentials` (body may name `project`). */
  mintCredentials(body?: Record<string, unknown>): Promise<ServiceAccountJson>;
  /** Same as `POST /_emulator/devices` (body may name `project`). */
  mintDevice(body?: Record<string, unknown>): Promise<{ handle: string; token: string; project: string }>;
  /**
   * Same as `POST /_emulator/devices` with `{"kind": "fid"}`: a device known by a Firebase installation id
   * instead of a registration token; its `handle` is `fid:<FID>`, the form Herald registers.
   */
  mintInstallation(body?: Record<string, unknown>): Promise<{ handle: string; fid: string; project: string }>;
  /** True when this service account (client_email) was minted here. */
  knowsCredentials(clientEmail: string): boolean;
  close(): Promise<void>;
}

const DEFAULT_PROJECT = 'herald-sandbox';
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** What today's registration tokens look like: `<instance id>:APA91b<...>` (§3.2 example). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{11,}:APA91b[A-Za-z0-9_-]{20,}$/;
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;

/**
 * A FID as the Firebase SDKs mint it (RandomFidGenerator): 17 random bytes, the first 4 bits replaced by the
 * constant 0111, base64url, the first 22 characters kept (132 bits).
 */
export function mintInstallationId(): string {
  const bytes = randomBytes(17);
  bytes[0] = 0b0111_0000 | (bytes[0]! & 0b0000_1111);
  return bytes.toString('base64url').slice(0, 22);
}

function mintRegistrationToken(): string {
  return `${randomBytes(16).toString('base64url').slice(0, 22)}:APA91b${randomBytes(100).toString('base64url').slice(0, 134)}`;
}

export async function startFcmEmulator(opts: FcmEmulatorOptions = {}): Promise<FcmEmulator> {
  const core = new EmulatorCore<null>();
  const auth = new FcmAuth();
  if (opts.state) {
    opts.state.section('credentials', { save: () => auth.exportState(), load: (data) => auth.importState(data) });
    core.persist(opts.state);
  }
  let tokenUri = '';

  const project = (body: Record<string, unknown>): string => {
    const p = optionalString(body, 'project') ?? DEFAULT_PROJECT;
    if (!PROJECT_ID.test(p)) throw new ControlPlaneError(400, 'project must be a Google Cloud project id (6-30 of a-z, 0-9, -)');
    return p;
  };
  const mintCredentials = async (body: Record<string, unknown> = {}) => {
    const account = auth.mintServiceAccount(project(body), tokenUri);
    core.saveState();
    return account;
  };
  const mintDevice = async (body: Record<string, unknown> = {}) => {
    const p = project(body);
    const token = mintRegistrationToken();
    core.registry.add(token, token, { project: p }, null);
    return { handle: token, token, project: p };
  };

  const mintInstallation = async (body: Record<string, unknown> = {}) => {
    const p = project(body);
    const fid = mintInstallationId();
    // Two names like a WNS channel: the protocol's (the bare FID) and the handle Herald registers.
    core.registry.add(fid, `fid:${fid}`, { project: p }, null);
    return { handle: `fid:${fid}`, fid, project: p };
  };
  const mintAny = async (body: Record<string, unknown> = {}) => {
    const kind = optionalString(body, 'kind') ?? 'token';
    if (kind !== 'token' && kind !== 'fid') throw new ControlPlaneError(400, 'kind must be token or fid');
    const { kind: _k, ...rest } = body;
    return kind === 'fid' ? mintInstallation(rest) : mintDevice(rest);
  };

  /** §3.9.2: 401 → 403 → JSON/fields 400 → target → token lookup → 200. */
  function send(ex: Exchange, projectId: string): Reply {
    const now = core.clock.now();
    const token = auth.lookup(typeof ex.headers.authorization === 'string' ? ex.headers.authorization : undefined, now);
    if (!token)
      return rpcError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      );
    if (!token.scopes.some((s) => SEND_SCOPES.includes(s))) return rpcError(403, 'Request had insufficient authentication scopes.');
    if (token.project !== projectId)
      return rpcError(403, `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`);

    let body: unknown;
    try {
      body = JSON.parse(ex.body.toString('utf8'));
    } catch {
      return rpcError(400, 'Invalid JSON payload received. Unexpected token.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return rpcError(400, 'Invalid JSON payload received. Expected an object.');
    const request = body as Record<string, unknown>;
    for (const k of Object.keys(request)) {
      if (!['message', 'validate_only', 'validateOnly'].includes(k))
        return rpcError(400, `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`, {
          violations: [{ field: '', description: `Invalid JSON payload received. Unknown name "${k}": Cannot find field.` }],
        });
    }
    const validateOnly = request.validate_only ?? request.validateOnly;
    if (validateOnly !== undefined && typeof validateOnly !== 'boolean') return rpcError(400, 'Invalid value at \'validate_only\' (TYPE_BOOL)');

    const checked = checkMessage(request.message);
    if (!checked.ok) {
      // Unknown fields are rejected by the JSON parser, before FCM itself looks at the message.
      return checked.unknownField
        ? rpcError(400, checked.message, { violations: checked.violations })
        : fcmError('INVALID_ARGUMENT', checked.message, checked.violations);
    }

    let deliverTo: string | undefined;
    if (checked.target.kind === 'token') {
      const device = core.registry.find(checked.target.value);
      if (!device || !TOKEN_SHAPE.test(checked.target.value))
        return fcmError('INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', [
          { field: 'message.token', description: 'The registration token is not a valid FCM registration token' },
        ]);
      // Dead tokens are reported even on a dry run (§3.2).
      if (core.registry.isExpired(device)) return fcmError('UNREGISTERED', 'Requested entity was not found.');
      if (device.app.project !== projectId) return fcmError('SENDER_ID_MISMATCH', 'SenderId mismatch');
      deliverTo = device.key;
    }
    if (checked.target.kind === 'fid') {
      // UNCONFIRMED which answer FCM gives an unknown FID; the token's is used (INVALID_ARGUMENT on the field).
      const device = core.registry.find(checked.target.value);
      if (!device || device.key !== checked.target.value)
        return fcmError('INVALID_ARGUMENT', 'The FID is not a registered Firebase installation ID', [
          { field: 'message.fid', description: 'The FID is not a registered Firebase installation ID' },
        ]);
      if (core.registry.isExpired(device)) return fcmError('UNREGISTERED', 'Requested entity was not found.');
      if (device.app.project !== projectId) return fcmError('SENDER_ID_MISMATCH', 'SenderId mismatch');
      deliverTo = device.key;
    }
    if (validateOnly === true) return json(200, { name: `projects/${projectId}/messages/fake_message_id` });
    if (deliverTo) core.deliveries.record(deliverTo, ex.headers, Buffer.from(JSON.stringify(checked.message)));
    const id = `0:${now}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}%${randomBytes(8).toString('hex')}`;
    return json(200, { name: `projects/${projectId}/messages/${id}` });
  }

  async function protocol(ex: Exchange): Promise<Reply> {
    if (ex.path === '/token' || ex.path === '/oauth2/v4/token') {
      if (ex.method !== 'POST') return json(405, { error: 'invalid_request', error_description: 'Use POST' });
      return auth.exchange(new URLSearchParams(ex.body.toString('utf8')), tokenUri, core.clock.now());
    }
    const m = SEND_PATH.exec(ex.path);
    if (!m) return rpcError(404, `The requested URL ${ex.path} was not found on this server.`);
    if (ex.method !== 'POST') return rpcError(405, `Method ${ex.method} not allowed; use POST.`);
    return send(ex, decodeURIComponent(m[1]!));
  }

  const handler = emulatorHandler(core, { mintCredentials, mintDevice: mintAny }, {
    protocol,
    faultable: (ex) => SEND_PATH.test(ex.path),
    renderFault: (fault) => {
      const status = fault.status ?? 500;
      const code = fault.reason ?? DEFAULT_FAULT_CODE[status];
      return rpcError(status, fault.reason ?? 'Injected fault', code ? { errorCode: code } : {});
    },
  });
  const server = await startServer(
    { host: opts.host, port: opts.port, tls: opts.tls, settings: { maxConcurrentStreams: 100 } },
    handler,
  );
  tokenUri = `${server.url}/token`;
  const knowsCredentials = (clientEmail: string) => auth.knowsAccount(clientEmail);
  return { url: server.url, tokenUri, core, mintCredentials, mintDevice, mintInstallation, knowsCredentials, close: server.close };
}
