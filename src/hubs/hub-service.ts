/**
 * Hubs, their authorization rules and their PNS credentials: the rules of the domain (names, default
 * rules, limits, key generation, sealing credentials) over the Store.
 */
import { generateKey } from '../auth/keys.ts';
import type { SasRule } from '../auth/sas.ts';
import type { Clock } from '../shared/clock.ts';
import { BoundedMap } from '../shared/bounded-map.ts';
import { HubError } from '../shared/errors.ts';
import { isRight, RIGHTS, type Right } from '../shared/rights.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { NAMESPACE_SCOPE, type CredentialRecord, type HubRecord, type HubSettings, type RuleRecord, type Store } from '../store/store.ts';
import { parseCredentials, parsePlatform, summarize, type PnsCredentials } from './credentials.ts';

/** Azure allows 12 authorization rules per entity (wire spec §14). */
export const MAX_RULES = 12;
export const FULL_RULE = 'DefaultFullSharedAccessSignature';
export const LISTEN_RULE = 'DefaultListenSharedAccessSignature';

// Azure's rule for hub names (contract): letters, digits, '.', '-', '_', starting and ending with a
// letter or digit, at most 260 characters. Paths that start with '_' can therefore never be a hub.
const HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,258}[A-Za-z0-9])?$/;
const RULE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
const KEY = /^[A-Za-z0-9+/=_-]{16,256}$/;

/** Hub and rule names share Azure's entity-name rule; only the length and the error code differ. */
function validateName(name: unknown, pattern: RegExp, code: 'invalid_hub_name' | 'invalid_rule_name', what: string, max: number): string {
  if (typeof name !== 'string' || !pattern.test(name)) {
    throw new HubError(code, `Invalid ${what} name '${String(name).slice(0, 300)}': use 1 to ${max} letters, digits, '.', '-' or '_', starting and ending with a letter or digit.`);
  }
  return name;
}

export const validateHubName = (name: unknown): string => validateName(name, HUB_NAME, 'invalid_hub_name', 'hub', 260);
export const validateRuleName = (name: unknown): string => validateName(name, RULE_NAME, 'invalid_rule_name', 'rule', 256);

export function isValidHubName(name: string): boolean {
  return HUB_NAME.test(name);
}

function validateRights(rights: unknown): Right[] {
  if (!Array.isArray(rights) || rights.length === 0 || !rights.every((r) => typeof r === 'string' && isRight(r))) {
    throw new HubError('invalid_rights', `Rights must be a non-empty list of ${RIGHTS.join(', ')}.`);
  }
  return RIGHTS.filter((r) => rights.includes(r));
}

function validateKey(key: unknown, which: string): string {
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new HubError('invalid_key', `The ${which} key must be 16 to 256 base64 characters (leave it out to have one generated).`);
  }
  return key;
}

export interface NewRule {
  name: unknown;
  rights: unknown;
  primaryKey?: unknown;
  secondaryKey?: unknown;
}

/** A rule as the management API shows it: with its keys (the admin key holder may read them). */
export interface RuleView {
  name: string;
  rights: Right[];
  primaryKey: string;
  secondaryKey: string;
  createdAt: string;
  updatedAt: string;
}

export interface CredentialView {
  platform: string;
  endpoint: string | null;
  summary: Record<string, string>;
  updatedAt: string;
}

