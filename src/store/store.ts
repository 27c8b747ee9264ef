/**
 * The Store: everything Herald keeps. Adapters live in store/<adapter>/ and are held to the same
 * contract tests (store-contract.ts). The interface is asynchronous and uses plain records so that a
 * server database (PostgreSQL) fits behind it as well as embedded SQLite.
 */
import type { Right } from '../shared/rights.ts';

/** Scope of an authorization rule: a hub's name, or NAMESPACE_SCOPE for a namespace-level rule. */
export const NAMESPACE_SCOPE = '';

export interface HubSettings {
  /** Registrations expire this long after their last update; null: never (Azure's current default). */
  registrationTtlSeconds: number | null;
}

export interface HubRecord {
  name: string;
  settings: HubSettings;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export interface RuleRecord {
  /** Hub name, or NAMESPACE_SCOPE. */
  scope: string;
  name: string;
  rights: Right[];
  primaryKey: string;
  secondaryKey: string;
  createdAt: number;
  updatedAt: number;
}

export interface CredentialRecord {
  hub: string;
  platform: string;
  /** The secret parts, encrypted (shared/secret-box.ts); the store never sees them in clear. */
  sealed: string;
  /** Non-secret facts safe to show (key id, client id, project, fingerprints). */
  summary: Record<string, string>;
  endpoint: string | null;
  updatedAt: number;
}

export interface StoreCapabilities {
  /** Many hub processes may share this store. */
  sharedAcrossProcesses: boolean;
}

export interface HubStore {
  /** Creates the hub and its rules together; throws HubError `hub_exists` if the name is taken (any case). */
  create(hub: HubRecord, rules: readonly RuleRecord[]): Promise<void>;
  /** Hub names are matched case-insensitively, as Azure entity names are. */
  get(name: string): Promise<HubRecord | undefined>;
  list(): Promise<HubRecord[]>;
  /** Deletes the hub with its rules and credentials; false if there was none. */
  delete(name: string): Promise<boolean>;
}

export interface RuleStore {
  list(scope: string): Promise<RuleRecord[]>;
  get(scope: string, name: string): Promise<RuleRecord | undefined>;
  /** Throws HubError `rule_exists`, or `too_many_rules` when the scope already has `maxRules`. */
  insert(rule: RuleRecord, maxRules: number): Promise<void>;
  /** Replaces the given keys; undefined if the rule does not exist. */
  updateKeys(
    scope: string,
    name: string,
    keys: { primaryKey?: string; secondaryKey?: string },
    updatedAt: number,
  ): Promise<RuleRecord | undefined>;
  delete(scope: string, name: string): Promise<boolean>;
}

export interface CredentialStore {
  /** Inserts or replaces the hub's credentials for one platform. */
  put(record: CredentialRecord): Promise<void>;
  get(hub: string, platform: string): Promise<CredentialRecord | undefined>;
  list(hub: string): Promise<CredentialRecord[]>;
  delete(hub: string, platform: string): Promise<boolean>;
}

export interface Store {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  readonly hubs: HubStore;
  readonly rules: RuleStore;
  readonly credentials: CredentialStore;
  /** Resolves when the store answers a trivial query (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
