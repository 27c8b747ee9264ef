/**
 * Rows as both adapters read them, and their records: the SQLite and PostgreSQL schemas name these
 * columns alike, so the mapping is written once. SQL stays in each adapter.
 */
import { isRight, type Right } from '../shared/rights.ts';
import type { CredentialRecord, HubRecord, JobRecord, RuleRecord } from './store.ts';

export interface HubRow {
  name: string;
  settings: string;
  created_at: number;
  updated_at: number;
}
export interface RuleRow {
  scope_key: string;
  name: string;
  rights: string;
  primary_key: string;
  secondary_key: string;
  created_at: number;
  updated_at: number;
}
export interface CredentialRow {
  hub_name: string;
  platform: string;
  sealed: string;
  summary: string;
  endpoint: string | null;
  updated_at: number;
}

export const key = (name: string) => name.toLowerCase();

export function toHub(row: HubRow): HubRecord {
  return { name: row.name, settings: JSON.parse(row.settings), createdAt: row.created_at, updatedAt: row.updated_at };
}

export function toRule(row: RuleRow): RuleRecord {
  return {
    scope: row.scope_key,
    name: row.name,
    rights: row.rights.split(',').filter((r): r is Right => isRight(r)),
    primaryKey: row.primary_key,
    secondaryKey: row.secondary_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toCredential(row: CredentialRow): CredentialRecord {
  return {
    hub: row.hub_name,
    platform: row.platform,
    sealed: row.sealed,
    summary: JSON.parse(row.summary),
    endpoint: row.endpoint,
    updatedAt: row.updated_at,
  };
}

export interface JobRow {
  hub_name: string;
  id: string;
  type: string;
  status: string;
  progress: number;
  output_container_uri: string;
  import_file_uri: string | null;
  failure: string | null;
  output_properties: string | null;
  node: string | null;
  created_at: number;
  updated_at: number;
}

export function toJob(r: JobRow): JobRecord {
  return {
    hub: r.hub_name,
    id: r.id,
    type: r.type,
    status: r.status,
    progress: r.progress,
    outputContainerUri: r.output_container_uri,
    ...(r.import_file_uri === null ? {} : { importFileUri: r.import_file_uri }),
    ...(r.failure === null ? {} : { failure: r.failure }),
    ...(r.output_properties === null ? {} : { outputProperties: JSON.parse(r.output_properties) }),
    ...(r.node === null ? {} : { node: r.node }),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
