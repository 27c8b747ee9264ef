/**
 * The registry's operations over the Store: registrations (create, upsert with ETags, get, delete,
 * list), installations (put, patch, get, delete, materialised as registrations), the per-hub
 * registration lifetime, and continuation tokens. Wire formats are translated before and after.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';
import { HubError } from '../shared/errors.ts';
import type { HubRecord, InstallationFilter, RegistryFilter, Store } from '../store/store.ts';
import { matchesChannelFilter, parseChannelFilter } from './channel-filter.ts';
import type { ContinuationTokens } from './continuation.ts';
import { parseInstallation } from './installation.ts';
import { applyInstallationPatch } from './installation-patch.ts';
import { materializeRegistrations } from './materialize.ts';
import type { Installation, Registration, RegistrationInput } from './model.ts';
import { validateId } from './validation.ts';

/** Page size when a listing gives no `$top` (wire spec §6.11: UNCONFIRMED; .NET always asks 100). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface ListRequest {
  top?: string | null;
  continuationToken?: string | null;
}

export interface ListResult<T> {
  items: T[];
  continuationToken?: string;
  total?: number;
}

/** A registration id the way the real service writes them: `<int64>-<int64>-<n>` (wire spec §6.5). */
export function newRegistrationId(): string {
  const b = randomBytes(16);
  const part = (o: number) => (b.readBigUInt64BE(o) & 0x7fffffffffffffffn).toString();
  return `${part(0)}-${part(8)}-1`;
}

export function pageSize(top: string | null | undefined): number {
  if (top === undefined || top === null || top === '') return DEFAULT_PAGE_SIZE;
  const n = Number(top);
  if (!Number.isInteger(n) || n < 1) {
    throw new HubError('invalid_request', `$top must be a positive integer, not '${top.slice(0, 20)}'.`, { reason: 'invalid_top' });
  }
  return Math.min(n, MAX_PAGE_SIZE);
}

