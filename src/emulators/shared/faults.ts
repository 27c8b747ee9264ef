/**
 * Fault injection (herald-contract.md: "status code, share of requests, Retry-After, latency, dropped
 * connections"). Faults apply to the vendor protocol's send endpoints only, never to the control plane, so a
 * test can always read back what happened.
 */
export interface FaultSpec {
  /** Answer with this status; each emulator renders the vendor's own error body for it. */
  status?: number;
  /** Vendor reason to put in the body (APNs `reason`, FCM `errorCode`, ...), instead of the default for status. */
  reason?: string;
  /** Share of matching requests the fault hits, 0..1 (default 1). */
  share?: number;
  /** Seconds for a `Retry-After` header. */
  retryAfter?: number;
  /** Delay before the answer (or before the drop). */
  latencyMs?: number;
  /** Close the connection without answering (APNs: GOAWAY carrying `reason`, §2.10.5). */
  drop?: boolean;
  /** Hit at most this many requests, then disappear. */
  count?: number;
}

export interface ActiveFault extends FaultSpec {
  id: number;
  /** Requests hit so far. */
  hits: number;
}

export type FaultParse = { ok: true; fault: FaultSpec } | { ok: false; error: string };

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Validate a fault from the control plane's JSON body. */
export function parseFault(body: unknown): FaultParse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'body must be a JSON object' };
  const b = body as Record<string, unknown>;
  const known = new Set(['status', 'reason', 'share', 'retryAfter', 'latencyMs', 'drop', 'count']);
  for (const k of Object.keys(b)) if (!known.has(k)) return { ok: false, error: `unknown field "${k}"` };
  const fault: FaultSpec = {};
  if (b.status !== undefined) {
    if (!isNumber(b.status) || !Number.isInteger(b.status) || b.status < 100 || b.status > 599)
      return { ok: false, error: 'status must be an integer 100..599' };
    fault.status = b.status;
  }
  if (b.reason !== undefined) {
    if (typeof b.reason !== 'string' || b.reason === '') return { ok: false, error: 'reason must be a non-empty string' };
    fault.reason = b.reason;
  }
  if (b.share !== undefined) {
    if (!isNumber(b.share) || b.share < 0 || b.share > 1) return { ok: false, error: 'share must be a number 0..1' };
    fault.share = b.share;
  }
  for (const name of ['retryAfter', 'latencyMs', 'count'] as const) {
    const v = b[name];
    if (v === undefined) continue;
    const min = name === 'count' ? 1 : 0;
    if (!isNumber(v) || !Number.isInteger(v) || v < min) return { ok: false, error: `${name} must be an integer >= ${min}` };
    fault[name] = v;
  }
  if (b.drop !== undefined) {
    if (typeof b.drop !== 'boolean') return { ok: false, error: 'drop must be a boolean' };
    fault.drop = b.drop;
  }
  if (fault.status === undefined && !fault.drop && fault.latencyMs === undefined)
    return { ok: false, error: 'a fault needs status, drop or latencyMs' };
  return { ok: true, fault };
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly random: () => number = Math.random) {}

  add(spec: FaultSpec): ActiveFault {
    const fault: ActiveFault = { ...spec, id: this.nextId++, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** The fault that hits this request, if any; the first matching fault wins. */
  pick(): ActiveFault | undefined {
    for (const fault of this.faults) {
      if (this.random() >= (fault.share ?? 1)) continue;
      fault.hits += 1;
      if (fault.count !== undefined && fault.hits >= fault.count) {
        this.faults = this.faults.filter((f) => f !== fault);
      }
      return { ...fault };
    }
    return undefined;
  }
}