export function ruleView(r: RuleRecord): RuleView {
  return {
    name: r.name,
    rights: r.rights,
    primaryKey: r.primaryKey,
    secondaryKey: r.secondaryKey,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

function credentialView(c: CredentialRecord): CredentialView {
  return { platform: c.platform, endpoint: c.endpoint, summary: c.summary, updatedAt: new Date(c.updatedAt).toISOString() };
}

/**
 * Builds the Azure connection string a client is given (contract: `Endpoint=sb://HOST:TLSPORT/;...`).
 * `http` is for a hub run without TLS; the official client then needs a per-call option (wire spec §1.2).
 */
export function connectionString(
  host: string,
  port: number,
  rule: { name: string; primaryKey: string },
  scheme: 'sb' | 'http' = 'sb',
): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `Endpoint=${scheme}://${h}:${port}/;SharedAccessKeyName=${rule.name};SharedAccessKey=${rule.primaryKey}`;
}

/**
 * How long a hub and its signing rules are served from memory. Every request on the Azure surface
 * needs them; a change made through this process takes effect at once (the entry is dropped), a change
 * made by another process sharing the store as soon as the store's change signal reaches this one
 * (store.changes, under a second), and in any case within this many milliseconds.
 */
export const AUTH_CACHE_MS = 5_000;

interface AuthEntry {
  hub: HubRecord | undefined;
  rules: SasRule[];
  until: number;
}

/**
 * Hubs whose auth context is kept, and names found missing. Misses have their own, smaller share: a
 * client may send any hub name, and random names must not push the real hubs out (least recently used
 * goes first in each).
 */
export const MAX_CACHED_HUBS = 10_000;
export const MAX_CACHED_MISSES = 1_000;

export class HubService {
  private readonly authCache = new BoundedMap<AuthEntry>({ maxEntries: MAX_CACHED_HUBS });
  private readonly missCache = new BoundedMap<AuthEntry>({ maxEntries: MAX_CACHED_MISSES });
  /**
   * Opened PNS credentials by hub, then platform, for the delivery path (each batch needs them): kept as
   * long as an auth context and dropped on the same change signal, so a credentials change reaches every
   * node's deliveries within a second (issue 11: a store read per batch was a tenth of its statements).
   */
  private readonly credentialsCache = new BoundedMap<Map<string, { credentials: PnsCredentials; until: number }>>({ maxEntries: MAX_CACHED_HUBS });
  /** Entries kept (for tests of the bound). */
  get cachedAuthContexts(): number {
    return this.authCache.size + this.missCache.size;
  }
  /** Called after a hub is created (sandbox mode gives it emulator credentials). */
  onHubCreated: ((hub: string) => Promise<void>) | undefined;

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {
    // Writes by any process on the store (another node of a cluster, or this one) drop what they changed.
    store.changes.subscribe((change) => this.invalidate(change.hub));
  }

  /** Forget what is cached about a hub (all hubs for a namespace rule change). */
  private invalidate(hub: string | null): void {
    if (hub === null) {
      this.authCache.clear();
      this.missCache.clear();
      this.credentialsCache.clear();
    } else {
      this.authCache.delete(hub.toLowerCase());
      this.missCache.delete(hub.toLowerCase());
      this.credentialsCache.delete(hub.toLowerCase());
    }
  }

  /** The hub and the rules that may sign requests to it, from memory when fresh (the hot path). */
  async authContext(name: string): Promise<{ hub: HubRecord | undefined; rules: SasRule[] }> {
    const key = name.toLowerCase();
    const now = this.clock.now();
    const cached = this.authCache.get(key) ?? this.missCache.get(key);
    if (cached && cached.until > now) return cached;
    const hub = await this.store.hubs.get(name);
    const entry: AuthEntry = { hub, rules: hub ? await this.signingRules(hub) : [], until: now + AUTH_CACHE_MS };
    if (hub) {
      this.missCache.delete(key);
      this.authCache.set(key, entry);
    } else {
      this.authCache.delete(key);
      this.missCache.set(key, entry);
    }
    return entry;
  }

  async createHub(nameInput: unknown): Promise<{ hub: HubRecord; rules: RuleRecord[] }> {
    const name = validateHubName(nameInput);
    const at = this.clock.now();
    const hub: HubRecord = { name, settings: { registrationTtlSeconds: null }, createdAt: at, updatedAt: at };
    const rule = (ruleName: string, rights: Right[]): RuleRecord => ({
      scope: name,
      name: ruleName,
      rights,
      primaryKey: generateKey(),
      secondaryKey: generateKey(),
      createdAt: at,
      updatedAt: at,
    });
    const rules = [rule(LISTEN_RULE, ['Listen']), rule(FULL_RULE, ['Listen', 'Send', 'Manage'])];
    await this.store.hubs.create(hub, rules);
    this.invalidate(name);
    await this.onHubCreated?.(name);
    return { hub, rules };
  }

  async getHub(name: string): Promise<HubRecord> {
    const hub = await this.store.hubs.get(name);
    if (!hub) throw new HubError('hub_not_found', `Notification hub '${name}' was not found.`);
    return hub;
  }

  /** Like getHub, but undefined for a missing hub (the Azure surface answers that itself). */
  findHub(name: string): Promise<HubRecord | undefined> {
    return this.store.hubs.get(name);
  }

  listHubs(): Promise<HubRecord[]> {
    return this.store.hubs.list();
  }

  /**
   * Changes a hub's settings; only the keys given change. The store merges them in the write, so two
   * concurrent changes of different keys are both kept.
   */
  async updateSettings(name: string, input: unknown): Promise<HubRecord> {
    const hub = await this.getHub(name);
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new HubError('invalid_request', 'settings must be an object.');
    }
    const settings: Partial<HubSettings> = {};
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      switch (k) {
        case 'registrationTtlSeconds':
          // At most about ten years; null: registrations never expire (Azure's current default).
          if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 315_360_000)) {
            throw new HubError('invalid_request', 'registrationTtlSeconds must be null (never expire) or a whole number of seconds from 1 to 315360000.');
          }
          settings.registrationTtlSeconds = v as number | null;
          break;
        case 'sendsPerSecond':
        case 'registrationsPerSecond':
          if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1_000_000)) {
            throw new HubError('invalid_request', `${k} must be null (no limit) or a number of requests per second above 0 and at most 1000000.`);
          }
          settings[k] = v as number | null;
          break;
        case 'deviceSuccessEvents':
          // Events: one notification.device_succeeded per delivered device (issue 13; off by default, volume).
          if (typeof v !== 'boolean') throw new HubError('invalid_request', 'deviceSuccessEvents must be true or false.');
          settings.deviceSuccessEvents = v;
          break;
        case 'deviceSuccessOutcomes':
          // Per-device outcome rows of delivered devices (on by default; off: failures only, issue 11).
          if (typeof v !== 'boolean') throw new HubError('invalid_request', 'deviceSuccessOutcomes must be true or false.');
          settings.deviceSuccessOutcomes = v;
          break;
        default:
          throw new HubError('invalid_request', `Unknown hub setting '${k}'; the settings are registrationTtlSeconds, sendsPerSecond, registrationsPerSecond, deviceSuccessEvents and deviceSuccessOutcomes.`);
      }
    }
    const updated = await this.store.hubs.updateSettings(hub.name, settings, this.clock.now());
    this.invalidate(hub.name);
    if (!updated) throw new HubError('hub_not_found', `Notification hub '${name}' was not found.`);
    return updated;
  }

  private readonly deletedListeners: Array<(hub: string) => void | Promise<void>> = [];

  /** Called with a hub's stored name once it is deleted (its files go with it: issue 10 items 12, 15). */
  onHubDeleted(listener: (hub: string) => void | Promise<void>): void {
    this.deletedListeners.push(listener);
  }

  async deleteHub(name: string): Promise<void> {
    const stored = (await this.store.hubs.get(name))?.name ?? name;
    if (!(await this.store.hubs.delete(name))) throw new HubError('hub_not_found', `Notification hub '${name}' was not found.`);
    this.invalidate(name);
    for (const listener of this.deletedListeners) await listener(stored);
  }

  /** The scope key for a hub (which must exist) or the namespace. */
  private async scope(hub: string | null): Promise<string> {
    if (hub === null) return NAMESPACE_SCOPE;
    return (await this.getHub(hub)).name;
  }

  async listRules(hub: string | null): Promise<RuleRecord[]> {
    return this.store.rules.list(await this.scope(hub));
  }

  async getRule(hub: string | null, name: string): Promise<RuleRecord> {
    const rule = await this.store.rules.get(await this.scope(hub), name);
    if (!rule) throw new HubError('rule_not_found', `Authorization rule '${name}' was not found.`);
    return rule;
  }

  async addRule(hub: string | null, input: NewRule): Promise<RuleRecord> {
    const scope = await this.scope(hub);
    const at = this.clock.now();
    const rule: RuleRecord = {
      scope,
      name: validateRuleName(input.name),
      rights: validateRights(input.rights),
      primaryKey: input.primaryKey === undefined ? generateKey() : validateKey(input.primaryKey, 'primary'),
      secondaryKey: input.secondaryKey === undefined ? generateKey() : validateKey(input.secondaryKey, 'secondary'),
      createdAt: at,
      updatedAt: at,
    };
    await this.store.rules.insert(rule, MAX_RULES);
    this.invalidate(hub);
    return rule;
  }

  async removeRule(hub: string | null, name: string): Promise<void> {
    if (!(await this.store.rules.delete(await this.scope(hub), name))) {
      throw new HubError('rule_not_found', `Authorization rule '${name}' was not found.`);
    }
    this.invalidate(hub);
  }

  async regenerateKey(hub: string | null, name: string, which: unknown): Promise<RuleRecord> {
    if (which !== 'primary' && which !== 'secondary') {
      throw new HubError('invalid_request', "Say which key to regenerate: 'primary' or 'secondary'.");
    }
    const keys = which === 'primary' ? { primaryKey: generateKey() } : { secondaryKey: generateKey() };
    const rule = await this.store.rules.updateKeys(await this.scope(hub), name, keys, this.clock.now());
    if (!rule) throw new HubError('rule_not_found', `Authorization rule '${name}' was not found.`);
    this.invalidate(hub);
    return rule;
  }

  /** The rules that may sign a request to this hub: its own first, then the namespace's. */
  async signingRules(hub: HubRecord): Promise<SasRule[]> {
    const [own, namespace] = await Promise.all([this.store.rules.list(hub.name), this.store.rules.list(NAMESPACE_SCOPE)]);
    return [...own, ...namespace];
  }

  /**
   * Sets a platform's credentials. `source` is recorded in the summary (the sandbox marks the
   * credentials it minted, so it can renew them and never touches real ones).
   */
  async setCredentials(hubName: string, platformInput: string, input: unknown, source?: string): Promise<CredentialView> {
    const hub = await this.getHub(hubName);
    const platform = parsePlatform(platformInput);
    const creds = parseCredentials(platform, input);
    const record: CredentialRecord = {
      hub: hub.name,
      platform,
      sealed: this.secrets.seal(JSON.stringify(creds), `${hub.name.toLowerCase()}/${platform}`),
      summary: { ...summarize(creds), ...(source ? { source } : {}) },
      endpoint: creds.endpoint ?? null,
      updatedAt: this.clock.now(),
    };
    await this.store.credentials.put(record);
    return credentialView(record);
  }

  async listCredentials(hubName: string): Promise<CredentialView[]> {
    const hub = await this.getHub(hubName);
    return (await this.store.credentials.list(hub.name)).map(credentialView);
  }

  private async credentialRecord(hubName: string, platformInput: string): Promise<CredentialRecord> {
    const hub = await this.getHub(hubName);
    const platform = parsePlatform(platformInput);
    const record = await this.store.credentials.get(hub.name, platform);
    if (!record) throw new HubError('credentials_not_found', `Hub '${hub.name}' has no ${platform} credentials.`);
    return record;
  }

  async getCredentials(hubName: string, platform: string): Promise<CredentialView> {
    return credentialView(await this.credentialRecord(hubName, platform));
  }

  /** The credentials in clear, for a PNS connector. Never hand this to an API response. */
  async openCredentials(hubName: string, platform: string): Promise<PnsCredentials> {
    const key = hubName.toLowerCase();
    const now = this.clock.now();
    const cached = this.credentialsCache.get(key)?.get(platform);
    if (cached && cached.until > now) return cached.credentials;
    const record = await this.credentialRecord(hubName, platform);
    const credentials = JSON.parse(this.secrets.open(record.sealed, `${record.hub.toLowerCase()}/${record.platform}`)) as PnsCredentials;
    let byPlatform = this.credentialsCache.get(key);
    if (!byPlatform) this.credentialsCache.set(key, (byPlatform = new Map()));
    byPlatform.set(platform, { credentials, until: now + AUTH_CACHE_MS });
    return credentials;
  }

  async deleteCredentials(hubName: string, platformInput: string): Promise<void> {
    const hub = await this.getHub(hubName);
    const platform = parsePlatform(platformInput);
    if (!(await this.store.credentials.delete(hub.name, platform))) {
      throw new HubError('credentials_not_found', `Hub '${hub.name}' has no ${platform} credentials.`);
    }
  }
}