export class RegistryService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly tokens: ContinuationTokens,
  ) {}

  private expiry(hub: HubRecord, now: number): number | undefined {
    const ttl = hub.settings.registrationTtlSeconds;
    return ttl === null || ttl === undefined ? undefined : now + ttl * 1000;
  }

  private notGone(reg: Registration | undefined, now: number): Registration {
    if (!reg) throw new HubError('registration_not_found', 'Registration not found.');
    if (reg.expiresAt !== undefined && reg.expiresAt <= now) {
      throw new HubError('registration_gone', 'The registration expired. Create a new registration.');
    }
    return reg;
  }

  async createRegistration(hub: HubRecord, input: RegistrationInput): Promise<Registration> {
    return this.upsertRegistration(hub, newRegistrationId(), input);
  }

  async upsertRegistration(hub: HubRecord, id: string, input: RegistrationInput, ifMatch?: number | '*'): Promise<Registration> {
    validateId(id, 'RegistrationId');
    const now = this.clock.now();
    const expiresAt = this.expiry(hub, now);
    return this.store.registrations.upsert(
      hub.name,
      { ...input, id, updatedAt: now, ...(expiresAt === undefined ? {} : { expiresAt }) },
      { now, ...(ifMatch === undefined ? {} : { ifMatch }) },
    );
  }

  async getRegistration(hub: HubRecord, id: string): Promise<Registration> {
    return this.notGone(await this.store.registrations.get(hub.name, id), this.clock.now());
  }

  async deleteRegistration(hub: HubRecord, id: string, ifMatch?: number | '*'): Promise<void> {
    const deleted = await this.store.registrations.delete(hub.name, id, { now: this.clock.now(), ...(ifMatch === undefined ? {} : { ifMatch }) });
    if (!deleted) throw new HubError('registration_not_found', 'Registration not found.');
  }

  /** A listing page: `scope` binds continuation tokens to this hub and query. */
  async listRegistrations(hub: HubRecord, scope: string, filter: RegistryFilter, req: ListRequest, postFilter?: (r: Registration) => boolean): Promise<ListResult<Registration>> {
    const limit = pageSize(req.top);
    const tokenScope = `${hub.name.toLowerCase()}|registrations|${scope}`;
    const after = req.continuationToken ? this.tokens.read(tokenScope, req.continuationToken) : undefined;
    const page = await this.store.registrations.list(hub.name, { ...filter, liveAt: this.clock.now() }, { limit, ...(after === undefined ? {} : { after }) });
    const items = postFilter ? page.items.filter(postFilter) : page.items;
    return page.next === undefined ? { items } : { items, continuationToken: this.tokens.issue(tokenScope, page.next) };
  }

  async listRegistrationsByChannel(hub: HubRecord, filterText: string, req: ListRequest): Promise<ListResult<Registration>> {
    const f = parseChannelFilter(filterText);
    return this.listRegistrations(hub, `channel:${filterText}`, { handles: f.handles }, req, (r) => matchesChannelFilter(r, f));
  }

  async putInstallation(hub: HubRecord, id: string, body: unknown): Promise<Installation> {
    validateId(id, 'installationId');
    const now = this.clock.now();
    // No read of the previous version: the store keeps the first creation time itself, and the
    // lifetime is the hub's TTL from now.
    return this.saveInstallation(hub, parseInstallation(body, id, now), now);
  }

  /**
   * Read, patch and write in one unit of work of the store (issue 10 item 18): concurrent PATCHes all keep
   * their changes, and a PATCH that finds the installation gone (a DELETE won) answers 404, never re-creates it.
   */
  async patchInstallation(hub: HubRecord, id: string, ops: unknown): Promise<Installation> {
    const now = this.clock.now();
    return this.store.installations.patch(hub.name, id, (current) => this.materialise(hub, applyInstallationPatch(current, ops, now), now));
  }

  private async saveInstallation(hub: HubRecord, inst: Installation, now: number): Promise<Installation> {
    const { installation, registrations } = this.materialise(hub, inst, now);
    await this.store.installations.put(hub.name, installation, registrations);
    return installation;
  }

  /** The installation as stored (with the hub's lifetime) and its registrations; pure. */
  private materialise(hub: HubRecord, inst: Installation, now: number): { installation: Installation; registrations: Registration[] } {
    const expiresAt = this.expiry(hub, now);
    const stored: Installation = { ...inst, updatedAt: now };
    if (expiresAt === undefined) delete stored.expiresAt;
    else stored.expiresAt = expiresAt;
    const registrations: Registration[] = materializeRegistrations(stored).map(({ id, input }) => ({
      ...input,
      id,
      etag: 1,
      installationId: stored.installationId,
      createdAt: now,
      updatedAt: now,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    }));
    return { installation: stored, registrations };
  }

  async getInstallation(hub: HubRecord, id: string): Promise<Installation> {
    const inst = await this.store.installations.get(hub.name, id);
    if (!inst) throw new HubError('installation_not_found', 'Installation not found.');
    return inst;
  }

  /** Azure answers 204 whether or not it existed (§5.6). */
  async deleteInstallation(hub: HubRecord, id: string): Promise<void> {
    await this.store.installations.delete(hub.name, id);
  }

  async queryInstallations(hub: HubRecord, scope: string, filter: InstallationFilter, req: ListRequest, withTotal: boolean): Promise<ListResult<Installation>> {
    const limit = pageSize(req.top);
    const tokenScope = `${hub.name.toLowerCase()}|installations|${scope}`;
    const after = req.continuationToken ? this.tokens.read(tokenScope, req.continuationToken) : undefined;
    const page = await this.store.installations.list(hub.name, filter, { limit, ...(after === undefined ? {} : { after }) });
    const total = withTotal ? await this.store.installations.count(hub.name, filter) : undefined;
    return {
      items: page.items,
      ...(page.next === undefined ? {} : { continuationToken: this.tokens.issue(tokenScope, page.next) }),
      ...(total === undefined ? {} : { total }),
    };
  }

  async countRegistrations(hub: HubRecord, filter: RegistryFilter): Promise<number> {
    return this.store.registrations.count(hub.name, { ...filter, liveAt: this.clock.now() });
  }

  /**
   * Removes registrations that expired more than `graceMs` ago (until then they answer 410), in
   * batches with a turn of the event loop between them so requests are not held up.
   */
  async purgeExpired(graceMs: number, batch = 1000, maxPerRun = 100_000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.registrations.purgeExpired(this.clock.now() - graceMs, batch);
      total += n;
      if (n < batch || total >= maxPerRun) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
