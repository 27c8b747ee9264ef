/**
 * The control plane under `{base}/_emulator/` (herald-contract.md, "The sandbox emulators"):
 *
 *   POST   /_emulator/credentials               mint sender credentials (platform hook)
 *   POST   /_emulator/devices                   mint a device handle (platform hook)
 *   GET    /_emulator/deliveries?handle=H       what that device received
 *   POST   /_emulator/devices/{handle}/expire   the handle now answers as an uninstalled app's
 *   POST   /_emulator/faults                    inject a fault; DELETE clears them; GET lists them
 *   GET    /_emulator/stats                     requests by status
 *
 * Bodies are JSON; errors are `{"error": "..."}` with 400/404/405.
 */
import type { EmulatorCore } from './emulator-core.ts';
import { parseFault } from './faults.ts';
import type { Exchange, Reply } from './server.ts';

export interface ControlPlaneHooks {
  /** Returns the credentials as the vendor console would hand them out. */
  mintCredentials(body: Record<string, unknown>): Promise<unknown>;
  /** Returns at least `{ handle }`, plus what the platform's app would get (Web Push keys...). */
  mintDevice(body: Record<string, unknown>): Promise<unknown>;
  /** A platform's own control-plane resources (APNs broadcast channels; Web Push device state and pending messages); undefined when `sub` is not one. */
  route?(sub: string, ex: Exchange, body: () => Record<string, unknown>): Promise<Reply | undefined>;
}

/** A control-plane request the caller got wrong; thrown by hooks, answered as `{"error"}`. */
export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function answer(status: number, body?: unknown): Reply {
  if (body === undefined) return { status };
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export function parseObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ControlPlaneError(400, 'body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ControlPlaneError(400, 'body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Reads an optional string field of a control-plane body. */
export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ControlPlaneError(400, `${name} must be a non-empty string`);
  return v;
}

export async function handleControlPlane<E>(core: EmulatorCore<E>, hooks: ControlPlaneHooks, ex: Exchange): Promise<Reply> {
  try {
    return await route(core, hooks, ex);
  } catch (err) {
    if (err instanceof ControlPlaneError) return answer(err.status, { error: err.message });
    throw err;
  }
}

async function route<E>(core: EmulatorCore<E>, hooks: ControlPlaneHooks, ex: Exchange): Promise<Reply> {
  const sub = ex.path.slice('/_emulator/'.length);
  const method = ex.method;
  const only = (allowed: string): void => {
    if (method !== allowed) throw new ControlPlaneError(405, `use ${allowed}`);
  };
  if (sub === 'credentials') {
    only('POST');
    return answer(201, await hooks.mintCredentials(parseObject(ex.body)));
  }
  if (sub === 'devices') {
    only('POST');
    return answer(201, await hooks.mintDevice(parseObject(ex.body)));
  }
  if (sub === 'deliveries') {
    only('GET');
    const handle = ex.query.get('handle');
    if (!handle) throw new ControlPlaneError(400, 'query parameter handle is required');
    const device = core.registry.find(handle);
    if (!device) throw new ControlPlaneError(404, 'unknown handle');
    return answer(200, { handle: device.handle, deliveries: core.deliveries.list(device.key) });
  }
  const expire = /^devices\/(.+)\/expire$/.exec(sub);
  if (expire) {
    only('POST');
    // The handle is one path segment: WNS and Web Push handles are URLs, so callers percent-encode them.
    const handle = decodeURIComponent(expire[1] ?? '');
    const body = parseObject(ex.body);
    if (body.at !== undefined && typeof body.at !== 'number') throw new ControlPlaneError(400, 'at must be ms since the epoch');
    const reason = optionalString(body, 'reason');
    const device = core.registry.expire(handle, body.at as number | undefined, reason);
    if (!device) throw new ControlPlaneError(404, 'unknown handle');
    return answer(200, { handle: device.handle, expiredAt: device.expiredAt });
  }
  if (sub === 'faults') {
    if (method === 'DELETE') {
      core.faults.clear();
      return answer(204);
    }
    if (method === 'GET') return answer(200, { faults: core.faults.list() });
    only('POST');
    const parsed = parseFault(parseObject(ex.body));
    if (!parsed.ok) throw new ControlPlaneError(400, parsed.error);
    return answer(201, core.faults.add(parsed.fault));
  }
  if (sub === 'stats') {
    only('GET');
    return answer(200, core.stats.snapshot());
  }
  const own = await hooks.route?.(sub, ex, () => parseObject(ex.body));
  if (own) return own;
  throw new ControlPlaneError(404, 'no such control-plane resource');
}
